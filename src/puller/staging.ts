import { open, rm, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { errorMessage, LatticeError } from '../shared/errors.js';
import { sqlLiteral } from '../shared/snapshot.js';
import type { WorkDb } from './work-db.js';

/** How upstream's session object is read; a value of the wrong type becomes NULL, then validation decides. */
const SESSION_TYPE = `STRUCT(
  id BIGINT, session_uuid VARCHAR, cwd VARCHAR, started_at BIGINT, ended_at BIGINT,
  message_count BIGINT, user_message_count BIGINT, assistant_message_count BIGINT,
  last_prompt VARCHAR, source_file VARCHAR, duration_ms BIGINT,
  input_tokens BIGINT, output_tokens BIGINT, cache_read_tokens BIGINT, cache_creation_tokens BIGINT,
  parent_uuid VARCHAR, request_id VARCHAR, message_id VARCHAR, is_sidechain_count BIGINT,
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

/**
 * The rows of one staging file (`{"d":<digest>,"e":<element>}` per line), validated, with the
 * count strings parsed: DuckDB reads the lines in parallel, and nothing after reads the JSON again.
 */
function stagedRows(path: string, bytes: number): string {
  // A line cannot be longer than its file. DuckDB's reader claims twice this per thread from the
  // memory limit, so the old fixed 256 MiB cost 512 MiB a thread however small the payload.
  const maxObject = Math.max(1 << 20, bytes + 1);
  const missingRequired = REQUIRED.map((f) => `session.${f} IS NULL`).join(' OR ');
  return `
    SELECT digest,
           session.*,
           repos,
           CASE WHEN session IS NULL THEN 'not a session object'
                WHEN ${missingRequired} THEN 'a required field is missing or has the wrong type'
           END AS problem,
           TRY_CAST(CASE WHEN json_valid(session.tool_call_counts_json) THEN session.tool_call_counts_json END::JSON
                    AS MAP(VARCHAR, STRUCT(calls BIGINT, errors BIGINT))) AS tool_map,
           TRY_CAST(CASE WHEN json_valid(session.stop_reason_counts_json) THEN session.stop_reason_counts_json END::JSON
                    AS MAP(VARCHAR, BIGINT)) AS stop_map
    FROM (SELECT d AS digest, e.session AS session, e.repos AS repos
          FROM read_json(${sqlLiteral(path)},
                         format = 'newline_delimited',
                         ignore_errors = true,
                         maximum_object_size = ${maxObject},
                         columns = {d: 'VARCHAR', e: '${ELEMENT_TYPE}'}))`;
}

/** Adds one staging file of `bytes` bytes to `temp.staging` (the first one creates it afresh). */
export async function stageFile(db: WorkDb, path: string, bytes: number, first: boolean): Promise<void> {
  await db.run(`${first ? 'CREATE OR REPLACE TEMP TABLE staging AS' : 'INSERT INTO staging'} ${stagedRows(path, bytes)}`);
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
    super('staging', `DuckDB could not stage the downloaded sessions: ${errorMessage(cause)}`, { cause });
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
    last
      .then(() => this.loading)
      .then(() => done(this.failure === null ? null : asError(this.failure)), done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.settled().then(() => done(err), () => done(err));
  }

  /**
   * Resolves once nothing of this sink runs or remains: the part in flight loaded or failed, the
   * part files removed. A retry must wait for it, or two sinks would stage at once.
   */
  settled(): Promise<void> {
    this.cleanedUp ??= (async () => {
      await this.takeFile()?.close().catch(() => undefined);
      await this.loading;
      // A write in flight when this began may have opened one more part: close it too.
      await this.takeFile()?.close().catch(() => undefined);
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
        await stageFile(this.db, path, bytes, first);
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
