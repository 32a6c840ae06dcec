import { stat, statfs } from 'node:fs/promises';

/**
 * The free space of the filesystem a home is on. The puller names it in the line about a fatal
 * storage error; the reads server and `status` feed it to the health verdict, so a full disk is
 * reported even while the puller cannot write status.json. statfs(2) reads and writes nothing.
 */
export interface DiskSpace {
  /** Bytes an unprivileged process may still write (f_bavail: root's reserve excluded). */
  freeBytes: number;
  totalBytes: number;
}

/** Space on the filesystem of `dir`; null when it cannot be asked (the directory is missing). */
export async function diskSpace(dir: string): Promise<DiskSpace | null> {
  try {
    const s = await statfs(dir);
    return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  } catch {
    return null;
  }
}

/** The home's disk as the health verdict sees it. */
export interface HomeDisk {
  home: string;
  freeBytes: number;
  /** The published file's size; null when there is none. */
  publishedBytes: number | null;
}

/**
 * What the health verdict needs to know of the home's disk: its free space, and the size of the
 * published file (a publish needs at least that much free). Reads only: statfs and stat.
 */
export async function homeDisk(home: string, published: string): Promise<HomeDisk | null> {
  const space = await diskSpace(home);
  if (!space) return null;
  const publishedBytes = await stat(published).then(
    (s) => s.size,
    () => null,
  );
  return { home, freeBytes: space.freeBytes, publishedBytes };
}
