import { StatementType, type DuckDBConnection, type DuckDBExtractedStatements, type DuckDBPreparedStatement } from '@duckdb/node-api';
import { errorMessage } from '../../shared/errors.js';
import type { Column } from '../contract/api-types.js';
import { parseDuckJson } from './duck-json.js';
import { QueryFailedError, QueryRefusedError } from './errors.js';

/**
 * The statement checks of the MCP `query` tool, run where the SQL runs: in a query worker
 * (worker-main.ts), and in process by the benchmark's baseline. Layers, each enough on its own
 * for the escapes we know of:
 *
 * 1. The connection belongs to a read-only DuckDB instance hardened when it was opened
 *    (hardening.ts: external access and the local file system off, extension auto-install and
 *    auto-load off, no temp directory, configuration locked), so no file can be read or written,
 *    the snapshot's own included, no extension loaded, no setting changed, whatever the SQL says.
 * 2. The text is parsed by DuckDB (`extractStatements`): exactly one statement, whose prepared
 *    statement type is SELECT; and the parser must agree it is a plain SELECT
 *    (`json_serialize_sql`, which refuses PRAGMA and CALL even where they bind as a SELECT).
 * 3. It runs wrapped, `SELECT * FROM (<sql>) LIMIT cap+1`, and the wrapped text must parse to
 *    exactly one SELECT too (nothing can close the parenthesis and append a statement).
 * 4. A row cap and a byte cap on the result.
 *
 * Time and memory are not limited here: DuckDB's interrupt and memory_limit do not reach every
 * operator, so the pool (pool.ts) enforces both from outside the worker process.
 */

export interface SandboxLimits {
  maxRows: number;
  /** The JSON text of the rows stops growing past this (the result is then truncated). */
  maxResultBytes: number;
}

export interface SandboxOptions {
  /** Applied to each row's JSON text before it is parsed (the worker rewrites its home's path). */
  rewriteRow?: (json: string) => string;
}

export interface SandboxRows {
  columns: Column[];
  rows: Array<Record<string, unknown>>;
  row_count: number;
  /** More rows (or bytes) than the caps: `rows` holds the first ones. */
  truncated: boolean;
  truncated_reason: 'max_rows' | 'max_bytes' | null;
  elapsed_ms: number;
}

/** What `query` accepts, in the words every refusal ends with. */
export const ACCEPTED =
  "send exactly one read-only SELECT (WITH ... SELECT, FROM ..., VALUES, DESCRIBE, SUMMARIZE and SHOW are SELECTs too) over the snapshot's tables";

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
  if (/Permission Error|file system operations are disabled|has been disabled by configuration/i.test(message)) {
    hint = ' (files, URLs and extensions are out of reach: the query tool reads only the tables of the snapshot: main.<view>, base.*, lattice.*)';
  } else if (/Catalog Error/i.test(message)) {
    hint = ' (list the tables with: SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns ORDER BY ALL)';
  } else if (/Out of Memory Error/i.test(message)) {
    hint = ' (the query needs more memory than a query worker may use: narrow it, or raise SESSION_LATTICE_QUERY_MEMORY_MB)';
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

function stripTrailingSemicolons(sql: string): string {
  return sql.replace(/[\s;]+$/, '');
}

/** Checks `sql` (one plain SELECT) and runs it within the caps; QueryRefusedError / QueryFailedError otherwise. */
export async function runSandboxed(conn: DuckDBConnection, sql: string, limits: SandboxLimits, opts: SandboxOptions = {}): Promise<SandboxRows> {
  const t0 = performance.now();
  if (sql.trim() === '') throw new QueryRefusedError(`the sql is empty; ${ACCEPTED}`);

  // (2) One statement; a plain SELECT to the parser (json_serialize_sql serializes nothing else,
  // and it refuses PRAGMA and CALL, which bind as SELECTs); and a SELECT by its prepared type.
  // The parser check comes first so nothing but a SELECT is ever bound.
  const extracted = await extract(conn, sql);
  if (extracted.count === 0) throw new QueryRefusedError(`the text holds no SQL statement; ${ACCEPTED}`);
  if (extracted.count > 1) throw new QueryRefusedError(`the text holds ${extracted.count} statements; ${ACCEPTED}`);
  const check = await conn.runAndReadAll("SELECT (json_serialize_sql($1::VARCHAR)::JSON ->> 'error') = 'false' AS ok", [sql]);
  if (check.getColumnsJson()[0]?.[0] !== true)
    throw new QueryRefusedError(`${describeStatement(sql)} is not a plain SELECT, and the snapshot is read-only; ${ACCEPTED}`);
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

  // (3) Wrapped, with the row cap; the newlines keep a trailing `-- comment` from swallowing the parenthesis.
  const body = stripTrailingSemicolons(sql);
  const limited = `SELECT * FROM (\n${body}\n) AS _lattice_query LIMIT ${limits.maxRows + 1}`;
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
    const p = await prepare(ex);
    try {
      if (p.statementType !== StatementType.SELECT) throw new QueryRefusedError(`the wrapped query is not a SELECT; ${ACCEPTED}`);
      if (text === limited) {
        for (let i = 0; i < p.columnCount; i++) columns.push({ name: p.columnName(i), type: String(p.columnType(i)) });
        continue;
      }
      const rows = await fetchRows(p, limits, opts.rewriteRow);
      return { columns, ...rows, elapsed_ms: Math.round((performance.now() - t0) * 10) / 10 };
    } finally {
      p.destroySync();
    }
  }
  throw new Error('unreachable');
}

/**
 * Streams the JSON rows until the row or byte cap. Each row's text is decoded into a JS string only
 * when it is kept (`getItem`, not `getColumnValues`): a chunk holds 2048 rows, and decoding all of
 * them at once made a chunk of 10 KB rows 20 MB of V8 strings beside DuckDB's own copy, the
 * allocation V8 could not make under the worker's address-space limit (a SIGABRT, not an error).
 */
async function fetchRows(
  prepared: DuckDBPreparedStatement,
  limits: SandboxLimits,
  rewrite: ((json: string) => string) | undefined,
): Promise<Pick<SandboxRows, 'rows' | 'row_count' | 'truncated' | 'truncated_reason'>> {
  const rows: Array<Record<string, unknown>> = [];
  let bytes = 0;
  let reason: SandboxRows['truncated_reason'] = null;
  try {
    const result = await prepared.stream();
    outer: for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const column = chunk.getColumnVector(0);
      for (let i = 0; i < chunk.rowCount; i++) {
        if (rows.length >= limits.maxRows) {
          reason = 'max_rows';
          break outer;
        }
        const text = column.getItem(i);
        if (typeof text !== 'string') throw new Error(`a row's JSON text is ${text === null ? 'NULL' : typeof text}`);
        bytes += text.length;
        if (bytes > limits.maxResultBytes) {
          reason = 'max_bytes';
          break outer;
        }
        rows.push(parseDuckJson(rewrite ? rewrite(text) : text) as Record<string, unknown>);
      }
    }
  } catch (err) {
    if (err instanceof QueryRefusedError) throw err;
    throw failure(err);
  }
  return { rows, row_count: rows.length, truncated: reason !== null, truncated_reason: reason };
}
