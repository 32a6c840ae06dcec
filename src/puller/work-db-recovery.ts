import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errorMessage, PullerLockedError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { isProcessAlive } from '../shared/status.js';
import { fatalCause, isDiskCondition } from './fatal-errors.js';
import { readState } from './state.js';
import type { WorkDb } from './work-db.js';
import { openWorkDb } from './work-schema.js';

/**
 * Opening the working database when it may be broken (garbage, truncated, left unreadable): a
 * file DuckDB refuses is moved aside (`work.duckdb.broken-<time>`, its WAL with it) and a fresh
 * one is made; Puller.open then continues the generation from the published file's, and the next
 * tick, finding nothing loaded, pulls in full. The published file is never touched.
 *
 * Never moved aside:
 * - on a lock conflict (PullerLockedError): another puller holds the file, which is fine;
 * - on a full or read-only disk: the file is not the problem, and a fresh one would not fit
 *   either; the error goes up, the process exits and is restarted later.
 *
 * Moved aside, not deleted: the one copy is what a person (or a bug report) needs to find out
 * what broke it. Only the newest is kept: an older copy is removed when a newer one is made, and
 * every copy on a full disk (removeBrokenCopies), so broken copies never fill the disk.
 *
 * Two pullers starting together on a broken file must not both move it (the second would move the
 * first one's fresh, locked file): the retry and the move run under `puller/recover.lock`, made
 * with O_EXCL and holding the pid; inside it the open is tried again, so a puller that comes second
 * finds the fresh file locked and is refused like any second puller.
 */

const BROKEN_PREFIX = 'work.duckdb.broken-';

export interface OpenedWorkDb {
  db: WorkDb;
  /** Where the broken file went, when it was moved aside. */
  movedAside: string | null;
}

/** openWorkDb, and a read of its bookkeeping: a file can open and still not be readable. */
async function openAndProbe(path: string, home: string, options: Record<string, string>): Promise<WorkDb> {
  const db = await openWorkDb(path, home, options);
  try {
    await readState(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** True when `err` says nothing about the file itself: a lock conflict, a full or read-only disk. */
function notTheFile(err: unknown, path: string): boolean {
  return err instanceof PullerLockedError || isDiskCondition(fatalCause(err, path));
}

export async function openWorkDbRecovering(path: string, home: string, options: Record<string, string>, logger: Logger): Promise<OpenedWorkDb> {
  try {
    return { db: await openAndProbe(path, home, options), movedAside: null };
  } catch (err) {
    if (notTheFile(err, path)) throw err;
    logger.warn({ path, err: errorMessage(err) }, 'the working database cannot be opened; trying again before moving it aside');
  }
  return withRecoveryLock(dirname(path), home, async () => {
    try {
      return { db: await openAndProbe(path, home, options), movedAside: null };
    } catch (err) {
      if (notTheFile(err, path)) throw err;
      const aside = await moveAside(path);
      logger.error(
        { path, moved_to: aside, err: errorMessage(err) },
        'the working database cannot be opened: moved it aside; starting a fresh one (a full pull follows, the generation continues from the published file)',
      );
      return { db: await openAndProbe(path, home, options), movedAside: aside };
    }
  });
}

/** Renames the file and its WAL to `work.duckdb.broken-<time>[.wal]`, after removing older copies. */
async function moveAside(path: string): Promise<string> {
  await removeBrokenCopies(dirname(path));
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const aside = join(dirname(path), `${basename(path)}.broken-${stamp}`);
  await renameIfPresent(path, aside);
  await renameIfPresent(`${path}.wal`, `${aside}.wal`);
  return aside;
}

async function renameIfPresent(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Removes every moved-aside copy in the puller's directory; returns their names. */
export async function removeBrokenCopies(pullerDir: string): Promise<string[]> {
  const names = (await readdir(pullerDir).catch(() => [] as string[])).filter((n) => n.startsWith(BROKEN_PREFIX));
  for (const name of names) await rm(join(pullerDir, name), { force: true });
  return names;
}

/**
 * Runs `body` holding `recover.lock` in the puller's directory. A lock whose pid is alive means
 * another puller is recovering this home right now: refused as a second puller. One whose pid is
 * gone was left by a killed puller and is taken over.
 */
async function withRecoveryLock<T>(pullerDir: string, home: string, body: () => Promise<T>): Promise<T> {
  const lock = join(pullerDir, 'recover.lock');
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lock, 'wx');
      try {
        await handle.writeFile(String(process.pid));
      } finally {
        await handle.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      const holder = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isProcessAlive(holder)) {
        throw new PullerLockedError(`another session-lattice puller (PID ${holder}) is recovering the working database of ${home}`, holder);
      }
      await rm(lock, { force: true });
    }
  }
  try {
    return await body();
  } finally {
    await rm(lock, { force: true });
  }
}
