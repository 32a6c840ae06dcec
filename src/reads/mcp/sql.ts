import type { Freshness } from '../contract/api-types.js';
import { QueryRefusedError } from '../query-workers/errors.js';
import type { QueryRunner } from '../query-workers/pool.js';
import { ACCEPTED, type SandboxRows } from '../query-workers/sandbox.js';
import type { GenerationSource } from '../data/generation-source.js';
import type { ReadsService } from '../data/service.js';

/**
 * The MCP `query` tool's front: checks the arguments, then hands the SQL to the query workers
 * (query-workers/pool.ts), which run the statement checks (query-workers/sandbox.ts) in a separate
 * process under a memory cap and a hard deadline. The answer's freshness is the generation the
 * worker actually ran on.
 */

export const DEFAULT_MAX_ROWS = 1000;
export const MAX_MAX_ROWS = 10_000;
export const DEFAULT_TIMEOUT_SECONDS = 5;
export const MAX_TIMEOUT_SECONDS = 30;
export const MAX_SQL_LENGTH = 100_000;
/** The JSON text of the rows stops growing past this (the result is then truncated). */
const DEFAULT_MAX_RESULT_BYTES = 8 * 1024 * 1024;

export interface QueryInput {
  sql: string;
  /** 1..10000, default 1000. */
  maxRows?: number;
  /** Seconds, up to 30, default 5. */
  timeoutSeconds?: number;
}

/** The rows as the worker's sandbox returned them, with the cap asked for and the generation that answered. */
export interface QueryResult extends SandboxRows {
  max_rows: number;
  freshness: Freshness;
}

function checkInteger(name: string, value: number | undefined, def: number, min: number, max: number): number {
  if (value === undefined) return def;
  if (!Number.isInteger(value) || value < min || value > max) throw new QueryRefusedError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  return value;
}

export class SqlSandbox {
  constructor(
    private readonly service: ReadsService,
    private readonly generations: GenerationSource,
    private readonly runner: QueryRunner,
  ) {}

  async run(input: QueryInput): Promise<QueryResult> {
    const sql = input.sql;
    if (typeof sql !== 'string' || sql.trim() === '') throw new QueryRefusedError(`the sql is empty; ${ACCEPTED}`);
    if (sql.length > MAX_SQL_LENGTH) throw new QueryRefusedError(`the sql is longer than ${MAX_SQL_LENGTH} characters`);
    const maxRows = checkInteger('max_rows', input.maxRows, DEFAULT_MAX_ROWS, 1, MAX_MAX_ROWS);
    const seconds = input.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    if (!(seconds > 0 && seconds <= MAX_TIMEOUT_SECONDS)) {
      throw new QueryRefusedError(`timeout_seconds must be more than 0 and at most ${MAX_TIMEOUT_SECONDS}, got ${seconds}`);
    }
    // Before the first snapshot, the same answer as the other tools (with the puller's side of it).
    this.generations.acquire().release();
    const answer = await this.runner.run({ sql, maxRows, maxResultBytes: DEFAULT_MAX_RESULT_BYTES, timeoutMs: Math.round(seconds * 1000) });
    const { snapshot, columns, rows, row_count, truncated, truncated_reason, elapsed_ms } = answer;
    // A worker stats the published file before every query, so it can be a generation ahead of
    // the server's own (which notices a new file by watch and poll). Catch up before answering, so
    // that no later answer to the same client, HTTP or MCP, comes from an older generation.
    await this.generations.catchUp(snapshot.generation);
    return { columns, rows, row_count, truncated, truncated_reason, max_rows: maxRows, elapsed_ms, freshness: this.service.freshnessOf(snapshot) };
  }
}
