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

/** The process that wrote the status is alive and did not record a clean stop. */
export function pullerRunning(status: PullerStatus, alive: (pid: number) => boolean = isProcessAlive): boolean {
  return status.state !== 'stopped' && alive(status.pid);
}

/** One reason the puller is not keeping the data current; `failing` ones make `status` exit 1. */
export interface PullerReason {
  text: string;
  failing: boolean;
}

/**
 * What is wrong with the puller, in the words `/healthz`, `/views`, MCP and `session-lattice
 * status` all use, so a person reads the same reason wherever they look. `running`: the process
 * named by the status is alive and did not record a clean stop.
 */
export function pullerReasons(status: PullerStatus | null, running: boolean): PullerReason[] {
  if (!status) {
    return [
      {
        text: 'no puller has run on this home: start one (session-lattice serve-puller, or brew services start session-lattice-puller)',
        failing: false,
      },
    ];
  }
  const reasons: PullerReason[] = [];
  if (status.last_tick_outcome === 'failed') {
    reasons.push({ text: `the puller's last tick failed: ${status.last_error ?? 'unknown error'}`, failing: true });
  }
  if (!running) {
    const how = status.state === 'stopped' ? 'stopped' : 'is gone without stopping cleanly';
    reasons.push({ text: `the puller is not running (pid ${status.pid} ${how})`, failing: false });
  }
  return reasons;
}

/** Why nothing can be read yet: the published path is empty, and what the puller says about it. */
export function noSnapshotMessage(publishedPath: string, reasons: readonly string[], status: PullerStatus | null): string {
  const why = [...reasons];
  if (why.length === 0 && status && status.last_tick_outcome === null) why.push('the puller is running its first pull');
  return `no snapshot yet: nothing has been published at ${publishedPath}${why.length ? `; ${why.join('; ')}` : ''}`;
}
