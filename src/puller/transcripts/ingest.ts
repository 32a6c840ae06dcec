import { closeSync, fstatSync, openSync } from 'node:fs';
import { recordMessagesLoaded } from '../state.js';
import type { WorkDb } from '../work-db.js';
import { discoverTranscripts, fsWarning, type FoundFile } from './discover.js';
import { applyFileStates, forgetKnownFiles, knownFiles, planRead, writeFileStates, type FileState } from './file-state.js';
import { Pacer, scanBuffer, scanLines, type ScanPosition } from './line-scanner.js';
import { countMessages, dropStaging, mergeStaged, MessageStager } from './messages.js';
import { messageKey, parseLine } from './parse-line.js';
import type { SkippedLines, TranscriptsReport } from './report.js';

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

const FROM_START: ScanPosition = { offset: 0, skipping: false, skippingUsage: false };

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
      for (const file of toRead) {
        const read = await readFile(file, known.get(file.path), buf, stager, pacer, signal);
        if ('warning' in read) {
          warnings.push(read.warning);
          continue;
        }
        report.filesRead++;
        report.bytesRead += read.bytesRead;
        states.push(read.state);
        if (read.skipped.malformed > 0 || read.skipped.oversized > 0) report.skipped.push(read.skipped);
      }
    } finally {
      stager.finish();
    }
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

type FileRead = { state: FileState; bytesRead: number; skipped: SkippedLines } | { warning: string };

/** Reads what is new in one file into the stager; a file that cannot be read is a warning. */
async function readFile(file: FoundFile, known: FileState | undefined, buf: Buffer, stager: MessageStager, pacer: Pacer, signal?: AbortSignal): Promise<FileRead> {
  let fd: number;
  try {
    fd = openSync(file.path, 'r');
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : null;
    return { warning: code === 'ENOENT' ? `transcript vanished before it was read: ${file.path}` : fsWarning('transcript unreadable:', file.path, err) };
  }
  try {
    // What is open now decides: the file may have been replaced since the walk saw it.
    const s = fstatSync(fd, { bigint: true });
    const now = { dev: String(s.dev), ino: String(s.ino), size: Number(s.size), mtimeNs: String(s.mtimeNs) };
    const plan = planRead(now, known);
    const from = plan.kind === 'append' ? plan.from : plan.kind === 'reread' ? FROM_START : { offset: known?.offset ?? 0, skipping: known?.skipping ?? false, skippingUsage: known?.skippingUsage ?? false };
    let malformed = 0;
    const scan = await scanLines(
      fd,
      now.size,
      from,
      buf,
      (b, start, end, offset) => {
        const parsed = parseLine(b.toString('utf8', start, end));
        if (parsed === null) return;
        if (parsed === 'malformed') malformed++;
        else stager.add(messageKey(parsed, file.path, offset), parsed, file.path);
      },
      pacer,
      signal,
    );
    const restarted = plan.kind === 'reread';
    const state: FileState = {
      path: file.path,
      ...now,
      offset: scan.offset,
      skipping: scan.skipping,
      skippingUsage: scan.skippingUsage,
      malformed: (restarted ? 0 : (known?.malformed ?? 0)) + malformed,
      oversized: (restarted ? 0 : (known?.oversized ?? 0)) + scan.oversized,
    };
    return { state, bytesRead: scan.bytesRead, skipped: { file: file.path, malformed, oversized: scan.oversized } };
  } catch (err) {
    if (signal?.aborted) throw err;
    return { warning: fsWarning('transcript unreadable:', file.path, err) };
  } finally {
    closeSync(fd);
  }
}
