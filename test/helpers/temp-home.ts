import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * Temp homes, apart from the process helpers so that the unit tier (test/unit/) can use them
 * without importing anything that spawns. test/helpers/setup.ts removes what a failed test left.
 */

const tempDirs = new Set<string>();

export interface TempHome {
  dir: string;
  cleanup(): Promise<void>;
}

export async function tempHome(prefix = 'lattice-home-'): Promise<TempHome> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return {
    dir,
    cleanup: async () => {
      await rm(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
    },
  };
}

/** Removes every temp home made by tempHome() that is still there. */
export async function removeTempHomes(): Promise<void> {
  for (const dir of [...tempDirs]) {
    await rm(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}
