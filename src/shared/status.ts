import { readFile } from 'node:fs/promises';

/**
 * The puller's status document (`puller/status.json`). A failed tick publishes no snapshot, so
 * health lives here too; the puller replaces the file atomically, the reads server and
 * `session-lattice status` only read it.
 */
export interface PullerStatus {
  pid: number;
  version: string;
  started_at: string;
  refresh_interval_seconds: number;
  state: 'starting' | 'idle' | 'pulling' | 'stopped';
  last_tick_started_at: string | null;
  last_tick_finished_at: string | null;
  /** What the last finished tick did. */
  last_tick_outcome: 'published' | 'unchanged' | 'failed' | null;
  last_success_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
  consecutive_failures: number;
  next_tick_due_at: string | null;
  generation: number | null;
  scan_version: number | null;
  rejected_rows: number | null;
  /** Views whose last materialization failed, with the error. */
  view_errors: Record<string, string>;
}

/** Reads status.json; null when there is none yet (no puller has run on this home). */
export async function readPullerStatus(path: string): Promise<PullerStatus | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return JSON.parse(text) as PullerStatus;
}

/** True when the process that wrote the status is still running. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
