import type { Checks } from './checks.js';
import type { SoakRig } from './rig.js';

/**
 * What every phase of the soak gets. Each phase waits on what happened (status.json, what the
 * readers were served), never on the clock, and adds its rows to the table when it ends, even when
 * it fails.
 */
export interface SoakContext {
  rig: SoakRig;
  checks: Checks;
  log: (msg: string) => void;
  /** When the soak should end if the events leave time for it: the steady phase fills the rest. */
  targetEnd: number;
  largeSessions: number;
  baseSessions: number;
  /** Set once the readers' rows are in the table (at the end, or by the failure report). */
  readersReported: boolean;
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(0)} s`;

/** Each call returns the time since the previous one, for the log. */
export function stopwatch(): () => string {
  let last = Date.now();
  return () => {
    const now = Date.now();
    const text = `${((now - last) / 1000).toFixed(1)} s`;
    last = now;
    return text;
  };
}

/** New data upstream, then wait until it is published and a reader has been served it. */
export async function publishAndServe(rig: SoakRig, sessions?: number): Promise<number> {
  const before = await rig.generation();
  const scan = await rig.changeData({ sessions });
  return rig.waitServed(await rig.waitPublished(scan, before));
}
