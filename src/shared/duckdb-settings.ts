import { z } from 'zod';
import type { Config } from './config.js';

/**
 * The two DuckDB settings every long-lived instance of the daemons takes from the configuration
 * (SESSION_LATTICE_MEMORY_LIMIT, SESSION_LATTICE_THREADS): the puller's working database and each
 * generation the reads server opens. The query workers have their own cap (pool.ts).
 */
export type DuckDbSettings = Pick<Config, 'memoryLimitBytes' | 'threads'>;

/** The instance options (`DuckDBInstance.create(path, options)`) that carry them. */
export function duckdbInstanceOptions(settings: DuckDbSettings): { memory_limit: string; threads: string } {
  // Bytes, so that `1GB` (10^9) and `1GiB` reach DuckDB exactly as the user wrote them.
  return { memory_limit: `${Math.floor(settings.memoryLimitBytes)}B`, threads: String(settings.threads) };
}

/** What an instance says it runs with, read back with current_setting() (DuckDB's own rendering: `953.6 MiB`). */
export const EffectiveDuckDbSchema = z.object({
  memory_limit: z.string().describe("current_setting('memory_limit'), as DuckDB renders it (e.g. 953.6 MiB)"),
  threads: z.number().int().describe("current_setting('threads')"),
});
export type EffectiveDuckDb = z.infer<typeof EffectiveDuckDbSchema>;

export const EFFECTIVE_DUCKDB_SQL = "SELECT current_setting('memory_limit') AS memory_limit, CAST(current_setting('threads') AS INTEGER) AS threads";
