import { diskSpace, type DiskSpace } from '../shared/disk-space.js';
import { formatBytes } from '../shared/format-bytes.js';
import type { PullerStatus } from '../shared/status.js';
import { exitStatusOf, messageOf, specOf } from '../shared/error-registry.js';
import { errorMessage } from '../shared/errors.js';
import { UpstreamError } from './upstream-error.js';

/**
 * Errors after which this process must not tick again. DuckDB answers a failed write to its file
 * (a checkpoint on a full disk) with a FATAL error and from then on refuses every statement with
 * "database has been invalidated ... must be restarted": only a new process (a new DuckDB instance)
 * recovers. A full, read-only or failing disk is treated the same way wherever the error came from
 * (DuckDB, the `cp` of a publish, the staged payload), so the puller ends, the supervisor restarts
 * it with backoff, and a restart opens the working database afresh.
 *
 * `cause` says which, for the log line, status.json and the exit:
 * - `disk-full`: ENOSPC / EDQUOT ("No space left on device", "Disk quota exceeded");
 * - `read-only`: EROFS;
 * - `io`: EIO, or DuckDB's I/O error on the working database file (or its WAL);
 * - `invalidated`: DuckDB's FATAL error / invalidated database, whatever its first cause.
 */
export type FatalCause = 'disk-full' | 'read-only' | 'io' | 'invalidated';

/** The exit code of a `serve-puller` ended by a fatal storage error (the registry's for fatal_storage: EX_TEMPFAIL, retry later). */
export const FATAL_EXIT_CODE = exitStatusOf('fatal_storage');

const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);
const DISK_FULL_TEXT = /No space left on device|Disk quota exceeded|\bENOSPC\b|\bEDQUOT\b/i;
const READ_ONLY_TEXT = /Read-only file system|\bEROFS\b/i;
const IO_TEXT = /Input\/output error|\bEIO\b/i;
const INVALIDATED_TEXT = /database has been invalidated|\bFATAL Error:/;
/** DuckDB's own error class for a failed read or write of a file ("IO Error: Could not write file ..."). */
const DUCKDB_IO_ERROR = /\bIO Error\b/i;

/** The errno code of `err` or of an error it wraps (`cause`), if any. */
function codesOf(err: unknown): string[] {
  const codes: string[] = [];
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    e = (e as { cause?: unknown }).cause;
  }
  return codes;
}

/**
 * The fatal cause of `err`, or null for an error the next tick may not repeat (upstream, a bad
 * payload, a view's SQL). `workDbPath`: an I/O error is fatal only when it names the working
 * database (or its WAL); one on another file (a staged payload part gone) fails just the tick.
 * The disk's condition wins over DuckDB's FATAL wrapper: "invalidated ... No space left" is a full
 * disk, which is what a person has to act on.
 */
export function fatalCause(err: unknown, workDbPath: string): FatalCause | null {
  const codes = codesOf(err);
  // An upstream error's text quotes what upstream sent ("500: No space left on device" is its
  // disk, not ours): only an errno in its causes (the staged body's write) counts.
  const text = err instanceof UpstreamError ? '' : errorMessage(err);
  if (codes.some((c) => DISK_FULL_CODES.has(c)) || DISK_FULL_TEXT.test(text)) return 'disk-full';
  if (codes.includes('EROFS') || READ_ONLY_TEXT.test(text)) return 'read-only';
  if (codes.includes('EIO') || IO_TEXT.test(text)) return 'io';
  if (INVALIDATED_TEXT.test(text)) return 'invalidated';
  if (DUCKDB_IO_ERROR.test(text) && text.includes(workDbPath)) return 'io';
  return null;
}

/** True for the causes that are the disk's condition, not the working file's: moving the file aside would not help. */
export function isDiskCondition(cause: FatalCause | null): boolean {
  return cause === 'disk-full' || cause === 'read-only';
}

/** How every fatal error's sentence begins (the registry's template up to its first hole). */
export const FATAL_PREFIX = specOf('fatal_storage').message.split('{')[0] ?? '';

/** What a person reads about a fatal error: the cause in words, where, the free space, and DuckDB's own text. */
export function fatalSentence(cause: FatalCause, home: string, space: DiskSpace | null, err: unknown): string {
  const free = space ? `, ${formatBytes(space.freeBytes)} free` : '';
  const what =
    cause === 'disk-full'
      ? `no space left on device at ${home}${free}`
      : cause === 'read-only'
        ? `the filesystem of ${home} is read-only${free}`
        : cause === 'io'
          ? `an I/O error on the working database in ${home}${free}`
          : `the working database was invalidated by an earlier fatal error${free}`;
  return messageOf('fatal_storage', { what, cause: errorMessage(err) });
}

/** A tick's error, if fatal: its cause, the home's free space now, and the sentence for the log and status.json. */
export async function fatalFailure(
  err: unknown,
  workDbPath: string,
  home: string,
): Promise<{ cause: FatalCause; space: DiskSpace | null; error: string } | null> {
  const cause = fatalCause(err, workDbPath);
  if (!cause) return null;
  const space = await diskSpace(home);
  return { cause, space, error: fatalSentence(cause, home, space, err) };
}

/**
 * What a puller restarted after a fatal storage error carries from the status of the one that
 * ended: the failure and its count, so a puller that keeps failing and being restarted turns
 * `failing` after FAILING_AFTER_FAILED_TICKS like one that keeps running. Any other ending starts
 * afresh, as before. (A status without last_error_code, from before the registry, is told by its
 * sentence.)
 */
export function afterFatal(previous: PullerStatus | null): Partial<PullerStatus> {
  if (previous?.last_tick_outcome !== 'failed') return {};
  const fatal = previous.last_error_code ? previous.last_error_code === 'fatal_storage' : previous.last_error?.startsWith(FATAL_PREFIX) === true;
  if (!fatal) return {};
  const { last_tick_finished_at, last_tick_outcome, last_error, last_error_at, consecutive_failures } = previous;
  return { last_tick_finished_at, last_tick_outcome, last_error, last_error_code: 'fatal_storage', last_error_at, consecutive_failures };
}
