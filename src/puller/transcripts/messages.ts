import { DuckDBTimestampValue, type DuckDBAppender } from '@duckdb/node-api';
import { BASE_SCHEMA } from '../../shared/snapshot.js';
import type { WorkDb } from '../work-db.js';
import type { ResponseLine } from './parse-line.js';

const MESSAGES = `${BASE_SCHEMA}.messages`;
const LINES = 'transcript_lines';

/** The columns of base.messages the merge writes, in table order. */
const COLUMNS = [
  'message_key', 'session_uuid', 'message_id', 'request_id', 'agent_id', 'is_sidechain', 'timestamp', 'model',
  'input_tokens', 'output_tokens', 'cache_creation_5m_tokens', 'cache_creation_1h_tokens', 'cache_read_tokens',
  'service_tier', 'cwd', 'source_file',
] as const;

interface Pending {
  key: string;
  line: ResponseLine;
  file: string;
  seq: number;
  /** The earliest timestamp of the run of lines with this key. */
  firstMicros: bigint;
}

/**
 * Stages the response lines of one tick in a temp table (DuckDB's appender), then merges them into
 * base.messages. Consecutive lines of one response (Claude Code writes one per content block) are
 * folded here already, so the table holds about one row per response and file.
 */
export class MessageStager {
  private pending: Pending | null = null;
  private seq = 0;
  staged = 0;

  private constructor(private readonly appender: DuckDBAppender) {}

  static async open(db: WorkDb): Promise<MessageStager> {
    await db.run(`CREATE OR REPLACE TEMP TABLE ${LINES} (
      message_key VARCHAR NOT NULL, session_uuid VARCHAR NOT NULL, message_id VARCHAR, request_id VARCHAR, agent_id VARCHAR,
      is_sidechain BOOLEAN NOT NULL, timestamp TIMESTAMP NOT NULL, model VARCHAR,
      input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL, cache_creation_5m_tokens BIGINT NOT NULL,
      cache_creation_1h_tokens BIGINT NOT NULL, cache_read_tokens BIGINT NOT NULL,
      service_tier VARCHAR, cwd VARCHAR, source_file VARCHAR NOT NULL,
      -- the order lines were read in: of two lines with the same output_tokens, the first is kept
      seq BIGINT NOT NULL)`);
    return new MessageStager(await db.conn.createAppender(LINES, 'main', 'temp'));
  }

  add(key: string, line: ResponseLine, file: string): void {
    const seq = this.seq++;
    const p = this.pending;
    if (p && p.key === key) {
      if (line.timestampMicros < p.firstMicros) p.firstMicros = line.timestampMicros;
      if (line.outputTokens > p.line.outputTokens) {
        p.line = line;
        p.file = file;
        p.seq = seq;
      }
      return;
    }
    this.flush();
    this.pending = { key, line, file, seq, firstMicros: line.timestampMicros };
  }

  private flush(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    const a = this.appender;
    const l = p.line;
    a.appendVarchar(p.key);
    a.appendVarchar(l.sessionUuid);
    varcharOrNull(a, l.messageId);
    varcharOrNull(a, l.requestId);
    varcharOrNull(a, l.agentId);
    a.appendBoolean(l.isSidechain);
    a.appendTimestamp(new DuckDBTimestampValue(p.firstMicros));
    varcharOrNull(a, l.model);
    a.appendBigInt(BigInt(l.inputTokens));
    a.appendBigInt(BigInt(l.outputTokens));
    a.appendBigInt(BigInt(l.cacheCreation5mTokens));
    a.appendBigInt(BigInt(l.cacheCreation1hTokens));
    a.appendBigInt(BigInt(l.cacheReadTokens));
    varcharOrNull(a, l.serviceTier);
    varcharOrNull(a, l.cwd);
    a.appendVarchar(p.file);
    a.appendBigInt(BigInt(p.seq));
    a.endRow();
    this.staged++;
  }

  /** Ends staging (nothing more can be added). */
  finish(): void {
    this.flush();
    this.appender.closeSync();
  }
}

function varcharOrNull(a: DuckDBAppender, value: string | null): void {
  if (value === null) a.appendNull();
  else a.appendVarchar(value);
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
  // One pass of a hash aggregate (measured: half the time of a window over the lines).
  const responses = `SELECT message_key, first_ts AS "timestamp", k.*
    FROM (SELECT message_key, min("timestamp") AS first_ts,
                 arg_min(struct_pack(${kept.map((c) => `"${c}"`).join(', ')}), (-output_tokens, seq)) AS k
          FROM temp.${LINES} GROUP BY message_key)`;
  const before = await countMessages(db);
  const result = await db.conn.run(`MERGE INTO ${MESSAGES} AS m USING (${responses}) AS n ON m.message_key = n.message_key
    WHEN MATCHED AND n.output_tokens > m.output_tokens THEN UPDATE SET ${kept.map((c) => `"${c}" = n."${c}"`).join(', ')}, "timestamp" = least(m."timestamp", n."timestamp")
    WHEN MATCHED AND n."timestamp" < m."timestamp" THEN UPDATE SET "timestamp" = n."timestamp"
    WHEN NOT MATCHED THEN INSERT (${cols.join(', ')}) VALUES (${cols.map((c) => `n.${c}`).join(', ')})`);
  const added = (await countMessages(db)) - before;
  return { added, updated: Number(result.rowsChanged) - added };
}

export async function dropStaging(db: WorkDb): Promise<void> {
  await db.run(`DROP TABLE IF EXISTS temp.${LINES}`);
}

export async function countMessages(db: WorkDb): Promise<number> {
  return (await db.value<number>(`SELECT count(*)::DOUBLE FROM ${MESSAGES}`)) ?? 0;
}
