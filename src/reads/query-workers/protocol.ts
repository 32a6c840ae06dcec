import { z } from 'zod';
import { ColumnSchema, FreshnessSchema } from '../contract/schemas.js';

/**
 * The messages between the reads server and its query workers (Node IPC, JSON), each validated
 * with zod on arrival: a worker runs an agent's SQL, so what it sends back is checked like any
 * other input, and a worker that sends something else is killed and replaced.
 */

/** How a worker is set up: passed as its one argument, as JSON. */
export const WorkerSettingsSchema = z.object({
  /** The published file (absolute): opened read-only, reopened when it is replaced. */
  published: z.string().min(1),
  /** The home directory as configured (its path is rewritten out of results and errors). */
  home: z.string().min(1),
  /** DuckDB's own memory_limit inside the worker, in MiB (a fraction of the cap the pool enforces). */
  duckdbMemoryMb: z.number().int().positive(),
  /** DuckDB threads per worker. */
  threads: z.number().int().positive(),
});
export type WorkerSettings = z.infer<typeof WorkerSettingsSchema>;

const QueryRequestSchema = z.object({
  type: z.literal('query'),
  id: z.number().int(),
  sql: z.string(),
  maxRows: z.number().int().positive(),
  maxResultBytes: z.number().int().positive(),
});
export type QueryRequest = z.infer<typeof QueryRequestSchema>;

/** Reopen the published file if it was replaced (sent to idle workers when a generation switches). */
const SyncRequestSchema = z.object({ type: z.literal('sync') });

export const ToWorkerSchema = z.discriminatedUnion('type', [QueryRequestSchema, SyncRequestSchema]);

/**
 * Which generation a worker holds: a result's freshness but for its age, measured by the server
 * when it answers (materialized_at: the oldest view's, the catalog's freshness).
 */
export const SnapshotInfoSchema = FreshnessSchema.omit({ age_seconds: true });
export type SnapshotInfo = z.infer<typeof SnapshotInfoSchema>;

const ReadySchema = z.object({ type: z.literal('ready'), snapshot: SnapshotInfoSchema.nullable() });

const ResultSchema = z.object({
  type: z.literal('result'),
  id: z.number().int(),
  snapshot: SnapshotInfoSchema,
  columns: z.array(ColumnSchema),
  rows: z.array(z.record(z.string(), z.unknown())),
  row_count: z.number().int().min(0),
  truncated: z.boolean(),
  truncated_reason: z.enum(['max_rows', 'max_bytes']).nullable(),
  elapsed_ms: z.number(),
});
export type QueryResultMessage = z.infer<typeof ResultSchema>;

/**
 * refused / failed: the SQL's fault (the message is for the agent); no_snapshot / unavailable:
 * nothing published, or the published file cannot be opened; internal: a bug in the worker.
 */
const ERROR_KINDS = ['refused', 'failed', 'no_snapshot', 'unavailable', 'internal'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

const ErrorSchema = z.object({
  type: z.literal('error'),
  id: z.number().int(),
  kind: z.enum(ERROR_KINDS),
  message: z.string(),
});
export type QueryErrorMessage = z.infer<typeof ErrorSchema>;

export const FromWorkerSchema = z.discriminatedUnion('type', [ReadySchema, ResultSchema, ErrorSchema]);
export type FromWorker = z.infer<typeof FromWorkerSchema>;
