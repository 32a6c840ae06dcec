import type { DestinationStream } from 'pino';
import type { Config } from '../shared/config.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { BatchedWriter } from './batched-writer.js';
import { paintFor, type ColourStream, type Paint } from './colour.js';
import { formatCount, formatDuration } from './format.js';

/**
 * Logs for machines, words for people. The daemons always log pino JSON lines (what services,
 * log shippers and the tests read); in a terminal the same lines are rendered as one readable
 * sentence each, so the JSON stays the single source and the words cannot drift from it.
 */

type Entry = Record<string, unknown>;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** `0.3 s`, `4 s`, `2 min`: a wait as a person reads it. */
export function shortDuration(seconds: number): string {
  if (seconds < 10) return `${seconds.toFixed(1).replace(/\.0$/, '')} s`;
  return formatDuration(seconds);
}

function clock(time: unknown): string {
  const d = new Date(num(time) ?? Date.now());
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

function tickSentence(e: Entry): string {
  if (e.tick === 'failed') {
    const next = num(e.next_try_in_seconds);
    const when = next === null ? '' : ` Next try in ${shortDuration(next)}${e.probing_upstream ? ', or as soon as repo-recall accepts connections' : ''}.`;
    return `pull failed: ${str(e.error) ?? 'unknown error'}.${when}`;
  }
  const took = num(e.duration_ms);
  const duration = took === null ? '' : ` in ${shortDuration(took / 1000)}`;
  const refreshed = num(e.views_materialized) ?? 0;
  const failed = Array.isArray(e.views_failed) && e.views_failed.length > 0 ? `, ${e.views_failed.length} failed (${e.views_failed.join(', ')})` : '';
  const views = `${refreshed} view${refreshed === 1 ? '' : 's'} refreshed${failed}`;
  if (e.upstream === 'loaded') {
    const rejected = num(e.rejected) ? ` (${formatCount(num(e.rejected))} rejected)` : '';
    const what = `${formatCount(num(e.sessions) ?? 0)} sessions from scan ${String(e.scan_version)}${rejected}, ${views}`;
    return e.outcome === 'published' ? `published generation ${String(e.generation)}: ${what}${duration}` : `loaded ${what}${duration}`;
  }
  const upstream =
    e.upstream === 'held'
      ? 'upstream payload held back by the shrink guard'
      : e.upstream === 'identical'
        ? 'unchanged (identical payload)'
        : 'no change upstream';
  if (e.outcome === 'published') return `published generation ${String(e.generation)}: ${upstream}, ${views}${duration}`;
  return `${upstream}; generation ${String(e.generation)} is current`;
}

const list = (v: unknown): string => (Array.isArray(v) ? v.join('; ') : String(v));

/** A retry of repo-recall in words: the daemon's log line and `pull`'s progress line alike. */
export function retryWords(reason: string, attempt: number | string, retries: number | string, delayMs: number): string {
  return `${reason}; retry ${attempt} of ${retries} in ${shortDuration(delayMs / 1000)}`;
}

/** Why a payload the shrink guard would hold back was loaded anyway. */
export function acceptedWhy(by: unknown, seenTicks: unknown): string {
  return by === 'accept-shrink' ? 'as --accept-shrink asked' : `it came on ${String(seenTicks)} consecutive pulls`;
}

/** The sentence of one log entry: known events in words, anything else as its message and fields. */
function sentenceOf(e: Entry): string {
  switch (e.msg) {
    case 'tick':
      return tickSentence(e);
    case 'retrying repo-recall':
      return retryWords(str(e.reason) ?? 'repo-recall failed', String(e.attempt), String(e.retries), num(e.delay_ms) ?? 0);
    case 'started':
      return (
        `pulling ${String(e.repo_recall_url)} every ${shortDuration(num(e.refresh_interval_seconds) ?? 0)} into ${String(e.home)}` +
        (e.duckdb_memory_limit === undefined ? '' : ` (DuckDB: memory limit ${String(e.duckdb_memory_limit)}, ${String(e.duckdb_threads)} threads)`)
      );
    case 'listening': {
      const url = String(e.url);
      const serving = e.generation === null || e.generation === undefined ? 'nothing published yet' : `generation ${String(e.generation)}`;
      return `serving ${url} (${serving}): open ${url}/ in a browser; ${url}/views, ${url}/healthz, and ${url}/mcp for agents`;
    }
    case 'serving generation':
      return `now serving generation ${String(e.generation)} (${String(e.views)} views)`;
    case 'removed leftovers of an earlier puller':
      return `removed what an earlier puller left behind: ${Array.isArray(e.removed) ? e.removed.join(', ') : String(e.removed)}`;
    case 'stopping':
      return `stopping (${String(e.signal ?? 'asked to')})`;
    case 'tick warning':
      return String(e.warning);
    case 'payload held back by the shrink guard':
      return (
        `held back what repo-recall sent (${formatCount(num(e.sessions) ?? 0)} sessions from scan ${String(e.scan_version)}; ` +
        `${formatCount(num(e.loaded_sessions) ?? 0)} loaded from scan ${String(e.loaded_scan_version)}): ${list(e.reasons)}; ` +
        `seen on ${String(e.seen_ticks)} of ${String(e.confirm_ticks)} consecutive pulls, it is loaded if it keeps coming`
      );
    case 'loading a payload the shrink guard would hold back':
      return `loading what repo-recall sent although ${list(e.reasons)} (${acceptedWhy(e.accepted_by, e.seen_ticks)})`;
    default: {
      const skip = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v']);
      const fields = Object.entries(e)
        .filter(([k, v]) => !skip.has(k) && v !== undefined)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
      return [String(e.msg ?? ''), ...fields].join(' ');
    }
  }
}

const WHO: Record<string, string> = { 'session-lattice-puller': 'puller', 'session-lattice-reads': 'reads' };

/** One readable line (no newline) for a pino entry: time, which daemon, the sentence. */
function renderLogLine(e: Entry, p: Paint): string {
  const level = num(e.level) ?? 30;
  const name = str(e.name);
  const who = (name && WHO[name]) ?? name ?? '';
  let text = sentenceOf(e);
  if (level >= 50) text = p.red(text);
  else if (level >= 40) text = p.yellow(text);
  else if (e.msg === 'tick' && e.outcome === 'published') text = p.green(text);
  return `${p.dim(clock(e.time))} ${p.cyan(who.padEnd(6))} ${text}`;
}

/** A pino destination that writes readable lines instead of JSON. */
function readableLogStream(out: NodeJS.WritableStream & ColourStream): DestinationStream {
  const p = paintFor(out);
  return {
    write(line: string): void {
      let entry: Entry;
      try {
        entry = JSON.parse(line) as Entry;
      } catch {
        out.write(line);
        return;
      }
      out.write(`${renderLogLine(entry, p)}\n`);
    },
  };
}

/**
 * JSON lines to stdout, gathered into writes of about 64 KB, at most 100 ms late (batched-writer.ts):
 * at `info` the reads server writes an access line per request, and a write(2) per line cost a fifth
 * of its throughput on a small cached answer. One buffer per process (`serve` has two loggers), so
 * lines keep their order and no two writers share the descriptor. What is buffered is written when
 * the process exits; a SIGKILL, an out-of-memory abort, or the forced exit after the stop deadline
 * (while a write is still under way) can lose the last lines.
 */
let stdoutDestination: DestinationStream | undefined;

function bufferedStdout(): DestinationStream {
  stdoutDestination ??= new BatchedWriter(1);
  return stdoutDestination;
}

/** True when a daemon should write readable lines to `out` rather than JSON. */
function wantsText(format: Config['logFormat'], out: ColourStream): boolean {
  return format === 'text' || (format === 'auto' && out.isTTY === true);
}

/** A daemon's logger: JSON lines for services and pipes, readable lines in a terminal. */
export function daemonLogger(name: 'puller' | 'reads', config: Pick<Config, 'logLevel' | 'logFormat'>, out: NodeJS.WriteStream = process.stdout): Logger {
  return createLogger(`session-lattice-${name}`, config.logLevel, daemonLogDestination(config, out));
}

/**
 * Where a daemon's log lines go: what daemonLogger writes to, and where `serve` relays the JSON
 * lines of its puller process (rendered as words in a terminal like its own).
 */
export function daemonLogDestination(config: Pick<Config, 'logFormat'>, out: NodeJS.WriteStream = process.stdout): DestinationStream {
  return wantsText(config.logFormat, out) ? readableLogStream(out) : out === process.stdout ? bufferedStdout() : out;
}
