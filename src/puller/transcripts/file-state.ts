import { META_SCHEMA } from '../../shared/snapshot.js';
import type { WorkDb } from '../work-db.js';
import type { FoundFile } from './discover.js';
import type { ScanPosition } from './line-scanner.js';

/**
 * Per transcript, how far it has been read: the puller's own bookkeeping, like the held payload
 * and the element digests (publishing drops it from the copy: no generation carries it). Keyed by
 * path; device, inode, size and mtime tell an unchanged file (not opened) from an appended one
 * (read from `offset`) and from a truncated or replaced one (read again from 0).
 *
 * The skipped-line counts add up over the reads of the file since it was last read from 0.
 */
export const TRANSCRIPT_FILES_TABLE = `${META_SCHEMA}.transcript_files`;

export const TRANSCRIPT_FILES_DDL = [
  `CREATE TABLE IF NOT EXISTS ${TRANSCRIPT_FILES_TABLE} (
     path VARCHAR NOT NULL,
     -- st_dev, st_ino and st_mtime in nanoseconds, as decimal text (they can pass 2^53)
     dev VARCHAR NOT NULL,
     ino VARCHAR NOT NULL,
     size BIGINT NOT NULL,
     mtime_ns VARCHAR NOT NULL,
     "offset" BIGINT NOT NULL,
     skipping BOOLEAN NOT NULL,
     skipping_usage BOOLEAN NOT NULL,
     malformed BIGINT NOT NULL,
     oversized BIGINT NOT NULL
   )`,
];

export interface FileState extends ScanPosition {
  path: string;
  dev: string;
  ino: string;
  size: number;
  mtimeNs: string;
  malformed: number;
  oversized: number;
}

/** What to do with a file found by the walk, given what is known of it. */
export type ReadPlan = { kind: 'unchanged' } | { kind: 'append'; from: ScanPosition } | { kind: 'reread' };

export function planRead(found: Pick<FoundFile, 'dev' | 'ino' | 'size' | 'mtimeNs'>, known: FileState | undefined): ReadPlan {
  if (!known || known.dev !== found.dev || known.ino !== found.ino) return { kind: 'reread' };
  if (found.size < known.offset) return { kind: 'reread' };
  if (found.size === known.size && found.mtimeNs === known.mtimeNs) return { kind: 'unchanged' };
  return { kind: 'append', from: { offset: known.offset, skipping: known.skipping, skippingUsage: known.skippingUsage } };
}

interface FileRow {
  path: string;
  dev: string;
  ino: string;
  size: number;
  mtime_ns: string;
  offset: number;
  skipping: boolean;
  skipping_usage: boolean;
  malformed: number;
  oversized: number;
}

/**
 * The table, held in memory between ticks (reading 50,000 rows each tick would cost more than
 * the stat calls), per working database. `forget` after a transaction that did not commit.
 */
const cache = new WeakMap<WorkDb, Map<string, FileState>>();

export async function knownFiles(db: WorkDb): Promise<Map<string, FileState>> {
  const held = cache.get(db);
  if (held) return held;
  const rows = await db.rows<FileRow>(
    `SELECT path, dev, ino, size::DOUBLE AS size, mtime_ns, "offset"::DOUBLE AS "offset", skipping, skipping_usage,
            malformed::DOUBLE AS malformed, oversized::DOUBLE AS oversized
     FROM ${TRANSCRIPT_FILES_TABLE}`,
  );
  const map = new Map<string, FileState>();
  for (const r of rows) {
    map.set(r.path, {
      path: r.path,
      dev: r.dev,
      ino: r.ino,
      size: r.size,
      mtimeNs: r.mtime_ns,
      offset: r.offset,
      skipping: r.skipping,
      skippingUsage: r.skipping_usage,
      malformed: r.malformed,
      oversized: r.oversized,
    });
  }
  cache.set(db, map);
  return map;
}

export function forgetKnownFiles(db: WorkDb): void {
  cache.delete(db);
}

/**
 * Writes the states of the files read this tick and drops those of files gone, inside the caller's
 * transaction (with the messages they brought); `applyFileStates` then updates the cache.
 */
export async function writeFileStates(db: WorkDb, changed: readonly FileState[], gone: readonly string[]): Promise<void> {
  if (changed.length === 0 && gone.length === 0) return;
  await db.run(`CREATE OR REPLACE TEMP TABLE transcript_files_delta (path VARCHAR, keep BOOLEAN)`);
  const appender = await db.conn.createAppender('transcript_files_delta', 'main', 'temp');
  for (const path of gone) {
    appender.appendVarchar(path);
    appender.appendBoolean(false);
    appender.endRow();
  }
  for (const f of changed) {
    appender.appendVarchar(f.path);
    appender.appendBoolean(true);
    appender.endRow();
  }
  appender.closeSync();
  await db.run(`DELETE FROM ${TRANSCRIPT_FILES_TABLE} WHERE path IN (SELECT path FROM temp.transcript_files_delta)`);
  if (changed.length > 0) {
    const rows = await db.conn.createAppender('transcript_files', META_SCHEMA);
    for (const f of changed) {
      rows.appendVarchar(f.path);
      rows.appendVarchar(f.dev);
      rows.appendVarchar(f.ino);
      rows.appendBigInt(BigInt(f.size));
      rows.appendVarchar(f.mtimeNs);
      rows.appendBigInt(BigInt(f.offset));
      rows.appendBoolean(f.skipping);
      rows.appendBoolean(f.skippingUsage);
      rows.appendBigInt(BigInt(f.malformed));
      rows.appendBigInt(BigInt(f.oversized));
      rows.endRow();
    }
    rows.closeSync();
  }
  await db.run('DROP TABLE IF EXISTS temp.transcript_files_delta');
}

export function applyFileStates(known: Map<string, FileState>, changed: readonly FileState[], gone: readonly string[]): void {
  for (const path of gone) known.delete(path);
  for (const f of changed) known.set(f.path, f);
}
