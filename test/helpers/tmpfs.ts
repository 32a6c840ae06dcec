import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A small tmpfs to fill: a disk that runs out, for the tests of what the puller does then. Mounting
 * needs root (CI runs as root): without it the test fails saying so, it does not skip. Always
 * unmount it (in a finally or afterAll), after stopping what runs on it.
 */
export interface Tmpfs {
  dir: string;
  /** `mount -o remount,size=<mb>m`: the disk grows (or shrinks) under whatever runs on it. */
  resize(mb: number): void;
  /** The same, in KiB: to leave a chosen few KiB free (it cannot shrink below what is used). */
  resizeKiB(kib: number): void;
  unmount(): Promise<void>;
}

/** `mb`: its size; null for tmpfs's default (half the RAM: a limit, only files use memory). */
export async function mountTmpfs(mb: number | null, prefix = 'lattice-tmpfs-'): Promise<Tmpfs> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    execFileSync('mount', ['-t', 'tmpfs', ...(mb === null ? [] : ['-o', `size=${mb}m`]), 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(
      `this test mounts a ${mb === null ? 'default-size' : `${mb} MB`} tmpfs to fill, which needs root (uid ${process.getuid?.() ?? '?'}): ${why}`,
      { cause: err },
    );
  }
  let mounted = true;
  return {
    dir,
    resize(size: number) {
      execFileSync('mount', ['-o', `remount,size=${size}m`, dir], { stdio: 'pipe' });
    },
    resizeKiB(kib: number) {
      execFileSync('mount', ['-o', `remount,size=${Math.ceil(kib)}k`, dir], { stdio: 'pipe' });
    },
    async unmount() {
      if (mounted) {
        try {
          execFileSync('umount', [dir], { stdio: 'pipe' });
        } catch {
          // Something still has a file open on it: detach it now, it goes when that closes.
          execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
        }
        mounted = false;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
