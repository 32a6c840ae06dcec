import { z } from 'zod';
import { readJsonDocument } from './json-document.js';
import { isoTime } from './status.js';

/**
 * The puller's figures for `GET /metrics`: `puller/metrics.json`, replaced atomically by the
 * puller after every tick, read (and validated here) by the reads server, which serves them beside
 * its own. The metrics are prom-client's JSON form (`Registry.getMetricsAsJSON()`), so the reads
 * side turns them back into Prometheus text with prom-client itself, without a format of our own.
 *
 * They are cumulative since `started_at` (the puller process's start): a restarted puller starts
 * from zero, which Prometheus reads as a counter reset. Every name starts with
 * `session_lattice_puller_`, and every label value comes from a fixed set (outcomes, phases, error
 * classes, the catalog's view names), never from input.
 */

const LabelsSchema = z.record(z.string(), z.union([z.string(), z.number()]));

const MetricValueSchema = z.looseObject({
  /**
   * JSON has no NaN: prom-client's JSON form, stringified, writes a NaN value (an event-loop
   * delay with no sample yet, say) as null, read back here as NaN (Prometheus text `Nan`).
   */
  value: z.union([z.number(), z.null().transform(() => NaN)]),
  labels: LabelsSchema.default({}),
  /** A histogram's series (`_bucket`, `_sum`, `_count`). */
  metricName: z.string().optional(),
});

const MetricJsonSchema = z.looseObject({
  name: z.string().regex(/^session_lattice_puller_[a-z0-9_]+$/),
  help: z.string(),
  type: z.enum(['counter', 'gauge', 'histogram', 'summary']),
  values: z.array(MetricValueSchema),
  aggregator: z.enum(['sum', 'first', 'min', 'max', 'average', 'omit']).default('sum'),
});
export type MetricJson = z.infer<typeof MetricJsonSchema>;

export const PullerMetricsFileSchema = z.object({
  pid: z.number().int(),
  started_at: isoTime,
  written_at: isoTime,
  metrics: z.array(MetricJsonSchema),
});
export type PullerMetricsFile = z.infer<typeof PullerMetricsFileSchema>;

/** Reads metrics.json; null when there is none (no puller has run on this home since metrics existed). */
export async function readPullerMetrics(path: string): Promise<PullerMetricsFile | null> {
  return readJsonDocument(path, PullerMetricsFileSchema, 'a puller metrics document');
}
