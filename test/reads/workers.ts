import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { descendants } from '../helpers/processes.js';

/** What the tests observe of processes from outside: CPU, RSS, and a reads server's query workers. */

/**
 * CPU seconds a process has used so far, from /proc (Linux, where CI runs); null elsewhere, and
 * callers then fall back to the clock.
 */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ": state is field 3, utime and stime are fields 14 and 15, in clock ticks (100 a second).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** Resident set size in MiB (VmRSS of /proc/<pid>/status, Linux); null when it cannot be read. */
export function rssMb(pid: number): number | null {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  } catch {
    return null;
  }
}

/** The query worker processes of a reads server (its descendants running worker-main.js). */
export function queryWorkerPids(readsPid: number): number[] {
  return descendants(readsPid).filter((pid) => {
    try {
      return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' }).includes('query-workers/worker-main.js');
    } catch {
      return false; // gone meanwhile
    }
  });
}

/** CPU seconds used by a reads server's query workers now running (0 when none can be read). */
export function workersCpuSeconds(readsPid: number): number {
  return queryWorkerPids(readsPid).reduce((sum, pid) => sum + (cpuSeconds(pid) ?? 0), 0);
}
