import { StatementType, type DuckDBConnection, type DuckDBExtractedStatements, type DuckDBPreparedStatement } from '@duckdb/node-api';
import { errorMessage, LatticeError } from '../../shared/errors.js';
import type { Column, Freshness } from '../api-types.js';
import { QueryLimiter } from '../limiter.js';
import type { ReadsService } from '../service.js';

/**
 * The sandboxed SQL runner behind the MCP `query` tool: read-only SQL over the generation being
 * served, for questions the views do not answer. Defense in depth, each layer enough on its own
 * for the escapes we know of:
 *
 * 1. The connection belongs to the generation's read-only DuckDB instance, hardened when it was
 *    opened (generations.ts: `enable_external_access=false`, extension auto-install/auto-load off,
 *    `temp_directory=''`, then `lock_configuration=true`), so no file can be read or written, no
 *    extension loaded, no setting changed, whatever the SQL says.
 * 2. The text is parsed by DuckDB (`extractStatements`): exactly one statement, whose prepared
 *    statement type is SELECT; and the parser must agree it is a plain SELECT
 *    (`json_serialize_sql`, which refuses PRAGMA and CALL even where they bind as a SELECT).
 * 3. It runs wrapped, `SELECT * FROM (<sql>) LIMIT cap+1`, and the wrapped text must parse to
 *    exactly one SELECT too (nothing can close the parenthesis and append a statement).
 * 4. A time limit: the query is interrupted (`connection.interrupt()`) when it runs out, and it
 *    holds one of the service's query slots (the limiter shared with the HTTP routes) while it
 *    runs; at most `maxConcurrent` MCP queries run at once, so they cannot take every slot.
 * 5. A row cap and a byte cap on the result.
 */

export const DEFAULT_MAX_ROWS = 1000;
export const MAX_MAX_ROWS = 10_000;
export const DEFAULT_TIMEOUT_SECONDS = 5;
export const MAX_TIMEOUT_SECONDS = 30;
export const MAX_SQL_LENGTH = 100_000;
/** The JSON text of the rows stops growing past this (the result is then truncated). */
export const DEFAULT_MAX_RESULT_BYTES = 8 * 1024 * 1024;

export interface QueryInput {
  sql: string;
  /** 1..10000, default 1000. */
  maxRows?: number;
  /** Seconds, up to 30, default 5. */
  timeoutSeconds?: number;
}

export interface QueryResult {
  columns: Column[];
  rows: Array<Record<string, unknown>>;
  row_count: number;
  /** More rows (or bytes) than the caps: `rows` holds the first ones. */
  truncated: boolean;
  truncated_reason: 'max_rows' | 'max_bytes' | null;
  max_rows: number;
  elapsed_ms: number;
  freshness: Freshness;
}

/** The SQL was refused before running (the message says why and what is accepted). */
export class QueryRefusedError extends LatticeError {
  constructor(reason: string) {
    super('query_refused', `query refused: ${reason}`);
  }
}

/** DuckDB rejected or failed the query (a syntax, catalog, permission or conversion error). */
export class QueryFailedError extends LatticeError {
  constructor(message: string) {
    super('query_failed', message);
  }
}

const ACCEPTED =
  'send exactly one read-only SELECT (WITH ... SELECT, FROM ..., VALUES, DESCRIBE, SUMMARIZE and SHOW are SELECTs too) over the snapshot\'s tables';

const STATEMENT_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(StatementType)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v as number, k]),
);

/** The first keyword of the text, after comments, for messages only (never for a decision). */
function leadingKeyword(sql: string): string {
  const stripped = sql.replace(/^(\s+|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)+/, '');
  return (/^[A-Za-z_]+/.exec(stripped)?.[0] ?? '').toUpperCase();
}

/** "the statement (COPY ...)", for messages. */
function describeStatement(sql: string): string {
  const keyword = leadingKeyword(sql);
  return keyword ? `the statement (${keyword} ...)` : 'the statement';
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/** A DuckDB error as an agent should read it, with a hint for the usual causes. */
function failure(err: unknown): QueryFailedError {
  const message = firstLine(errorMessage(err)).replace(/^Failed to extract statements: /, '');
  let hint = '';
  if (/Permission Error|file system operations are disabled/i.test(message)) {
    hint = ' (files, URLs and extensions are out of reach: the query tool reads only the tables of the snapshot: main.<view>, base.*, lattice.*)';
  } else if (/Catalog Error/i.test(message)) {
    hint = " (list the tables with: SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns ORDER BY ALL)";
  }
  return new QueryFailedError(`query failed: ${message}${hint}`);
}

async function extract(conn: DuckDBConnection, sql: string): Promise<DuckDBExtractedStatements> {
  try {
    return await conn.extractStatements(sql);
  } catch (err) {
    const message = firstLine(errorMessage(err));
    // The binding reports a text holding no statement (empty, only comments) this way.
    if (/Error in native callback/.test(message)) throw new QueryRefusedError(`the text holds no SQL statement; ${ACCEPTED}`);
    throw failure(err);
  }
}

async function prepare(extracted: DuckDBExtractedStatements): Promise<DuckDBPreparedStatement> {
  try {
    return await extracted.prepare(0);
  } catch (err) {
    throw failure(err);
  }
}

/** JSON.parse, tolerating the bare NaN / Infinity that DuckDB's to_json writes for such doubles (they become null). */
export function parseDuckJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return JSON.parse(text.replace(/"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g, (m) => (m.startsWith('"') ? m : 'null')));
  }
}

function stripTrailingSemicolons(sql: string): string {
  return sql.replace(/[\s;]+$/, '');
}

function checkInteger(name: string, value: number | undefined, def: number, min: number, max: number): number {
  if (value === undefined) return def;
  if (!Number.isInteger(value) || value < min || value > max) throw new QueryRefusedError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  return value;
}

export interface SqlSandboxOptions {
  /** MCP queries running at once (each also holds a slot of the service's limiter). Default 1. */
  maxConcurrent?: number;
  /** MCP queries waiting for their turn before new ones are refused as busy. Default 64. */
  maxQueued?: number;
  maxResultBytes?: number;
}

export class SqlSandbox {
  private readonly gate: QueryLimiter;
  private readonly maxResultBytes: number;

  constructor(
    private readonly service: ReadsService,
    opts: SqlSandboxOptions = {},
  ) {
    this.gate = new QueryLimiter(opts.maxConcurrent ?? 1, opts.maxQueued ?? 64, 30_000);
    this.maxResultBytes = opts.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES;
  }

  async run(input: QueryInput): Promise<QueryResult> {
    const sql = input.sql;
    if (typeof sql !== 'string' || sql.trim() === '') throw new QueryRefusedError(`the sql is empty; ${ACCEPTED}`);
    if (sql.length > MAX_SQL_LENGTH) throw new QueryRefusedError(`the sql is longer than ${MAX_SQL_LENGTH} characters`);
    const maxRows = checkInteger('max_rows', input.maxRows, DEFAULT_MAX_ROWS, 1, MAX_MAX_ROWS);
    const seconds = input.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    if (!(seconds > 0 && seconds <= MAX_TIMEOUT_SECONDS)) {
      throw new QueryRefusedError(`timeout_seconds must be more than 0 and at most ${MAX_TIMEOUT_SECONDS}, got ${seconds}`);
    }
    const timeoutMs = Math.round(seconds * 1000);

    const release = await this.gate.acquire();
    try {
      return await this.service.withSnapshotConnection(
        (conn, gen, signal) => this.runOn(conn, sql, maxRows, signal).then((r) => ({ ...r, freshness: this.service.freshness(gen, null) })),
        { timeoutMs },
      );
    } finally {
      release();
    }
  }

  private async runOn(conn: DuckDBConnection, sql: string, maxRows: number, signal: AbortSignal): Promise<Omit<QueryResult, 'freshness'>> {
    const t0 = performance.now();

    // (2) One statement; a plain SELECT to the parser (json_serialize_sql serializes nothing else,
    // and it refuses PRAGMA and CALL, which bind as SELECTs); and a SELECT by its prepared type.
    // The parser check comes first so nothing but a SELECT is ever bound.
    const extracted = await extract(conn, sql);
    if (extracted.count === 0) throw new QueryRefusedError(`the text holds no SQL statement; ${ACCEPTED}`);
    if (extracted.count > 1) throw new QueryRefusedError(`the text holds ${extracted.count} statements; ${ACCEPTED}`);
    const check = await conn.runAndReadAll("SELECT (json_serialize_sql($1::VARCHAR)::JSON ->> 'error') = 'false' AS ok", [sql]);
    if (check.getColumnsJson()[0]?.[0] !== true) throw new QueryRefusedError(`${describeStatement(sql)} is not a plain SELECT, and the snapshot is read-only; ${ACCEPTED}`);
    signal.throwIfAborted();
    const original = await prepare(extracted);
    let type: StatementType;
    try {
      type = original.statementType;
    } finally {
      original.destroySync();
    }
    if (type !== StatementType.SELECT) {
      throw new QueryRefusedError(`${describeStatement(sql)} is a ${STATEMENT_NAMES[type] ?? `type ${type}`} statement, not a SELECT; ${ACCEPTED}`);
    }
    signal.throwIfAborted();

    // (3) Wrapped, with the row cap; the newlines keep a trailing `-- comment` from swallowing the parenthesis.
    const body = stripTrailingSemicolons(sql);
    const limited = `SELECT * FROM (\n${body}\n) AS _lattice_query LIMIT ${maxRows + 1}`;
    const wrapped = `SELECT to_json(_lattice_row)::VARCHAR AS j FROM (${limited}) AS _lattice_row`;
    const columns: Column[] = [];
    for (const text of [limited, wrapped]) {
      let ex: DuckDBExtractedStatements;
      try {
        ex = await conn.extractStatements(text);
      } catch (err) {
        throw new QueryRefusedError(`it cannot run as a subquery (${firstLine(errorMessage(err)).replace(/^Failed to extract statements: /, '')}); ${ACCEPTED}`);
      }
      if (ex.count !== 1) throw new QueryRefusedError(`it does not stay one statement when wrapped as a subquery; ${ACCEPTED}`);
      if (text === limited) {
        const p = await prepare(ex);
        try {
          if (p.statementType !== StatementType.SELECT) throw new QueryRefusedError(`the wrapped query is not a SELECT; ${ACCEPTED}`);
          for (let i = 0; i < p.columnCount; i++) columns.push({ name: p.columnName(i), type: String(p.columnType(i)) });
        } finally {
          p.destroySync();
        }
        continue;
      }
      signal.throwIfAborted();
      const p = await prepare(ex);
      try {
        if (p.statementType !== StatementType.SELECT) throw new QueryRefusedError(`the wrapped query is not a SELECT; ${ACCEPTED}`);
        return { columns, ...(await this.fetch(p, maxRows, signal)), max_rows: maxRows, elapsed_ms: Math.round((performance.now() - t0) * 10) / 10 };
      } finally {
        p.destroySync();
      }
    }
    throw new Error('unreachable');
  }

  /** Streams the JSON rows until the row or byte cap. */
  private async fetch(
    prepared: DuckDBPreparedStatement,
    maxRows: number,
    signal: AbortSignal,
  ): Promise<Pick<QueryResult, 'rows' | 'row_count' | 'truncated' | 'truncated_reason'>> {
    const rows: Array<Record<string, unknown>> = [];
    let bytes = 0;
    let reason: QueryResult['truncated_reason'] = null;
    try {
      const result = await prepared.stream();
      outer: for (;;) {
        signal.throwIfAborted();
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        for (const text of chunk.getColumnValues(0) as string[]) {
          if (rows.length >= maxRows) {
            reason = 'max_rows';
            break outer;
          }
          bytes += text.length;
          if (bytes > this.maxResultBytes) {
            reason = 'max_bytes';
            break outer;
          }
          rows.push(parseDuckJson(text) as Record<string, unknown>);
        }
      }
    } catch (err) {
      if (signal.aborted || err instanceof QueryRefusedError) throw err;
      throw failure(err);
    }
    return { rows, row_count: rows.length, truncated: reason !== null, truncated_reason: reason };
  }
}
