import { open, readFile, type FileHandle } from 'node:fs/promises';
import { z } from 'zod';
import { ERROR_CODE_LIST, type ErrorCodeName } from './error-registry.js';
import { isoTime, RECALL_OUTCOMES, TRANSCRIPTS_OUTCOMES } from './status.js';

/**
 * The puller's event log: what it did, one JSON object per line, in `puller/events.jsonl`.
 *
 * - Only the puller writes it, appending whole lines; a reader uses only lines that end in `\n`
 *   (the last one may still be being written).
 * - `id` grows by one per event and keeps growing across restarts (a starting puller continues
 *   from the largest id in the two files), so a reader that saw id N resumes with the events after N.
 * - Before an append would take `events.jsonl` past SESSION_LATTICE_EVENTS_LOG_KB, the puller
 *   renames it to `events.1.jsonl` (replacing the previous one) and starts a new file: the log
 *   never holds more than about twice that, and every event after the oldest one kept is still
 *   there, in order, across the two files.
 *
 * The reads server (GET /events) and `session-lattice watch` only read it. A reader accepts any
 * line with an id, a time and a type (`EventEnvelopeSchema`), so a newer puller's new kinds of
 * events pass through; `PullerEventSchema` is the full, typed list of what this version writes.
 */

const envelope = {
  /** 1, 2, 3, ... across the puller's restarts. */
  id: z.number().int().positive(),
  at: isoTime,
  /** The puller process that wrote it. */
  pid: z.number().int(),
};

/** What any reader needs of an event; everything else passes through untouched. */
const EventEnvelopeSchema = z.looseObject({ ...envelope, type: z.string().min(1) });
export type EventEnvelope = z.infer<typeof EventEnvelopeSchema>;

export const UPSTREAM_ERROR_CLASSES = ['unreachable', 'timeout', 'status', 'body', 'network'] as const;
export const TICK_OUTCOMES = ['published', 'unchanged', 'held', 'failed'] as const;
/** The codes a tick fails with (src/puller/puller.ts; any other registered code may still come). */
export const TICK_ERROR_CODES = [
  'upstream',
  'payload_shape',
  'staging',
  'fatal_storage',
  'tick_failed',
  'interrupted',
] as const satisfies readonly ErrorCodeName[];
/** The phases of a tick, timed separately (the tick's `phases_ms`). */
export const TICK_PHASES = ['fetch', 'load', 'transcripts', 'views', 'publish', 'checkpoint'] as const;

export const PullerEventSchema = z.discriminatedUnion('type', [
  z.object({
    ...envelope,
    type: z.literal('puller_started'),
    version: z.string(),
    refresh_interval_seconds: z.number(),
    /** The generation published when it started; null when none is. */
    generation: z.number().int().nullable(),
  }),
  z.object({ ...envelope, type: z.literal('puller_stopping'), reason: z.string() }),
  z.object({ ...envelope, type: z.literal('tick_started') }),
  z.object({
    ...envelope,
    type: z.literal('tick_finished'),
    outcome: z.enum(TICK_OUTCOMES),
    duration_ms: z.number(),
    /** Time per phase; phases a tick did not reach are absent or 0. */
    phases_ms: z.partialRecord(z.enum(TICK_PHASES), z.number()),
    /** The generation published after the tick (the one already there when nothing new was). */
    generation: z.number().int().nullable(),
    /** Sessions loaded by this tick; null when it loaded none (304, unchanged, held, failed). */
    sessions: z.number().int().nullable(),
    rejected_rows: z.number().int().nullable(),
    /** Payload bytes received from repo-recall (0 for a 304). */
    bytes: z.number().int().nullable(),
    /** A failed tick's error, its code in the error registry, and its class when it came from upstream. */
    error: z.string().nullable(),
    /** Absent from a puller older than the error registry. */
    error_code: z.enum(ERROR_CODE_LIST).nullable().optional(),
    error_class: z.enum(UPSTREAM_ERROR_CLASSES).nullable(),
    consecutive_failures: z.number().int(),
    /**
     * What each source came to (absent from a puller older than the transcripts source, and from
     * a tick that failed before its sources were done). Counts only: never a transcript's text.
     */
    sources: z
      .object({
        repo_recall: z.object({ outcome: z.enum(RECALL_OUTCOMES), error: z.string().nullable() }),
        transcripts: z.object({
          outcome: z.enum(TRANSCRIPTS_OUTCOMES),
          error: z.string().nullable(),
          files: z.number().int(),
          files_read: z.number().int(),
          messages: z.number().int(),
          added: z.number().int(),
          updated: z.number().int(),
          skipped_malformed: z.number().int(),
          skipped_oversized: z.number().int(),
          warnings: z.number().int(),
        }),
      })
      .optional(),
  }),
  z.object({
    ...envelope,
    type: z.literal('generation_published'),
    generation: z.number().int(),
    /** Size of the published file. */
    bytes: z.number().int(),
    sessions: z.number().int(),
    scan_version: z.number().int().nullable(),
  }),
  z.object({ ...envelope, type: z.literal('view_failed'), view: z.string(), error: z.string() }),
  z.object({ ...envelope, type: z.literal('view_recovered'), view: z.string() }),
  z.object({
    ...envelope,
    type: z.literal('upstream_error'),
    error_class: z.enum(UPSTREAM_ERROR_CLASSES),
    error: z.string(),
    /** True when the puller retries within this tick; false when the tick fails with it. */
    will_retry: z.boolean(),
  }),
]);
export type PullerEvent = z.infer<typeof PullerEventSchema>;

/** Distributes Omit over the union, so each event keeps its own fields. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An event as the puller hands it to the log, which adds the id, time and pid. */
export type NewPullerEvent = DistributiveOmit<PullerEvent, 'id' | 'at' | 'pid'>;

/**
 * Parses one line of the log: the event, or null for a line that is not one (torn by a crash,
 * written by something else). A bad line is skipped, never fatal: the log is history, not state.
 */
function parseEventLine(line: string): EventEnvelope | null {
  if (line.trim() === '') return null;
  try {
    const parsed = EventEnvelopeSchema.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** One file's complete lines as events (a torn last line is left for the next read). */
export function parseEventLines(text: string): EventEnvelope[] {
  const end = text.lastIndexOf('\n');
  if (end === -1) return [];
  const out: EventEnvelope[] = [];
  for (const line of text.slice(0, end).split('\n')) {
    const event = parseEventLine(line);
    if (event) out.push(event);
  }
  return out;
}

/**
 * Every event the log holds, oldest first. The current file is read before the rotated one: a
 * rotation in between then repeats events (dropped here by id) instead of losing them.
 */
export async function readEventLog(paths: { events: string; eventsRotated: string }): Promise<EventEnvelope[]> {
  const read = (path: string) =>
    readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    });
  const current = await read(paths.events);
  const rotated = await read(paths.eventsRotated);
  const byId = new Map<number, EventEnvelope>();
  for (const e of [...parseEventLines(rotated), ...parseEventLines(current)]) byId.set(e.id, e);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

/** The offset after the last newline of a file and the last event before it, read backwards. */
/** A log file opened for reading, or null when it does not exist (not written yet, or rotated away). */
export async function openEventLogIfExists(path: string): Promise<FileHandle | null> {
  try {
    return await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export async function endOfEventLog(handle: FileHandle, size: number): Promise<{ offset: number; lastId: number | null }> {
  const chunk = 64 * 1024;
  let offset: number | null = null;
  // `tail` always holds the bytes [start, size) of the file.
  let tail = Buffer.alloc(0);
  for (let start = size; start > 0;) {
    const from = Math.max(0, start - chunk);
    const buf = Buffer.alloc(start - from);
    await handle.read(buf, 0, buf.length, from);
    tail = Buffer.concat([buf, tail]);
    start = from;
    const last = tail.lastIndexOf(0x0a);
    if (last === -1) continue;
    offset ??= start + last + 1;
    // Whole lines only: the first one is cut unless the file starts there.
    const lines = tail.toString('utf8', 0, last + 1).split('\n');
    const found = parseEventLines(lines.slice(start > 0 ? 1 : 0).join('\n')).at(-1);
    if (found) return { offset, lastId: found.id };
  }
  return { offset: offset ?? 0, lastId: null };
}
