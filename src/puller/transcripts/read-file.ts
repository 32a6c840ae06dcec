import { closeSync, fstatSync, openSync } from 'node:fs';
import { fsWarning } from './discover.js';
import { planRead, type FileState } from './file-state.js';
import { FileRowsBuilder, type FileRows } from './file-rows.js';
import { scanLines, type Pacer, type ScanPosition } from './line-scanner.js';
import { messageKey, parseLine } from './parse-line.js';
import type { SkippedLines } from './report.js';

const FROM_START: ScanPosition = { offset: 0, skipping: false, skippingUsage: false };

/** What reading one transcript brought: its new state and responses, or why it could not be read (a warning). */
export type FileRead = { state: FileState; bytesRead: number; skipped: SkippedLines; rows: FileRows } | { warning: string };

/**
 * Reads what is new in one file (from where `known` left it) and parses its responses. Runs on
 * the main thread (with `pacer`) or in a parse worker (without: nothing else waits on its loop).
 */
export async function readTranscriptFile(
  path: string,
  known: FileState | undefined,
  buf: Buffer,
  pacer: Pacer | null,
  signal?: AbortSignal,
): Promise<FileRead> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : null;
    return { warning: code === 'ENOENT' ? `transcript vanished before it was read: ${path}` : fsWarning('transcript unreadable:', path, err) };
  }
  try {
    // What is open now decides: the file may have been replaced since the walk saw it.
    const s = fstatSync(fd, { bigint: true });
    const now = { dev: String(s.dev), ino: String(s.ino), size: Number(s.size), mtimeNs: String(s.mtimeNs) };
    const plan = planRead(now, known);
    const from =
      plan.kind === 'append'
        ? plan.from
        : plan.kind === 'reread'
          ? FROM_START
          : { offset: known?.offset ?? 0, skipping: known?.skipping ?? false, skippingUsage: known?.skippingUsage ?? false };
    let malformed = 0;
    const rows = new FileRowsBuilder();
    const scan = await scanLines(
      fd,
      now.size,
      from,
      buf,
      (b, start, end, offset) => {
        const parsed = parseLine(b.toString('utf8', start, end));
        if (parsed === null) return;
        if (parsed === 'malformed') malformed++;
        else rows.add(messageKey(parsed, path, offset), parsed);
      },
      pacer,
      signal,
    );
    const restarted = plan.kind === 'reread';
    const state: FileState = {
      path,
      ...now,
      offset: scan.offset,
      skipping: scan.skipping,
      skippingUsage: scan.skippingUsage,
      malformed: (restarted ? 0 : (known?.malformed ?? 0)) + malformed,
      oversized: (restarted ? 0 : (known?.oversized ?? 0)) + scan.oversized,
    };
    return { state, bytesRead: scan.bytesRead, skipped: { file: path, malformed, oversized: scan.oversized }, rows: rows.finish() };
  } catch (err) {
    if (signal?.aborted) throw err;
    return { warning: fsWarning('transcript unreadable:', path, err) };
  } finally {
    closeSync(fd);
  }
}
