import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A process's resident set size in bytes, or null when it cannot be read (the process is gone).
 * Linux: VmRSS of /proc/<pid>/status (no fork); elsewhere (macOS): `ps -o rss=`, in KiB on both.
 */
export async function residentBytes(pid: number): Promise<number | null> {
  if (process.platform === 'linux') {
    try {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
      return kb === undefined ? null : Number(kb) * 1024;
    } catch {
      return null;
    }
  }
  try {
    const { stdout } = await run('ps', ['-o', 'rss=', '-p', String(pid)]);
    const kb = Number(stdout.trim());
    return stdout.trim() !== '' && Number.isFinite(kb) ? kb * 1024 : null;
  } catch {
    return null;
  }
}
