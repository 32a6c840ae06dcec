import type { HealthResponse } from 'session-lattice/api';
import { getHealth } from './api.js';
import { localTime } from './format.js';

/**
 * Keeps the page current by following GET /events (Server-Sent Events): every event the puller
 * writes (a tick started or finished, a failure) and the server's own `generation_served` make
 * the page ask /healthz again; when a new generation is served it calls back so the page fetches
 * its data again, and says so in the live region.
 *
 * Between events only time passes, which moves the data's age and can make it stale, and a puller
 * killed outright writes no event: a slow check every minute covers both. EventSource reconnects
 * by itself (with Last-Event-ID) after the server restarts; the page asks at once when it does,
 * and when it becomes visible again (a hidden tab closes its stream). A stream the server refuses
 * (too many subscribers) is tried again after a few seconds.
 */

const SLOW_CHECK_MS = 60_000;
/** When the page tries the event stream again after the server refused it. */
const REFUSED_RETRY_MS = 10_000;

export interface LiveOptions {
  first: HealthResponse;
  /** The health changed (any field the bar shows); `newData`: a different generation is served. */
  onHealth(health: HealthResponse, newData: boolean): Promise<void> | void;
  announce: HTMLElement;
}

export function keepLive({ first, onHealth, announce }: LiveOptions): void {
  let last = first;
  let busy = false;
  let again = false;
  const check = async (): Promise<void> => {
    if (document.visibilityState === 'hidden') return;
    // Events come in bursts (a tick's start, publish and finish): one check at a time, and one more
    // after it if anything came meanwhile.
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const health = await getHealth();
      const newData = health.generation !== last.generation || health.published_at !== last.published_at;
      last = health;
      await onHealth(health, newData);
      if (newData && health.generation !== null) {
        announce.textContent = `Updated to generation ${health.generation}, published ${localTime(health.published_at, health.timezone)}.`;
      }
    } catch (err) {
      announce.textContent = `Cannot reach the server: ${err instanceof Error ? err.message : String(err)}. Retrying.`;
    } finally {
      busy = false;
      if (again) {
        again = false;
        void check();
      }
    }
  };

  // A hidden tab holds no stream: browsers allow a handful of connections per server, and the
  // server a bounded number of streams. It opens one again (and checks) when it is shown.
  let events: EventSource | null = null;
  let retry: ReturnType<typeof setTimeout> | null = null;
  const follow = () => {
    if (events || document.visibilityState === 'hidden') return;
    const source = new EventSource('/events');
    events = source;
    // Named events only reach listeners for their name: the ones a page cares about are listed.
    for (const type of [
      'generation_served',
      'tick_started',
      'tick_finished',
      'generation_published',
      'view_failed',
      'view_recovered',
      'puller_started',
      'puller_stopping',
    ]) {
      source.addEventListener(type, () => void check());
    }
    source.addEventListener('open', () => void check());
    // EventSource retries a dropped stream by itself, but not one refused (a 503: too many
    // subscribers, or a server stopping): try again later, and ask /healthz meanwhile.
    source.addEventListener('error', () => {
      if (source.readyState !== EventSource.CLOSED || events !== source) return;
      events = null;
      void check();
      retry = setTimeout(() => {
        retry = null;
        follow();
      }, REFUSED_RETRY_MS);
    });
  };
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') {
      events?.close();
      events = null;
      if (retry) clearTimeout(retry);
      retry = null;
    } else {
      follow();
      void check();
    }
  });
  follow();
  setInterval(() => void check(), SLOW_CHECK_MS);
}
