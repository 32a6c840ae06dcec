import { readFileSync } from 'node:fs';
import { residentBytes } from '../../src/reads/query-workers/memory.js';
import { descendantProcesses } from '../helpers/processes.js';

/** What the tests observe of processes from outside: CPU, RSS, and a reads server's query workers. */

/**
 * CPU seconds a process has used so far, from /proc (Linux, where CI runs); null elsewhere, and
 * callers then fall back to the clock.
 */
function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ": state is field 3, utime and stime are fields 14 and 15, in clock ticks (100 a second).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** Resident set size in MiB, as the pool's RSS watch reads it; null when it cannot be read. */
export async function rssMb(pid: number): Promise<number | null> {
  const bytes = await residentBytes(pid);
  return bytes === null ? null : bytes / 1048576;
}

/** The query worker processes of a reads server (its descendants running worker-main.js). */
export function queryWorkerPids(readsPid: number): number[] {
  return descendantProcesses(readsPid)
    .filter((p) => p.command.includes('query-workers/worker-main.js'))
    .map((p) => p.pid);
}

/** CPU seconds used by a reads server's query workers now running (0 when none can be read). */
export function workersCpuSeconds(readsPid: number): number {
  return queryWorkerPids(readsPid).reduce((sum, pid) => sum + (cpuSeconds(pid) ?? 0), 0);
}
