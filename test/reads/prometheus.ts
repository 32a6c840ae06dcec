import { getMetricsFromIterator, type PromData, type PromHistogramData, type PromMetrics } from 'prom2javascript';

/**
 * A scrape of GET /metrics parsed by a Prometheus text-format parser (prom2javascript, not this
 * project's own code: a line it cannot read fails the parse, and so does a histogram whose `+Inf`
 * bucket is not its `_count`), with look-ups for the tests.
 *
 * prom2javascript does not read a NaN value, which the format allows and prom-client writes (as
 * `Nan`, which Prometheus reads) for an event-loop figure with no sample since the last scrape:
 * such lines are set aside in `nanSamples` (the sample's name and labels) for the tests to check,
 * and the rest is parsed.
 */

type Labels = Record<string, string>;

export interface HistogramSample {
  labels: Labels;
  /** [le, cumulative count], by le ascending (`+Inf` last). */
  buckets: Array<[string, number]>;
  count: number;
  sum: number;
}

const NAN_SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (?:NaN|Nan|nan)$/;

export async function parseScrape(text: string): Promise<Scrape> {
  const nanSamples: string[] = [];
  const lines = text.split('\n').filter((line) => {
    const nan = NAN_SAMPLE.exec(line);
    if (nan) nanSamples.push(nan[1]!);
    return !nan;
  });
  return new Scrape(text, await getMetricsFromIterator(lines[Symbol.iterator]()), nanSamples);
}

export class Scrape {
  constructor(
    readonly text: string,
    readonly families: PromMetrics,
    /** Samples whose value is NaN, as `name{labels}` (left out of `families`). */
    readonly nanSamples: readonly string[],
  ) {}

  has(name: string): boolean {
    return name in this.families;
  }

  type(name: string): string | undefined {
    return this.families[name]?.type;
  }

  /** A counter's or gauge's samples. */
  samples(name: string): PromData[] {
    const family = this.families[name];
    if (family && (family.type === 'histogram' || family.type === 'summary')) throw new Error(`${name} is a ${family.type}`);
    return (family?.data ?? []) as PromData[];
  }

  /** The value of the sample with exactly these labels (undefined when there is none). */
  value(name: string, labels: Labels = {}): number | undefined {
    return this.samples(name).find((s) => sameLabels(s.labels, labels))?.value;
  }

  histogram(name: string): HistogramSample[] {
    const family = this.families[name];
    if (!family) return [];
    if (family.type !== 'histogram') throw new Error(`${name} is a ${family.type}, not a histogram`);
    return (family.data as PromHistogramData[]).map((h) => ({
      labels: h.labels,
      // An object's integer-like keys ("1", "10") come first whatever the text's order: sorted here.
      buckets: Object.entries(h.buckets).sort((x, y) => bound(x[0]) - bound(y[0])),
      count: h.count,
      sum: h.sum ?? NaN,
    }));
  }

  /** `_count` of the histogram series with exactly these labels (0 when there is none yet). */
  count(name: string, labels: Labels): number {
    return this.histogram(name).find((h) => sameLabels(h.labels, labels))?.count ?? 0;
  }

  /** Every value the label takes across a family's samples. */
  labelValues(name: string, label: string): string[] {
    const data = (this.families[name]?.data ?? []) as Array<{ labels: Labels }>;
    return [...new Set(data.map((d) => d.labels[label]).filter((v): v is string => v !== undefined))].sort();
  }
}

function bound(le: string): number {
  return le === '+Inf' ? Infinity : Number(le);
}

function sameLabels(a: Labels, b: Labels): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
