import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isStagingFile, type HomePaths } from '../shared/paths.js';

/**
 * Removes what a killed puller can leave behind: half-built generations beside the published
 * path and the staged payload. Only call while holding the working database's lock, so no other
 * puller can be building one of these right now.
 */
export async function removeLeftovers(paths: HomePaths): Promise<string[]> {
  const removed: string[] = [];
  let names: string[] = [];
  try {
    names = await readdir(paths.home);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const name of names) {
    if (!isStagingFile(name)) continue;
    await rm(join(paths.home, name), { force: true });
    removed.push(name);
  }
  for (const name of await readdir(paths.pullerDir).catch(() => [] as string[])) {
    // status.json.<pid>.tmp, metrics.json.<pid>.tmp: a write cut short by a kill.
    if (!/^(status|metrics)\.json\.\d+\.tmp$/.test(name)) continue;
    await rm(join(paths.pullerDir, name), { force: true });
    removed.push(name);
  }
  for (const name of await readdir(paths.pullerDir).catch(() => [] as string[])) {
    // The staged payload's parts (incoming.<n>.ndjson), and incoming.ndjson of an older puller.
    if (!/^incoming(\.\d+)?\.ndjson$/.test(name)) continue;
    await rm(join(paths.pullerDir, name), { force: true });
    removed.push(join(paths.pullerDir, name));
  }
  return removed;
}
