import { readdirSync, statSync, type BigIntStats, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { Pacer } from './line-scanner.js';
import type { TranscriptDirectory } from './report.js';

/** A transcript as the walk found it (stat, never opened). */
export interface FoundFile {
  path: string;
  dev: string;
  ino: string;
  size: number;
  mtimeNs: string;
}

export interface Discovery {
  directories: TranscriptDirectory[];
  /** Sorted by path, one per file (a file reachable by two paths is listed once). */
  files: FoundFile[];
  warnings: string[];
}

function errorCode(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return err instanceof Error ? err.name : 'error';
}

/** A warning names the path and the system's error code only: never a line, never a message that could quote one. */
export function fsWarning(what: string, path: string, err: unknown): string {
  return `${what} ${path}: ${errorCode(err)}`;
}

/** Synchronous, like the reads (line-scanner.ts, Pacer): a stat of a cached inode takes microseconds, a thread-pool round trip more. */
function statOrError(path: string): BigIntStats | { error: unknown } {
  try {
    return statSync(path, { bigint: true });
  } catch (error) {
    return { error };
  }
}

/**
 * Every `*.jsonl` under the directories, recursively, read-only and following symlinks: a
 * directory is entered once (by device and inode), so a symlink loop ends the walk of that branch
 * with a warning instead of going round. An unreadable directory or file is a warning too.
 */
export async function discoverTranscripts(roots: readonly string[], signal?: AbortSignal): Promise<Discovery> {
  const warnings: string[] = [];
  const files: FoundFile[] = [];
  const seenFiles = new Set<string>();
  const seenDirs = new Set<string>();
  const directories: TranscriptDirectory[] = [];
  const pacer = new Pacer();

  for (const root of roots) {
    const before = files.length;
    const rootStat = statOrError(root);
    if ('error' in rootStat || !rootStat.isDirectory()) {
      warnings.push(
        'error' in rootStat
          ? fsWarning('transcripts directory unreadable:', root, rootStat.error)
          : `transcripts directory unreadable: ${root}: not a directory`,
      );
      directories.push({ path: root, readable: false, files: 0 });
      continue;
    }
    const readable = await walk(root, rootStat, new Set());
    directories.push({ path: root, readable, files: files.length - before });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { directories, files, warnings };

  /** Walks one directory; false when it could not be listed. `ancestors`: the directories above it, to tell a loop from a second path to a directory. */
  async function walk(dir: string, dirStat: BigIntStats, ancestors: Set<string>): Promise<boolean> {
    await pacer.maybeYield(signal);
    const id = `${dirStat.dev}:${dirStat.ino}`;
    if (ancestors.has(id)) {
      warnings.push(`symlink loop: ${dir} leads back to a directory above it; not followed`);
      return true;
    }
    if (seenDirs.has(id)) return true;
    seenDirs.add(id);
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      warnings.push(fsWarning('transcripts directory unreadable:', dir, err));
      return false;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const below = new Set(ancestors).add(id);
    const subdirs: { path: string; stat: BigIntStats | null }[] = [];
    const candidates: string[] = [];
    const links: string[] = [];
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) subdirs.push({ path, stat: null });
      else if (e.isSymbolicLink()) links.push(path);
      else if (e.isFile() && e.name.endsWith('.jsonl')) candidates.push(path);
    }
    // A symlink is whatever it points at: a directory to walk, a transcript, or nothing (dangling: skipped).
    for (const path of links) {
      const s = statOrError(path);
      if ('error' in s) {
        if (errorCode(s.error) === 'ELOOP') warnings.push(`symlink loop: ${path}; not followed`);
        else if (errorCode(s.error) !== 'ENOENT') warnings.push(fsWarning('transcript path unreadable:', path, s.error));
      } else if (s.isDirectory()) subdirs.push({ path, stat: s });
      else if (s.isFile() && path.endsWith('.jsonl')) candidates.push(path);
    }
    for (const path of candidates) {
      await pacer.maybeYield(signal);
      const s = statOrError(path);
      if ('error' in s) {
        // Gone between the listing and the stat: Claude Code deleted it; its messages stay.
        if (errorCode(s.error) !== 'ENOENT') warnings.push(fsWarning('transcript unreadable:', path, s.error));
        continue;
      }
      if (!s.isFile()) continue;
      const key = `${s.dev}:${s.ino}`;
      if (seenFiles.has(key)) continue;
      seenFiles.add(key);
      files.push({ path, dev: String(s.dev), ino: String(s.ino), size: Number(s.size), mtimeNs: String(s.mtimeNs) });
    }
    for (const sub of subdirs) {
      let s = sub.stat;
      if (s === null) {
        const fresh = statOrError(sub.path);
        if ('error' in fresh) {
          if (errorCode(fresh.error) !== 'ENOENT') warnings.push(fsWarning('transcripts directory unreadable:', sub.path, fresh.error));
          continue;
        }
        s = fresh;
      }
      // A subdirectory that cannot be listed is its own warning; the walk goes on.
      await walk(sub.path, s, below);
    }
    return true;
  }
}
