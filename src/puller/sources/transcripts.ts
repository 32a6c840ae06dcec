import { errorMessage } from '../../shared/errors.js';
import { fatalCause } from '../fatal-errors.js';
import type { PhaseClock } from '../phase-clock.js';
import { TRANSCRIPT_FILES_TABLE } from '../transcripts/file-state.js';
import type { SkippedLines, TranscriptsReport } from '../transcripts/report.js';
import type { WorkDb } from '../work-db.js';

/**
 * The transcripts source as one stage of a tick: read what Claude Code appended to its transcripts
 * into base.messages (src/puller/transcripts/). Like repo-recall's stage it returns what it did and
 * never throws for its own failure; an unreadable directory or file is not even a failure, only a
 * warning in its report. It never removes a message.
 */

/** The reader (src/puller/transcripts/): every `*.jsonl` under the directories, incrementally, into base.messages. */
export type IngestTranscripts = (db: WorkDb, opts: { directories: readonly string[]; signal?: AbortSignal }) => Promise<TranscriptsReport>;

export interface TranscriptsDeps {
  db: WorkDb;
  /**
   * The projects directories to read (resolved at each tick: a Claude Code installed after the
   * puller started is found) and the reader; null when the source is off.
   */
  transcripts: { directories: () => Promise<readonly string[]>; ingest: IngestTranscripts } | null;
  signal?: AbortSignal;
}

/** Lines skipped in the files known now, each counted since the file was last read from its start. */
interface SkippedInAll {
  malformed: number;
  oversized: number;
  /** The files with the most, most first. */
  worst: SkippedLines[];
}

/** How many of the files with skipped lines are named. */
const WORST_FILES = 5;

export type TranscriptsStage =
  { kind: 'off' } | { kind: 'read'; report: TranscriptsReport; skippedInAll: SkippedInAll } | { kind: 'failed'; error: string; cause: unknown };

export async function stageTranscripts(deps: TranscriptsDeps, clock: PhaseClock): Promise<TranscriptsStage> {
  const source = deps.transcripts;
  if (!source) return { kind: 'off' };
  try {
    const directories = await source.directories();
    // The default finds no Claude Code here: no source to read, so a failing repo-recall fails the
    // tick as it did before there were two sources.
    if (directories.length === 0) return { kind: 'off' };
    // A change moves base_version in the reader's own transaction (recordMessagesLoaded): the views
    // come due, and the next publish carries the messages even if this tick's fails.
    const report = await source.ingest(deps.db, { directories, signal: deps.signal });
    return { kind: 'read', report, skippedInAll: await skippedInAll(deps.db) };
  } catch (err) {
    if (deps.signal?.aborted || fatalCause(err, deps.db.path) !== null) throw err;
    return { kind: 'failed', error: `the transcripts could not be read: ${errorMessage(err)}`, cause: err };
  } finally {
    await clock.lap('transcripts');
  }
}

/** From the reader's per-file bookkeeping: true across ticks and restarts, unlike a sum of reports. */
async function skippedInAll(db: WorkDb): Promise<SkippedInAll> {
  const [totals] = await db.rows<{ malformed: number | null; oversized: number | null }>(
    `SELECT sum(malformed)::DOUBLE AS malformed, sum(oversized)::DOUBLE AS oversized FROM ${TRANSCRIPT_FILES_TABLE}`,
  );
  const worst = await db.rows<SkippedLines>(
    `SELECT path AS file, malformed::DOUBLE AS malformed, oversized::DOUBLE AS oversized FROM ${TRANSCRIPT_FILES_TABLE}
     WHERE malformed + oversized > 0 ORDER BY malformed + oversized DESC, path LIMIT ${WORST_FILES}`,
  );
  return { malformed: totals?.malformed ?? 0, oversized: totals?.oversized ?? 0, worst };
}
