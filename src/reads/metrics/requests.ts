/**
 * `session_lattice_http_request_duration_seconds{route,method,status}`: every answered request,
 * observed where its access line is written (guard.ts, on the response's close).
 *
 * Counted here rather than in a prom-client Histogram: prom-client's observe builds a label
 * object and a hash string and looks its buckets up by the bound's string, about 0.7 us a
 * request on this machine, a cost on every cached answer for a scrape every 15 s or more. Here a
 * request costs three map lookups and a bucket walk, no allocation once its series exists; the
 * counts are handed to prom-client at scrape time in its JSON form (`toJSON`), which
 * `AggregatorRegistry.aggregate` turns into the same text a Histogram writes.
 *
 * Label values never come from input: `route` is Fastify's route pattern or `unmatched`, `method`
 * one of a fixed set or `other`, `status` a status code (three digits, Node's bound).
 */

const REQUEST_DURATION = 'session_lattice_http_request_duration_seconds';

/** The route label of a request no route took: 404, 405, a malformed URL. */
const UNMATCHED_ROUTE = 'unmatched';

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Upper bounds in seconds: a cached answer takes 0.1-1 ms, a DuckDB query 5-150 ms, a large
 * streamed body or an MCP `query` seconds.
 */
const REQUEST_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** What the guard calls once per finished request. */
export interface RequestObserver {
  /** `route`: the matched route's pattern, undefined when none matched. */
  observe(route: string | undefined, method: string, status: number, seconds: number): void;
}

class Series {
  /** Per bucket (not cumulative), the last one for +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<'route' | 'method' | 'status', string>>,
    buckets: number,
  ) {
    this.counts = new Float64Array(buckets + 1);
  }
}

/** prom-client's JSON form of one metric (`Registry.getMetricsAsJSON()`), as `aggregate` reads it. */
export interface MetricJsonOut {
  name: string;
  help: string;
  type: 'histogram' | 'counter' | 'gauge';
  aggregator: 'sum';
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

export class RequestMetrics implements RequestObserver {
  /** route -> method -> status -> series. */
  private readonly series = new Map<string, Map<string, Map<number, Series>>>();

  constructor(private readonly buckets: readonly number[] = REQUEST_BUCKETS) {}

  observe(route: string | undefined, method: string, status: number, seconds: number): void {
    const r = route ?? UNMATCHED_ROUTE;
    const m = METHODS.has(method) ? method : 'other';
    let byMethod = this.series.get(r);
    if (!byMethod) this.series.set(r, (byMethod = new Map()));
    let byStatus = byMethod.get(m);
    if (!byStatus) byMethod.set(m, (byStatus = new Map()));
    let s = byStatus.get(status);
    if (!s) byStatus.set(status, (s = new Series({ route: r, method: m, status: String(status) }, this.buckets.length)));
    const bounds = this.buckets;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    s.counts[i]!++;
    s.sum += seconds;
    s.count++;
  }

  /** The histogram in prom-client's JSON form: cumulative `_bucket`s up to `+Inf`, `_sum`, `_count`. */
  toJSON(): MetricJsonOut {
    const values: MetricJsonOut['values'] = [];
    const bucket = `${REQUEST_DURATION}_bucket`;
    for (const byMethod of this.series.values()) {
      for (const byStatus of byMethod.values()) {
        for (const s of byStatus.values()) {
          let cumulative = 0;
          this.buckets.forEach((le, i) => {
            cumulative += s.counts[i]!;
            values.push({ value: cumulative, labels: { ...s.labels, le }, metricName: bucket });
          });
          values.push({ value: s.count, labels: { ...s.labels, le: '+Inf' }, metricName: bucket });
          values.push({ value: s.sum, labels: { ...s.labels }, metricName: `${REQUEST_DURATION}_sum` });
          values.push({ value: s.count, labels: { ...s.labels }, metricName: `${REQUEST_DURATION}_count` });
        }
      }
    }
    return {
      name: REQUEST_DURATION,
      help: 'HTTP requests answered, by route pattern (or unmatched), method (or other) and status, and how long each took to its last byte',
      type: 'histogram',
      aggregator: 'sum',
      values,
    };
  }
}
