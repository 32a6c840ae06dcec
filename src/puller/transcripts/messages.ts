import { BOOLEAN, DOUBLE, DuckDBDataChunk, INTEGER, VARCHAR, type DuckDBAppender, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { BASE_SCHEMA } from '../../shared/snapshot.js';
import type { WorkDb } from '../work-db.js';
import { NUMBERS_PER_ROW, type FileRows } from './file-rows.js';

const MESSAGES = `${BASE_SCHEMA}.messages`;
const LINES = 'transcript_lines';

/** The columns of base.messages the merge writes, in table order. */
const COLUMNS = [
  'message_key',
  'session_uuid',
  'message_id',
  'request_id',
  'agent_id',
  'is_sidechain',
  'timestamp',
  'model',
  'input_tokens',
  'output_tokens',
  'cache_creation_5m_tokens',
  'cache_creation_1h_tokens',
  'cache_read_tokens',
  'service_tier',
  'cwd',
  'source_file',
] as const;

/**
 * The staging table, in FileRows' terms: numbers as DOUBLE (exact up to 2^53, and a vector of
 * them is one copy from a Float64Array; the merge casts), the timestamp in milliseconds, and the
 * strings that repeat (session, agent, model, tier, cwd, file) as ids into STRINGS: a string
 * crosses into DuckDB one call at a time, a number column in one copy.
 */
const STAGED: readonly (readonly [string, DuckDBType])[] = [
  ['message_key', VARCHAR],
  ['message_id', VARCHAR],
  ['request_id', VARCHAR],
  ['session_uuid', INTEGER],
  ['agent_id', INTEGER],
  ['model', INTEGER],
  ['service_tier', INTEGER],
  ['cwd', INTEGER],
  ['source_file', INTEGER],
  ['is_sidechain', BOOLEAN],
  ['ts_ms', DOUBLE],
  ['input_tokens', DOUBLE],
  ['output_tokens', DOUBLE],
  ['cache_creation_5m_tokens', DOUBLE],
  ['cache_creation_1h_tokens', DOUBLE],
  ['cache_read_tokens', DOUBLE],
  // the order lines were read in (file, then row): of two lines with the same output_tokens, the first is kept
  ['file_seq', DOUBLE],
  ['row_seq', DOUBLE],
];
const STAGED_TYPES = STAGED.map(([, type]) => type);
const NOT_NULL = new Set(['message_key', 'session_uuid', 'source_file', 'is_sidechain', 'ts_ms', 'file_seq', 'row_seq']);
/** The columns staged as ids into STRINGS. */
const INTERNED = new Set(['session_uuid', 'agent_id', 'model', 'service_tier', 'cwd', 'source_file']);
const STRINGS = 'transcript_strings';

/** Rows per appended chunk: DuckDB's vector size. */
const CHUNK_ROWS = 2048;

/**
 * Stages the responses of one tick in a temp table (DuckDB's appender, a chunk of 2048 rows at a
 * time), then merges them into base.messages. Files may be staged in any order: `fileSeq` (the
 * file's place in the read order) keeps "the first line read" meaning the same.
 */
export class MessageStager {
  staged = 0;
  private readonly strings = new Map<string, number>();
  private columns: DuckDBValue[][] = STAGED.map(() => []);
  private pending = 0;

  private constructor(
    private readonly db: WorkDb,
    private readonly appender: DuckDBAppender,
  ) {}

  static async open(db: WorkDb): Promise<MessageStager> {
    await db.run(`CREATE OR REPLACE TEMP TABLE ${LINES} (
      ${STAGED.map(([name, type]) => `${name} ${type.toString()}${NOT_NULL.has(name) ? ' NOT NULL' : ''}`).join(', ')})`);
    await db.run(`CREATE OR REPLACE TEMP TABLE ${STRINGS} (id INTEGER NOT NULL, s VARCHAR NOT NULL)`);
    return new MessageStager(db, await db.conn.createAppender(LINES, 'main', 'temp'));
  }

  private id(s: string | null): number | null {
    if (s === null) return null;
    let id = this.strings.get(s);
    if (id === undefined) {
      id = this.strings.size;
      this.strings.set(s, id);
    }
    return id;
  }

  addFile(fileSeq: number, file: string, rows: FileRows): void {
    const fileId = this.id(file);
    for (let i = 0; i < rows.count; i++) {
      const c = this.columns;
      const at = i * NUMBERS_PER_ROW;
      c[0]!.push(rows.keys[i]!);
      c[1]!.push(rows.messageIds[i]!);
      c[2]!.push(rows.requestIds[i]!);
      c[3]!.push(this.id(rows.sessions[i]!));
      c[4]!.push(this.id(rows.agentIds[i]!));
      c[5]!.push(this.id(rows.models[i]!));
      c[6]!.push(this.id(rows.tiers[i]!));
      c[7]!.push(this.id(rows.cwds[i]!));
      c[8]!.push(fileId);
      c[9]!.push(rows.sidechain[i] === 1);
      for (let k = 0; k < NUMBERS_PER_ROW; k++) c[10 + k]!.push(rows.numbers[at + k]!);
      c[16]!.push(fileSeq);
      c[17]!.push(i);
      if (++this.pending === CHUNK_ROWS) this.flush();
    }
  }

  private flush(): void {
    if (this.pending === 0) return;
    const chunk = DuckDBDataChunk.create(STAGED_TYPES, this.pending);
    chunk.setColumns(this.columns);
    this.appender.appendDataChunk(chunk);
    this.staged += this.pending;
    this.pending = 0;
    this.columns = STAGED.map(() => []);
  }

  /** Ends staging after a failure (dropStaging clears the rest). */
  abandon(): void {
    this.appender.closeSync();
  }

  /** Ends staging (nothing more can be added). */
  async finish(): Promise<void> {
    this.flush();
    this.appender.closeSync();
    const strings = await this.db.conn.createAppender(STRINGS, 'main', 'temp');
    for (const [s, id] of this.strings) {
      strings.appendInteger(id);
      strings.appendVarchar(s);
      strings.endRow();
    }
    strings.closeSync();
  }
}

export interface MergeCounts {
  added: number;
  updated: number;
}

/**
 * Merges the staged lines into base.messages, inside the caller's transaction. Per response (per
 * message_key): the kept line is the one with the largest output_tokens (earlier lines can be
 * streaming partials; of equals, the first read, and a row already loaded was read before any of
 * this tick's), and the timestamp is the earliest line's. Rows are only inserted or updated, never
 * deleted.
 */
export async function mergeStaged(db: WorkDb): Promise<MergeCounts> {
  const cols = COLUMNS.map((c) => `"${c}"`);
  const kept = COLUMNS.filter((c) => c !== 'message_key' && c !== 'timestamp');
  // One pass of a hash aggregate (measured: half the time of a window over the lines), then the
  // interned strings looked up in one list (correlated lookups were planned as joins on the whole
  // struct: half the merge's time).
  const typed = (c: string): string => (INTERNED.has(c) ? `d.strings[k."${c}" + 1]` : c.endsWith('_tokens') ? `k."${c}"::BIGINT` : `k."${c}"`);
  const responses = `SELECT message_key, make_timestamp(first_ms::BIGINT * 1000) AS "timestamp", ${kept.map((c) => `${typed(c)} AS "${c}"`).join(', ')}
    FROM (SELECT message_key, min(ts_ms) AS first_ms,
                 arg_min(struct_pack(${kept.map((c) => `"${c}"`).join(', ')}), (-output_tokens, file_seq, row_seq)) AS k
          FROM temp.${LINES} GROUP BY message_key),
         (SELECT list(s ORDER BY id) AS strings FROM temp.${STRINGS}) AS d`;
  const before = await countMessages(db);
  if (before === 0) {
    // A first ingest: nothing to match against, so a plain insert (no join with the table).
    const result = await db.conn.run(`INSERT INTO ${MESSAGES} (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM (${responses})`);
    return { added: Number(result.rowsChanged), updated: 0 };
  }
  const result = await db.conn.run(`MERGE INTO ${MESSAGES} AS m USING (${responses}) AS n ON m.message_key = n.message_key
    WHEN MATCHED AND n.output_tokens > m.output_tokens THEN UPDATE SET ${kept.map((c) => `"${c}" = n."${c}"`).join(', ')}, "timestamp" = least(m."timestamp", n."timestamp")
    WHEN MATCHED AND n."timestamp" < m."timestamp" THEN UPDATE SET "timestamp" = n."timestamp"
    WHEN NOT MATCHED THEN INSERT (${cols.join(', ')}) VALUES (${cols.map((c) => `n.${c}`).join(', ')})`);
  const added = (await countMessages(db)) - before;
  return { added, updated: Number(result.rowsChanged) - added };
}

export async function dropStaging(db: WorkDb): Promise<void> {
  await db.run(`DROP TABLE IF EXISTS temp.${LINES}`);
  await db.run(`DROP TABLE IF EXISTS temp.${STRINGS}`);
}

export async function countMessages(db: WorkDb): Promise<number> {
  return (await db.value<number>(`SELECT count(*)::DOUBLE FROM ${MESSAGES}`)) ?? 0;
}
