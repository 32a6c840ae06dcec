import { setTimeout as delay } from 'node:timers/promises';

/**
 * Waiting on events, not on the clock. Every wait of the soak has a deadline measured in minutes:
 * it only fires when something is really broken, so a slow or loaded machine makes the soak take
 * longer, never fail.
 */

const MINUTE = 60_000;

/** Deadlines of the soak's waits, by what is waited for. */
export const DEADLINES = {
  /** A daemon starting (node, DuckDB, the catalog) and listening or holding its home. */
  start: 3 * MINUTE,
  /** The puller publishing a data change (2-3k sessions), backoff after failures included. */
  publish: 4 * MINUTE,
  /** A reader being served a generation that is published (the reads server switches in ~1 s). */
  served: 3 * MINUTE,
  /** The puller recording a failed tick while upstream is down or faulty (timeouts of 3 s, backoff). */
  failure: 3 * MINUTE,
  /** The large payload: hundreds of MB for the 10-minute form. */
  large: 15 * MINUTE,
  /** A one-shot command (`pull` refused) or a daemon stopping. */
  command: 2 * MINUTE,
} as const;

/** The soak was asked to stop (SIGINT/SIGTERM): every wait gives up at once. */
export class SoakAborted extends Error {
  constructor() {
    super('soak interrupted');
  }
}

export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (err) {
    throw signal?.aborted ? new SoakAborted() : err;
  }
}

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Between checks; default 100 ms. */
  pollMs?: number;
}

/**
 * Polls `check` until it returns a value other than undefined. A check that throws (a daemon died)
 * ends the wait with its error; the deadline ends it with one that names what was awaited.
 */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined> | T | undefined, opts: WaitOptions): Promise<T> {
  const started = Date.now();
  for (;;) {
    if (opts.signal?.aborted) throw new SoakAborted();
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() - started > opts.timeoutMs) {
      throw new Error(`timed out after ${(opts.timeoutMs / 1000).toFixed(0)} s waiting for ${what}`);
    }
    await sleep(opts.pollMs ?? 100, opts.signal);
  }
}
