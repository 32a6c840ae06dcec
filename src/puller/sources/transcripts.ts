import { errorMessage } from '../../shared/errors.js';
import { fatalCause } from '../fatal-errors.js';
import type { PhaseClock } from '../phase-clock.js';
import { recordMessages } from '../state.js';
import type { TranscriptsReport } from '../transcripts/report.js';
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
  /** The projects directories to read; null when the source is off. */
  transcripts: { directories: readonly string[]; ingest: IngestTranscripts } | null;
  signal?: AbortSignal;
}

export type TranscriptsStage =
  | { kind: 'off' }
  | { kind: 'read'; report: TranscriptsReport }
  | { kind: 'failed'; error: string; cause: unknown };

export async function stageTranscripts(deps: TranscriptsDeps, clock: PhaseClock): Promise<TranscriptsStage> {
  const source = deps.transcripts;
  if (!source) return { kind: 'off' };
  try {
    const report = await source.ingest(deps.db, { directories: source.directories, signal: deps.signal });
    // The views come due, and the next publish carries the messages, as after a load of repo-recall's.
    if (report.changed) await recordMessages(deps.db);
    return { kind: 'read', report };
  } catch (err) {
    if (deps.signal?.aborted || fatalCause(err, deps.db.path) !== null) throw err;
    return { kind: 'failed', error: `the transcripts could not be read: ${errorMessage(err)}`, cause: err };
  } finally {
    await clock.lap('transcripts');
  }
}
