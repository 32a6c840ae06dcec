import { expect } from 'vitest';
import { startFakeRecall, type FakeRecall } from '../fake-recall/server.js';
import { tempHome, type TempHome } from '../helpers/processes.js';
import { get, pull, startReads, type ReadsProcess } from '../reads/fixtures.js';

/**
 * What the web UI's browser tests run against: a real serve-reads process over a home pulled from
 * the fake repo-recall. The sessions end at a fixed instant, a Wednesday in the middle of a month,
 * and the browsers' clocks are set just after it (watchedPage's `now`), so "today", "this week"
 * and "this month" have sessions whatever day the tests run.
 */

const GENERATED_AT = Date.UTC(2026, 5, 17, 15, 0, 0) / 1000;
/** The browser's "now": an hour after the last session. */
export const NOW = new Date((GENERATED_AT + 3600) * 1000);

export interface UiSite {
  url: string;
  fake: FakeRecall;
  home: TempHome;
  reads: ReadsProcess;
  /** GET on the site's JSON API; fails the test on a 4xx or 5xx. */
  api<T>(path: string): Promise<T>;
  /** Publishes a new generation of `sessions` sessions while the site runs. */
  publish(sessions: number): Promise<void>;
  close(): Promise<void>;
}

export async function startUiSite(prefix: string, sessions = 600): Promise<UiSite> {
  const fake = await startFakeRecall({ sessions, seed: 3, generatedAt: GENERATED_AT });
  const home = await tempHome(prefix);
  await pull(home.dir, fake);
  const reads = await startReads(home.dir);
  return {
    url: reads.url,
    fake,
    home,
    reads,
    async api<T>(path: string): Promise<T> {
      const r = await get(`${reads.url}${path}`);
      expect(r.status, `${path}: ${r.text}`).toBeLessThan(400);
      return r.json as T;
    },
    async publish(n: number) {
      await fake.setData({ sessions: n, seed: 3, generatedAt: GENERATED_AT });
      await pull(home.dir, fake);
    },
    async close() {
      await reads.stop();
      await fake.close();
      await home.cleanup();
    },
  };
}
