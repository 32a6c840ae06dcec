import type { HealthResponse } from 'session-lattice/api';
import { getHealth } from './api.js';
import { localTime } from './format.js';

/**
 * Keeps the page current: asks /healthz every few seconds while the page is visible (at once when
 * it becomes visible again) and, when a new generation is published, calls back so the page
 * fetches its data again, and says so in the live region.
 */

const POLL_MS = 5000;

export interface LiveOptions {
  first: HealthResponse;
  /** The health changed (any field the bar shows); `newData`: a different generation is served. */
  onHealth(health: HealthResponse, newData: boolean): Promise<void> | void;
  announce: HTMLElement;
}

export function keepLive({ first, onHealth, announce }: LiveOptions): void {
  let last = first;
  let busy = false;
  const check = async () => {
    if (busy || document.visibilityState === 'hidden') return;
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
    }
  };
  setInterval(() => void check(), POLL_MS);
  document.addEventListener('visibilitychange', () => void check());
}
