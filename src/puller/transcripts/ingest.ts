import { recordMessagesLoaded } from '../state.js';
import type { WorkDb } from '../work-db.js';
import { discoverTranscripts } from './discover.js';
import { applyFileStates, forgetKnownFiles, knownFiles, planRead, writeFileStates, type FileState } from './file-state.js';
import { Pacer, scanBuffer } from './line-scanner.js';
import { countMessages, dropStaging, mergeStaged, MessageStager } from './messages.js';
import { POOL_MIN_BYTES, poolSize, readInWorkers } from './parse-pool.js';
import { readTranscriptFile, type FileRead } from './read-file.js';
import type { SkippedLines, TranscriptsReport } from './report.js';

/** What is kept of a file's read once its rows are staged. */
type FileOutcome = { state: FileState; bytesRead: number; skipped: SkippedLines } | { warning: string };

export interface IngestOptions {
  /** The projects directories (resolveTranscriptDirectories). */
  directories: readonly string[];
  /** Stops the ingest between reads: it throws the signal's reason and commits nothing. */
  signal?: AbortSignal;
  /** Runs between the walk and the reads (tests: a transcript that vanishes in between). */
  afterDiscovery?: () => void | Promise<void>;
}

/** The report of a tick with the source off. */
export function transcriptsOffReport(): TranscriptsReport {
  return { enabled: false, directories: [], files: 0, filesRead: 0, bytesRead: 0, messages: 0, added: 0, updated: 0, skipped: [], warnings: [], changed: false };
}

/**
 * One tick of the transcripts source: finds every transcript under the directories, reads what is
 * new in each (an unchanged file is not opened), and merges the responses into base.messages in
 * one transaction with the files' new positions (and, when messages changed, a new base_version).
 *
 * Throws only when the working database fails (or on `signal`); whatever is wrong with the
 * transcripts themselves is a warning or a skipped-line count in the report.
 */
export async function ingestTranscripts(db: WorkDb, options: IngestOptions): Promise<TranscriptsReport> {
  const { signal } = options;
  const discovery = await discoverTranscripts(options.directories, signal);
  await options.afterDiscovery?.();
  const warnings = [...discovery.warnings];
  const known = await knownFiles(db);
  const present = new Set(discovery.files.map((f) => f.path));
  const gone = [...known.keys()].filter((path) => !present.has(path));
  const toRead = discovery.files.filter((f) => planRead(f, known.get(f.path)).kind !== 'unchanged');

  const report: TranscriptsReport = {
    enabled: true,
    directories: discovery.directories,
    files: discovery.files.length,
    filesRead: 0,
    bytesRead: 0,
    messages: 0,
    added: 0,
    updated: 0,
    skipped: [],
    warnings,
    changed: false,
  };
  if (toRead.length === 0 && gone.length === 0) {
    report.messages = await countMessages(db);
    return report;
  }

  const states: FileState[] = [];
  const stager = await MessageStager.open(db);
  try {
    const reads: FileOutcome[] = [];
    // Staged as each file arrives (the rows are not kept); the report is put together in file order.
    const take = (index: number, read: FileRead): void => {
      if ('rows' in read) {
        stager.addFile(index, read.state.path, read.rows);
        reads[index] = { state: read.state, bytesRead: read.bytesRead, skipped: read.skipped };
      } else reads[index] = read;
    };
    try {
      const tasks = toRead.map((f, index) => ({ index, path: f.path, known: known.get(f.path), size: Math.max(0, f.size - (known.get(f.path)?.offset ?? 0)) }));
      const bytes = tasks.reduce((sum, t) => sum + t.size, 0);
      if (tasks.length > 1 && bytes >= POOL_MIN_BYTES) {
        await readInWorkers(tasks, (r) => take(r.index, r.read), { workers: poolSize(tasks.length), signal });
      } else {
        const buf = scanBuffer();
        const pacer = new Pacer();
        for (const t of tasks) take(t.index, await readTranscriptFile(t.path, t.known, buf, pacer, signal));
      }
    } catch (err) {
      stager.abandon();
      throw err;
    }
    for (const read of reads) {
      if ('warning' in read) {
        warnings.push(read.warning);
        continue;
      }
      report.filesRead++;
      report.bytesRead += read.bytesRead;
      states.push(read.state);
      if (read.skipped.malformed > 0 || read.skipped.oversized > 0) report.skipped.push(read.skipped);
    }
    await stager.finish();
    const counts = await db.transaction(async () => {
      const merged = stager.staged > 0 ? await mergeStaged(db) : { added: 0, updated: 0 };
      await writeFileStates(db, states, gone);
      if (merged.added + merged.updated > 0) await recordMessagesLoaded(db);
      return merged;
    });
    applyFileStates(known, states, gone);
    report.added = counts.added;
    report.updated = counts.updated;
    report.changed = counts.added + counts.updated > 0;
  } catch (err) {
    // The table and the cache may now disagree: the next tick reads the table again.
    forgetKnownFiles(db);
    throw err;
  } finally {
    await dropStaging(db);
  }
  report.messages = await countMessages(db);
  return report;
}
