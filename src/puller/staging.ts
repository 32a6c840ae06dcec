import { open, rm, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { messageOf } from '../shared/error-registry.js';
import { errorMessage, LatticeError } from '../shared/errors.js';
import { sqlLiteral } from '../shared/snapshot.js';
import type { WorkDb } from './work-db.js';

/**
 * How upstream's session object is read; a value of the wrong type becomes NULL, then validation
 * decides. Counts and timestamps are read as DOUBLE, not BIGINT: BIGINT would round `1.5` to 2 and
 * turn a number past INT64 into NULL, hiding both; as a DOUBLE a fraction and a size can be seen
 * (exactly: the bounds below are far inside the 2^53 a DOUBLE holds exactly). The load casts the
 * accepted values to BIGINT.
 */
const SESSION_TYPE = `STRUCT(
  id BIGINT, session_uuid VARCHAR, cwd VARCHAR, started_at DOUBLE, ended_at DOUBLE,
  message_count DOUBLE, user_message_count DOUBLE, assistant_message_count DOUBLE,
  last_prompt VARCHAR, source_file VARCHAR, duration_ms DOUBLE,
  input_tokens DOUBLE, output_tokens DOUBLE, cache_read_tokens DOUBLE, cache_creation_tokens DOUBLE,
  parent_uuid VARCHAR, request_id VARCHAR, message_id VARCHAR, is_sidechain_count DOUBLE,
  models_used VARCHAR[], tools_used VARCHAR[],
  tool_call_counts_json VARCHAR, stop_reason_counts_json VARCHAR)`;

const ELEMENT_TYPE = `STRUCT(session ${SESSION_TYPE}, repos JSON[])`.replace(/\s+/g, ' ');

/** The fields a session cannot be loaded without (upstream never sends them as null). */
const REQUIRED = [
  'id',
  'session_uuid',
  'source_file',
  'message_count',
  'user_message_count',
  'assistant_message_count',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_creation_tokens',
  'is_sidechain_count',
] as const;

const TOKEN_FIELDS = ['input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_creation_tokens'] as const;
/** Counts besides tokens: the session's own, and (below) every count in its count strings. */
const COUNT_FIELDS = ['message_count', 'user_message_count', 'assistant_message_count', 'is_sidechain_count', 'duration_ms'] as const;

/**
 * The largest count a session may carry, in any field (tokens, messages, duration_ms, a tool's
 * calls). No real session comes near it: a long day of heavy use is ~10^8 cache-read tokens,
 * 10^12 ms is 31 years. It is what makes the views' arithmetic safe: a session's four token
 * counters add up to at most 4*10^12, so the per-session sums of session_facts stay BIGINT, and the
 * views' totals over sessions are HUGEINT, which at 4*10^12 a session cannot overflow before
 * 4*10^25 sessions (INT64 would have broken at 2.3 million sessions at the bound).
 */
export const MAX_COUNT = 1e12;

/** Unix seconds of 2023-01-01T00:00:00Z: Claude Code did not exist before, so no session did. */
const EARLIEST_TIMESTAMP = 1672531200;

/** How far past the tick's clock a timestamp may lie: clocks disagree, but not by a day. */
const FUTURE_SLACK_SECONDS = 86400;

/**
 * Why a staged row is not loaded (`problem`); the strings are stable, counted by reason in
 * rejected_rows' `rejected_by` and status. When a row has several, the first in this order wins,
 * the clock-dependent one last (see FUTURE_PROBLEM).
 */
const PROBLEMS = {
  notASession: 'not a session object',
  missing: 'a required field is missing or has the wrong type',
  fraction: 'a count is not a whole number',
  tokens: 'a token count is negative or above 10^12',
  count: 'a count is negative or above 10^12',
  endBeforeStart: 'it ended before it started',
  tooEarly: 'a timestamp is before 2023',
  future: 'a timestamp is more than a day in the future',
} as const;

/**
 * The one reason that depends on the clock: such a row may be valid a day later, so its element
 * is not remembered as loaded (element_digests) and is staged, and judged, again with every payload
 * that is not byte for byte the one loaded. Every other reason is a property of the bytes alone.
 */
export const FUTURE_PROBLEM = PROBLEMS.future;

/** SQL: whether a DOUBLE is a count out of bounds. */
function outOfBounds(expr: string): string {
  return `(${expr} < 0 OR ${expr} > ${MAX_COUNT})`;
}

/** SQL: whether a DOUBLE has a fractional part (inf and NaN count: they are no whole number either). */
function fractional(expr: string): string {
  return `(${expr} <> trunc(${expr}) OR isinf(${expr}) OR isnan(${expr}))`;
}

/** SQL over the staged `tool_map` and `stop_map`: whether any count in them satisfies `test`. */
function anyMapCount(test: (expr: string) => string): string {
  return `(coalesce(list_bool_or(list_transform(map_values(tool_map), v -> ${test('v.calls')} OR ${test('v.errors')})), false)
           OR coalesce(list_bool_or(list_transform(map_values(stop_map), v -> ${test('v')})), false))`;
}

/** The `problem` of a staged row (NULL: it loads), given the tick's clock in unix seconds. */
function problemSql(nowEpoch: number): string {
  const s = (f: string) => `session.${f}`;
  const missingRequired = REQUIRED.map((f) => `${s(f)} IS NULL`).join(' OR ');
  const counts = [...TOKEN_FIELDS, ...COUNT_FIELDS].map(s);
  const latest = Math.floor(nowEpoch) + FUTURE_SLACK_SECONDS;
  const times = [s('started_at'), s('ended_at')];
  return `CASE WHEN session IS NULL THEN '${PROBLEMS.notASession}'
                WHEN ${missingRequired} THEN '${PROBLEMS.missing}'
                WHEN ${counts.map(fractional).join(' OR ')} OR ${anyMapCount(fractional)} THEN '${PROBLEMS.fraction}'
                WHEN ${TOKEN_FIELDS.map((f) => outOfBounds(s(f))).join(' OR ')} THEN '${PROBLEMS.tokens}'
                WHEN ${COUNT_FIELDS.map((f) => outOfBounds(s(f))).join(' OR ')} OR ${anyMapCount(outOfBounds)} THEN '${PROBLEMS.count}'
                WHEN ${s('ended_at')} < ${s('started_at')} THEN '${PROBLEMS.endBeforeStart}'
                WHEN ${times.map((t) => `${t} < ${EARLIEST_TIMESTAMP}`).join(' OR ')} THEN '${PROBLEMS.tooEarly}'
                WHEN ${times.map((t) => `${t} > ${latest}`).join(' OR ')} THEN '${FUTURE_PROBLEM}'
           END`;
}

/**
 * The rows of one staging file (`{"d":<digest>,"e":<element>}` per line), validated, with the
 * count strings parsed: DuckDB reads the lines in parallel, and nothing after reads the JSON again.
 */
function stagedRows(path: string, bytes: number, nowEpoch: number): string {
  // A line cannot be longer than its file. DuckDB's reader claims twice this per thread from the
  // memory limit, so the old fixed 256 MiB cost 512 MiB a thread however small the payload.
  const maxObject = Math.max(1 << 20, bytes + 1);
  return `
    SELECT digest, session.*, repos, ${problemSql(nowEpoch)} AS problem, tool_map, stop_map
    FROM (SELECT digest,
                 session,
                 repos,
                 TRY_CAST(CASE WHEN json_valid(session.tool_call_counts_json) THEN session.tool_call_counts_json END::JSON
                          AS MAP(VARCHAR, STRUCT(calls DOUBLE, errors DOUBLE))) AS tool_map,
                 TRY_CAST(CASE WHEN json_valid(session.stop_reason_counts_json) THEN session.stop_reason_counts_json END::JSON
                          AS MAP(VARCHAR, DOUBLE)) AS stop_map
          FROM (SELECT d AS digest, e.session AS session, e.repos AS repos
                FROM read_json(${sqlLiteral(path)},
                               format = 'newline_delimited',
                               ignore_errors = true,
                               maximum_object_size = ${maxObject},
                               columns = {d: 'VARCHAR', e: '${ELEMENT_TYPE}'})))`;
}

/**
 * Adds one staging file of `bytes` bytes to `temp.staging` (the first one creates it afresh);
 * `nowEpoch` is the clock timestamps are judged against.
 */
export async function stageFile(db: WorkDb, path: string, bytes: number, first: boolean, nowEpoch: number): Promise<void> {
  await db.run(`${first ? 'CREATE OR REPLACE TEMP TABLE staging AS' : 'INSERT INTO staging'} ${stagedRows(path, bytes, nowEpoch)}`);
}

/** Drops what staging left in memory (a no-op when there is nothing). */
export async function dropStaging(db: WorkDb): Promise<void> {
  await db.run('DROP TABLE IF EXISTS temp.staging');
}

/** The name of staging part `n` beside `base` (`incoming.ndjson` -> `incoming.3.ndjson`). */
function stagingPart(base: string, n: number): string {
  return base.replace(/\.ndjson$/, `.${n}.ndjson`);
}

/** DuckDB failed to read a staging part: not upstream's doing, so never retried as a network error. */
export class StagingError extends LatticeError {
  constructor(cause: unknown) {
    super('staging', messageOf('staging', { cause: errorMessage(cause) }), { cause });
  }
}

/** Parts this size are handed to DuckDB while the next one downloads. */
const PART_BYTES = 16 * 1024 * 1024;

/**
 * The end of the fetch pipeline: writes the staged lines to part files and loads each part into
 * `temp.staging` as soon as it is complete, so DuckDB parses one part (on its own threads) while
 * the next one downloads and splits on the event loop. Each part is deleted once loaded, so the
 * staged payload never sits whole on disk (and mostly never reaches it).
 *
 * Chunks arrive as whole lines (ChangedLines emits whole lines), so a part never cuts one.
 */
export class StagingSink extends Writable {
  private file: FileHandle | null = null;
  private path = '';
  private bytes = 0;
  private parts = 0;
  private loading: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private readonly written: string[] = [];
  private cleanedUp: Promise<void> | null = null;
  /** One clock for every part of a pass: a row is not judged by two different "nows". */
  private readonly nowEpoch = Date.now() / 1000;

  constructor(
    private readonly db: WorkDb,
    private readonly base: string,
    private readonly partBytes = PART_BYTES,
  ) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.append(chunk).then(() => done(), done);
  }

  override _final(done: (err?: Error | null) => void): void {
    // At least one part, empty or not: the staging table exists after every fetch.
    const last = this.file !== null || this.parts === 0 ? this.seal() : Promise.resolve();
    last.then(() => this.loading).then(() => done(this.failure === null ? null : asError(this.failure)), done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.settled().then(
      () => done(err),
      () => done(err),
    );
  }

  /**
   * Resolves once nothing of this sink runs or remains: the part in flight loaded or failed, the
   * part files removed. A retry must wait for it, or two sinks would stage at once.
   */
  settled(): Promise<void> {
    this.cleanedUp ??= (async () => {
      await this.takeFile()
        ?.close()
        .catch(() => undefined);
      await this.loading;
      // A write in flight when this began may have opened one more part: close it too.
      await this.takeFile()
        ?.close()
        .catch(() => undefined);
      await Promise.all(this.written.map((p) => rm(p, { force: true })));
    })();
    return this.cleanedUp;
  }

  /** The open part's handle, no longer this sink's. */
  private takeFile(): FileHandle | null {
    const file = this.file;
    this.file = null;
    return file;
  }

  private async append(chunk: Buffer): Promise<void> {
    if (this.failure !== null) throw asError(this.failure);
    if (this.destroyed) return;
    const file = this.file ?? (await this.openPart());
    await file.write(chunk);
    this.bytes += chunk.length;
    if (this.bytes >= this.partBytes) await this.seal();
  }

  private async openPart(): Promise<FileHandle> {
    this.path = stagingPart(this.base, this.parts);
    this.written.push(this.path);
    this.file = await open(this.path, 'w');
    return this.file;
  }

  /** Closes the current part (creating an empty one if none is open) and queues its load. */
  private async seal(): Promise<void> {
    const file = this.file ?? (await this.openPart());
    await file.close();
    this.file = null;
    const path = this.path;
    const bytes = this.bytes;
    this.bytes = 0;
    const first = this.parts++ === 0;
    this.loading = this.loading.then(async () => {
      try {
        if (this.failure !== null || this.destroyed) return;
        await stageFile(this.db, path, bytes, first, this.nowEpoch);
      } catch (err) {
        this.failure = new StagingError(err);
      } finally {
        await rm(path, { force: true });
      }
    });
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
