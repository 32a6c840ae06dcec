import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** How often an unreachable upstream is probed while the puller waits out its backoff. */
const PROBE_INTERVAL_MS = 2_000;

/** The port a repo-recall URL names, or its scheme's default. */
export function portOf(url: URL): number {
  return Number(url.port || (url.protocol === 'https:' ? 443 : 80));
}

/** One TCP connect to the URL's host and port: true when something accepts it within `timeoutMs`. */
function accepts(baseUrl: string, timeoutMs: number): Promise<boolean> {
  const url = new URL(baseUrl);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve) => {
    const socket = connect({ host, port: portOf(url) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Resolves once something accepts connections at `baseUrl` (checked every PROBE_INTERVAL_MS), or
 * when `signal` aborts (then it resolves false). A connect costs upstream nothing, so the puller
 * can back off its logged, status-writing ticks for minutes and still pull within seconds of
 * repo-recall coming up.
 */
export async function untilReachable(baseUrl: string, signal: AbortSignal): Promise<boolean> {
  while (!signal.aborted) {
    if (await accepts(baseUrl, 1_000)) return !signal.aborted;
    await sleep(PROBE_INTERVAL_MS, undefined, { signal }).catch(() => undefined);
  }
  return false;
}
