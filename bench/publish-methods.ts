import { copyFile, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DIGESTS_TABLE } from '../src/puller/element-index.js';
import { HELD_TABLE } from '../src/puller/held-payload.js';
import { publishGeneration } from '../src/puller/publish.js';
import type { WorkDb } from '../src/puller/work-db.js';
import { openWorkDb } from '../src/puller/work-schema.js';
import { writtenBytes } from '../src/puller/write-bytes.js';
import { homePaths, type HomePaths } from '../src/shared/paths.js';
import { META_SCHEMA } from '../src/shared/snapshot.js';
import { median } from './stats.js';

export interface PublishSample {
  ms: number;
  writeBytes: number;
  fileBytes: number;
}

export interface PublishComparison {
  /** What the puller does: checkpoint, a `cp` child copies the file, the copy loses the bookkeeping. */
  fileCopy: PublishSample[];
  /** What it did before: ATTACH a new file and COPY FROM DATABASE into it. */
  copyFromDatabase: PublishSample[];
}

/** The earlier method, kept here only to be measured against: the same steps as publish.ts had. */
async function publishByCopyFromDatabase(db: WorkDb, paths: HomePaths, generation: number): Promise<void> {
  const staging = join(paths.home, `.bench-copy-from-database-${generation}.tmp`);
  await rm(staging, { force: true });
  await db.run(`ATTACH '${staging}' AS snap`);
  await db.run(`COPY FROM DATABASE "${db.catalogName}" TO snap`);
  for (const table of [HELD_TABLE, DIGESTS_TABLE]) await db.run(`DROP TABLE IF EXISTS snap.${table}`);
  await db.run(`UPDATE snap.${META_SCHEMA}.meta SET generation = ?, published_at = now()`, [generation]);
  await db.run('CHECKPOINT snap');
  await db.run('DETACH snap');
  const handle = await open(staging, 'r');
  await handle.sync();
  await handle.close();
  await rename(staging, paths.published);
}

async function sample(publish: () => Promise<void>, published: string): Promise<PublishSample> {
  const w0 = await writtenBytes();
  const t0 = performance.now();
  await publish();
  const ms = performance.now() - t0;
  const w1 = await writtenBytes();
  if (w0 === null || w1 === null) throw new Error('this system does not report bytes written (/proc/self/io)');
  return { ms, writeBytes: w1 - w0, fileBytes: (await stat(published)).size };
}

/**
 * Both ways of publishing the working database `workFile` left by a real pull (a copy of it, in
 * `dir`), `rounds` times each, interleaved so that both see the same machine.
 */
export async function comparePublishMethods(workFile: string, dir: string, rounds: number): Promise<PublishComparison> {
  const home = join(dir, 'publish-home');
  const paths = homePaths(home);
  await mkdir(paths.pullerDir, { recursive: true });
  await copyFile(workFile, paths.workDb);
  const db = await openWorkDb(paths.workDb, home);
  const out: PublishComparison = { fileCopy: [], copyFromDatabase: [] };
  try {
    for (let round = 1; round <= rounds; round++) {
      out.copyFromDatabase.push(await sample(() => publishByCopyFromDatabase(db, paths, 2 * round), paths.published));
      out.fileCopy.push(await sample(async () => void (await publishGeneration(db, paths, 2 * round + 1)), paths.published));
    }
  } finally {
    db.close();
  }
  return out;
}

/** One row of the comparison table: medians, with the ratio of time and of bytes written to the method the puller uses. */
export function publishRow(name: string, samples: PublishSample[], against: PublishSample[]): string {
  const ms = median(
    samples.map((s) => s.ms),
    name,
  );
  const written = median(
    samples.map((s) => s.writeBytes),
    name,
  );
  const file = median(
    samples.map((s) => s.fileBytes),
    name,
  );
  const baseMs = median(
    against.map((s) => s.ms),
    'the file copy',
  );
  const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
  return `| ${name} | ${(ms / 1000).toFixed(2)} s | ${(ms / baseMs).toFixed(1)}x | ${mb(written)} | ${mb(file)} |`;
}
