import type { Paint } from './colour.js';
import { formatCount } from './format.js';
import { shortDuration } from './log-output.js';
import { formatBytes } from '../shared/format-bytes.js';

/**
 * The lines `session-lattice watch` prints: one per event of GET /events, for people (time in the
 * local zone, what happened in words, its figures) or, with --json, the event's JSON for machines.
 * A field a newer puller dropped or an event type this version does not know still prints: as
 * what there is, never as an error.
 */

type Data = Record<string, unknown>;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** HH:MM:SS in the local zone, after the date when it is not the day of `today` (status shows older events). */
function clock(ms: number, today: number = ms): string {
  const d = new Date(ms);
  const time = [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  if (d.toDateString() === new Date(today).toDateString()) return time;
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')} ${time}`;
}

const figures = (...parts: Array<string | null | false>): string => parts.filter((p): p is string => typeof p === 'string' && p !== '').join(' · ');

const generation = (v: unknown): string | null => (num(v) === null ? null : `generation ${num(v)}`);
const sessions = (v: unknown): string | null => (num(v) === null ? null : `${formatCount(num(v))} sessions`);
/** `in 12 ms`, `in 2.3 s`: a tick's time (most take well under a second). */
const took = (ms: unknown): string | null => {
  const n = num(ms);
  if (n === null) return null;
  return `in ${n < 1000 ? `${Math.round(n)} ms` : shortDuration(n / 1000)}`;
};

/** What happened (the words) and its figures, with the colour the words take. */
function describe(type: string, e: Data): { words: string; rest: string; colour: keyof Paint | null } {
  switch (type) {
    case 'generation_published':
      return {
        words: 'published',
        rest: figures(generation(e.generation), sessions(e.sessions), num(e.bytes) !== null && formatBytes(num(e.bytes)!)),
        colour: 'green',
      };
    case 'generation_served':
      return {
        words: 'serving',
        rest: figures(generation(e.generation), str(e.published_at) && `published ${clock(Date.parse(str(e.published_at)!))}`),
        colour: 'cyan',
      };
    case 'tick_started':
      return { words: 'tick started', rest: '', colour: 'dim' };
    case 'tick_finished': {
      const outcome = str(e.outcome) ?? 'finished';
      if (outcome === 'failed') {
        const n = num(e.consecutive_failures) ?? 1;
        return { words: `tick failed${n > 1 ? ` (${n} in a row)` : ''}:`, rest: str(e.error) ?? 'unknown error', colour: 'red' };
      }
      const received = num(e.bytes) ? `${formatBytes(num(e.bytes)!)} received` : null;
      const rest = figures(generation(e.generation), sessions(e.sessions), received, took(e.duration_ms));
      if (outcome === 'held') return { words: 'tick held back', rest: figures('the shrink guard held the payload', rest), colour: 'yellow' };
      return { words: `tick ${outcome}`, rest, colour: outcome === 'published' ? 'green' : 'dim' };
    }
    case 'upstream_error': {
      const retry = e.will_retry === true;
      return {
        words: `upstream error (${str(e.error_class) ?? 'error'}${retry ? ', retrying' : ''}):`,
        rest: str(e.error) ?? '',
        colour: retry ? 'yellow' : 'red',
      };
    }
    case 'view_failed':
      return { words: 'view failed', rest: `${str(e.view) ?? '?'}: ${str(e.error) ?? ''}`, colour: 'red' };
    case 'view_recovered':
      return { words: 'view recovered', rest: str(e.view) ?? '?', colour: 'green' };
    case 'puller_started':
      return {
        words: 'puller started',
        rest: figures(
          str(e.version) && `version ${str(e.version)}`,
          num(e.refresh_interval_seconds) !== null && `every ${shortDuration(num(e.refresh_interval_seconds)!)}`,
          e.generation === null ? 'nothing published yet' : generation(e.generation),
        ),
        colour: 'cyan',
      };
    case 'puller_stopping':
      return { words: 'puller stopping', rest: str(e.reason) ?? '', colour: 'cyan' };
    case 'gap': {
      const after = num(e.after);
      const at = num(e.resumed_at);
      const restarted = after !== null && at !== null && at <= after;
      const why = restarted ? 'the event log started over' : `events after ${after} are no longer in the log`;
      return { words: 'gap', rest: `${why}; resuming at ${at}`, colour: 'yellow' };
    }
    default: {
      const skip = new Set(['id', 'at', 'pid', 'type']);
      const fields = Object.entries(e)
        .filter(([k, v]) => !skip.has(k) && v !== null && v !== undefined)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
      return { words: type.replace(/_/g, ' '), rest: fields.join(' '), colour: null };
    }
  }
}

/** One readable line (no newline) for an event of `type` with JSON `data`, received at `now`. */
export function renderEventLine(type: string, data: string, now: number, paint: Paint): string {
  let e: Data;
  try {
    const parsed: unknown = JSON.parse(data);
    e = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Data) : { data: parsed };
  } catch {
    e = { data };
  }
  const at = str(e.at) === null ? NaN : Date.parse(str(e.at)!);
  const { words, rest, colour } = describe(type, e);
  const shown = colour ? paint[colour](words) : words;
  // `tick failed (3 in a row): <error>` reads as one phrase; `published  generation 12` as two columns.
  const gap = words.endsWith(':') ? ' ' : '  ';
  return `${paint.dim(clock(Number.isNaN(at) ? now : at, now))}  ${shown}${rest === '' ? '' : `${gap}${rest}`}`;
}

/**
 * One JSON line (no newline) for an event: a puller event's own line as it came; an event of the
 * reads server (gap, generation_served), whose data has no `type`, with its type in front.
 */
export function renderEventJson(type: string, data: string): string {
  try {
    const parsed: unknown = JSON.parse(data);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return 'type' in parsed ? JSON.stringify(parsed) : JSON.stringify({ type, ...parsed });
    }
  } catch {
    // not JSON: wrapped below
  }
  return JSON.stringify({ type, data });
}
