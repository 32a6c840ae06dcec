import { z } from 'zod';
import { EffectiveDuckDbSchema } from './duckdb-settings.js';
import { readJsonDocument } from './json-document.js';

export const isoTime = z.string().describe('ISO-8601 UTC');

/** A payload the shrink guard is holding back (src/puller/shrink-guard.ts), as status.json reports it. */
const HeldPayloadSchema = z.object({
  reasons: z.array(z.string()).describe('why it is held back, one sentence each'),
  sessions: z.number().int().describe('valid sessions in the held payload'),
  scan_version: z.number().int().nullable().describe("the held payload's scan_version"),
  loaded_sessions: z.number().int().describe('sessions loaded now (what readers keep seeing)'),
  loaded_scan_version: z.number().int().nullable(),
  seen_ticks: z.number().int().describe('consecutive pulls this very payload (by sha256) has come on'),
  confirm_ticks: z.number().int().describe('consecutive pulls after which it is loaded (SESSION_LATTICE_SHRINK_CONFIRM_TICKS)'),
  first_seen_at: isoTime,
  fingerprint: z.string().describe('sha256 of the held payload'),
});
export type HeldPayload = z.infer<typeof HeldPayloadSchema>;

/** What repo-recall's stage of a tick came to (src/puller/sources/repo-recall.ts). */
export const RECALL_OUTCOMES = ['not-modified', 'identical', 'loaded', 'held', 'failed'] as const;
/** What the transcripts' stage of a tick came to (src/puller/sources/transcripts.ts). */
export const TRANSCRIPTS_OUTCOMES = ['off', 'read', 'failed'] as const;

/** How one source has been doing: its last outcome and its own run of failures. */
const SourceHealthSchema = {
  last_error: z.string().nullable().describe("the source's last failure; null once it succeeds again"),
  last_error_at: isoTime.nullable(),
  consecutive_failures: z.number().int().describe('ticks in a row this source failed (the tick may have gone on with the other)'),
};

const RepoRecallSectionSchema = z.object({
  url: z.string(),
  outcome: z.enum(RECALL_OUTCOMES).nullable().describe("the last tick's: a 304, an identical payload, a load, held back, or failed"),
  ...SourceHealthSchema,
});
export type RepoRecallSection = z.infer<typeof RepoRecallSectionSchema>;

const SkippedFileSchema = z.object({ file: z.string(), malformed: z.number().int(), oversized: z.number().int() });

const TranscriptsSectionSchema = z.object({
  outcome: z.enum(TRANSCRIPTS_OUTCOMES).describe("the last tick's; off: SESSION_LATTICE_TRANSCRIPTS=off"),
  directories: z.array(z.object({ path: z.string(), readable: z.boolean(), files: z.number().int() })),
  files: z.number().int().describe('transcript files known'),
  messages: z.number().int().describe('responses in base.messages'),
  added: z.number().int().describe('responses the last tick added'),
  updated: z.number().int().describe('responses whose kept line the last tick changed'),
  skipped: z.object({
    malformed: z.number().int().describe('lines skipped as malformed in the files known, each file counted since it was last read from its start'),
    oversized: z.number().int().describe('lines skipped as longer than the line limit, likewise'),
    worst: z.array(SkippedFileSchema).describe('the files with the most skipped lines, most first (at most 5)'),
  }),
  warnings: z.array(z.string()).describe("the last tick's: unreadable files or directories, symlink loops, files gone mid-read"),
  ...SourceHealthSchema,
});
export type TranscriptsSection = z.infer<typeof TranscriptsSectionSchema>;

/**
 * The puller's status document (`puller/status.json`). A failed tick publishes no snapshot, so
 * health lives here too; the puller replaces the file atomically, the reads server and
 * `session-lattice status` only read it, validated by this schema.
 */
export const PullerStatusSchema = z.object({
  pid: z.number().int(),
  version: z.string(),
  started_at: isoTime,
  refresh_interval_seconds: z.number(),
  state: z.enum(['starting', 'idle', 'pulling', 'stopped']),
  last_tick_started_at: isoTime.nullable(),
  last_tick_finished_at: isoTime.nullable(),
  last_tick_outcome: z
    .enum(['published', 'unchanged', 'held', 'failed'])
    .nullable()
    .describe('what the last finished tick did; held: the shrink guard held back what upstream sent'),
  last_success_at: isoTime.nullable(),
  last_error: z.string().nullable(),
  // A string, not the registry's enum: a newer puller's new code must not make this file unreadable.
  // Absent from the status of a puller older than the registry: read as unknown.
  last_error_code: z.string().nullish().describe("last_error's code in the error registry (docs/errors.md); null before the first failure"),
  last_error_at: isoTime.nullable(),
  consecutive_failures: z.number().int(),
  next_tick_due_at: isoTime.nullable(),
  generation: z.number().int().nullable(),
  scan_version: z.number().int().nullable(),
  rejected_rows: z.number().int().nullable(),
  view_errors: z.record(z.string(), z.string()).describe('views whose last materialization failed, with the error'),
  // Absent from the status of a puller older than the guard: read as none held.
  held_payload: HeldPayloadSchema.nullable().default(null).describe('the payload the shrink guard holds back; null when none is'),
  // Absent from the status of a puller older than SESSION_LATTICE_MEMORY_LIMIT / _THREADS.
  duckdb: EffectiveDuckDbSchema.optional().describe("the working database's DuckDB memory_limit and threads, read back with current_setting() at open"),
  // Per source (absent from the status of a puller older than the transcripts source: read as null).
  repo_recall: RepoRecallSectionSchema.nullish().describe('repo-recall: its last outcome and its own failures'),
  transcripts: TranscriptsSectionSchema.nullish().describe("Claude Code's transcripts: what was read, and its own failures; null before the first tick"),
});
export type PullerStatus = z.infer<typeof PullerStatusSchema>;

/** Reads status.json; null when there is none yet (no puller has run on this home). */
export async function readPullerStatus(path: string): Promise<PullerStatus | null> {
  return readJsonDocument(path, PullerStatusSchema, 'a puller status document');
}

/** True when the process that wrote the status is still running. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The process that wrote the status is alive and did not record a clean stop. */
export function pullerRunning(status: PullerStatus, alive: (pid: number) => boolean = isProcessAlive): boolean {
  return status.state !== 'stopped' && alive(status.pid);
}
