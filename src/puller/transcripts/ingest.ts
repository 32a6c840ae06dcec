import { recordMessagesLoaded } from '../state.js';
import type { WorkDb } from '../work-db.js';
import { discoverTranscripts } from './discover.js';
import { applyFileStates, forgetKnownFiles, knownFiles, planRead, writeFileStates, type FileState } from './file-state.js';
import { Pacer, scanBuffer } from './line-scanner.js';
import { countMessages, dropStaging, mergeStaged, MessageStager } from './messages.js';
import { readTranscriptFile } from './read-file.js';
import type { TranscriptsReport } from './report.js';

export interface IngestOptions {
  /** The projects directories (resolveTranscriptDirectories). */
  directories: readonly string[];
  /** Stops the ingest between reads: it throws the signal's reason and commits nothing. */
  signal?: AbortSignal;
  /** Runs between the walk and the reads (tests: a transcript that vanishes in between). */
  afterDiscovery?: () => void | Promise<void>;
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
    const buf = scanBuffer();
    const pacer = new Pacer();
    try {
      for (const [seq, file] of toRead.entries()) {
        const read = await readTranscriptFile(file.path, known.get(file.path), buf, pacer, signal);
        if ('warning' in read) {
          warnings.push(read.warning);
          continue;
        }
        stager.addFile(seq, file.path, read.rows);
        report.filesRead++;
        report.bytesRead += read.bytesRead;
        states.push(read.state);
        if (read.skipped.malformed > 0 || read.skipped.oversized > 0) report.skipped.push(read.skipped);
      }
    } catch (err) {
      stager.abandon();
      throw err;
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
