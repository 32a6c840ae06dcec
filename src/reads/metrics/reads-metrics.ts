import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { errorMessage } from '../../shared/errors.js';
import { HEALTH_VERDICTS } from '../../shared/health.js';
import type { Logger } from '../../shared/logger.js';
import { homePaths } from '../../shared/paths.js';
import type { HealthResponse } from '../contract/api-types.js';
import type { GenerationSource } from '../data/generation-source.js';
import type { QueryLimiter } from '../data/query-limiter.js';
import type { ResponseCache } from '../data/response-cache.js';
import { PullerFigures } from './puller.js';
import { RequestMetrics } from './requests.js';

/**
 * The reads server's figures for `GET /metrics`, in a Registry of its own (never prom-client's
 * global one, which anything else loaded in the process could write to):
 *
 * - requests: requests.ts (observed by the guard, per request);
 * - the response cache, the query slots, the generation served: read from their owners when
 *   scraped (collect callbacks), so the read path pays nothing for them; only the wait for a query
 *   slot is observed as it happens (once per DuckDB query, never on a cached answer);
 * - health and data age: `health()` (the service's, as /healthz answers), called once per scrape,
 *   so /metrics and /healthz cannot disagree;
 * - Node's process metrics (prom-client's defaults, standard names);
 * - the puller's figures from its metrics.json, merged in (puller.ts).
 */

export interface ReadsMetricsOptions {
  /** The health verdict as /healthz gives it. */
  health: () => Promise<HealthResponse>;
  /** Counted as they switch. */
  generations: Pick<GenerationSource, 'peek' | 'onSwitch'>;
  /** The query slots every generation's queries share. */
  limiter: QueryLimiter;
  cache: ResponseCache;
  /** The home whose puller's metrics.json is served alongside. */
  home: string;
  logger: Logger;
  /** The GET /events streams. */
  events: { subscribers: number; maxSubscribers: number };
}

/** A gauge with no sample while its value is unknown (nothing served yet) rather than a made-up 0. */
class OptionalGauge extends Gauge {
  value: number | null = null;

  override async get(): ReturnType<Gauge['get']> {
    const metric = await super.get();
    return this.value === null ? { ...metric, values: [] } : metric;
  }
}

/** A counter that follows a running total kept elsewhere (read at scrape time). */
function followingCounter(registry: Registry, name: string, help: string, total: () => number): Counter {
  let counted = 0;
  const counter: Counter = new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = total();
      if (now > counted) counter.inc(now - counted);
      counted = now;
    },
  });
  return counter;
}

export class ReadsMetrics {
  readonly requests = new RequestMetrics();
  private readonly registry = new Registry();
  private readonly puller: PullerFigures;
  private readonly generation: OptionalGauge;
  private readonly dataAge: OptionalGauge;
  private readonly health: Gauge<'verdict'>;
  private readonly pullerReadable: Gauge;

  constructor(private readonly opts: ReadsMetricsOptions) {
    const { generations, limiter, cache, logger } = opts;
    const registers = [this.registry];
    this.puller = new PullerFigures(homePaths(opts.home).metrics, logger);
    collectDefaultMetrics({ register: this.registry });

    followingCounter(this.registry, 'session_lattice_response_cache_hits_total', 'Rows answers served from the response cache', () => cache.hits);
    followingCounter(
      this.registry,
      'session_lattice_response_cache_misses_total',
      'Rows answers the response cache did not hold (rendered from DuckDB)',
      () => cache.misses,
    );
    new Gauge({
      name: 'session_lattice_response_cache_bytes',
      help: 'Bytes the response cache holds',
      registers,
      collect() {
        this.set(cache.heldBytes);
      },
    });
    new Gauge({
      name: 'session_lattice_response_cache_entries',
      help: 'Answers the response cache holds',
      registers,
      collect() {
        this.set(cache.size);
      },
    });

    const { events } = opts;
    new Gauge({
      name: 'session_lattice_event_subscribers',
      help: `GET /events streams open (of ${events.maxSubscribers} allowed)`,
      registers,
      collect() {
        this.set(events.subscribers);
      },
    });

    new Gauge({
      name: 'session_lattice_query_slots_in_use',
      help: `DuckDB queries running (of ${limiter.maxConcurrent} slots)`,
      registers,
      collect() {
        this.set(limiter.running);
      },
    });
    new Gauge({
      name: 'session_lattice_query_queue_depth',
      help: 'DuckDB queries waiting for a slot',
      registers,
      collect() {
        this.set(limiter.queued);
      },
    });
    const wait = new Histogram({
      name: 'session_lattice_query_slot_wait_seconds',
      help: 'Time each DuckDB query waited for a slot (0 when one was free; a wait that timed out counts too)',
      buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    limiter.onWait = (seconds) => wait.observe(seconds);

    // The generation opened before this app existed is served too.
    let served = generations.peek() ? 1 : 0;
    generations.onSwitch(() => served++);
    followingCounter(this.registry, 'session_lattice_generations_served_total', 'Generations this server has started serving since it started', () => served);
    this.generation = new OptionalGauge({ name: 'session_lattice_generation', help: 'The generation being served (no sample before the first)', registers });
    this.dataAge = new OptionalGauge({
      name: 'session_lattice_data_age_seconds',
      help: 'Seconds since the data was last known current, as /healthz reports it (no sample before the first generation)',
      registers,
    });
    this.health = new Gauge({
      name: 'session_lattice_health',
      help: '1 for the current health verdict (as /healthz), 0 for the others',
      labelNames: ['verdict'],
      registers,
    });
    this.pullerReadable = new Gauge({
      name: 'session_lattice_reads_puller_file_readable',
      help: "1 when the puller's metrics.json was read and its figures are in this scrape; 0 when it is missing or unusable (the log says why)",
      registers,
    });
  }

  /** The whole exposition text (Prometheus text format 0.0.4). */
  async scrape(): Promise<string> {
    const [health, puller] = await Promise.all([this.opts.health(), this.puller.read()]);
    this.generation.value = health.generation;
    if (health.generation !== null) this.generation.set(health.generation);
    this.dataAge.value = health.age_seconds;
    if (health.age_seconds !== null) this.dataAge.set(health.age_seconds);
    for (const verdict of HEALTH_VERDICTS) this.health.set({ verdict }, verdict === health.status ? 1 : 0);

    const requests = [this.requests.toJSON()];
    let merged: Registry | null = null;
    if (puller.metrics) {
      try {
        merged = Registry.merge([this.registry, AggregatorRegistry.aggregate([requests, puller.metrics])]);
      } catch (err) {
        // Valid JSON that prom-client still refuses (a name clashing with ours, say): the rest is served.
        this.puller.warnOnce(errorMessage(err));
      }
    }
    this.pullerReadable.set(merged ? 1 : 0);
    merged ??= Registry.merge([this.registry, AggregatorRegistry.aggregate([requests])]);
    return merged.metrics();
  }
}
