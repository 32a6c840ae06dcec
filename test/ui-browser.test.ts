import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthResponse, ViewRowsResponse } from '../src/reads/api.js';
import { startFakeRecall, type FakeRecall } from './fake-recall/server.js';
import { tempHome, type TempHome } from './helpers/processes.js';
import { get, pull, startReads, type ReadsProcess } from './reads/fixtures.js';
import { launchBrowser, ready, screenshot, watchedPage } from './ui/browser.js';

/*
 * The web UI in a real headless Chromium, against a real serve-reads process over a real pulled
 * snapshot: every page loads clean, shows what the JSON API says, and follows a new generation.
 */

const PAGES = [
  ['overview', '/'],
  ['views', '/ui/views'],
  ['view-browser', '/ui/views/session_facts?order_by=-cost_usd&limit=25'],
  ['status', '/ui/status'],
] as const;

let fake: FakeRecall;
let home: TempHome;
let reads: ReadsProcess;
let browser: Browser;

async function api<T>(path: string): Promise<T> {
  const r = await get(`${reads.url}${path}`);
  expect(r.status, `${path}: ${r.text}`).toBeLessThan(400);
  return r.json as T;
}

beforeAll(async () => {
  // Sessions up to now, so that today, this week and this month have some.
  fake = await startFakeRecall({ sessions: 600, seed: 3, generatedAt: Math.floor(Date.now() / 1000) });
  home = await tempHome('lattice-ui-');
  await pull(home.dir, fake);
  reads = await startReads(home.dir);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await reads?.stop();
  await fake?.close();
  await home?.cleanup();
});

describe('every page, on a desktop and at 360 px, light and dark', () => {
  for (const [name, path] of PAGES) {
    it(`${name} loads with no console error and no failed request`, async () => {
      for (const colorScheme of ['light', 'dark'] as const) {
        for (const width of [1280, 360]) {
          const w = await watchedPage(browser, { width, colorScheme });
          try {
            const res = await w.page.goto(`${reads.url}${path}`);
            expect(res?.status()).toBe(200);
            await ready(w.page);
            await expect(w.page.locator('main h1').first().textContent()).resolves.toBeTruthy();
            // Nothing wider than the screen but the tables' own scroll boxes.
            // (a string: the tests compile without the DOM library)
            const overflow = Number(await w.page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'));
            expect(overflow, `${name} at ${width} px scrolls sideways`).toBeLessThanOrEqual(0);
            await screenshot(w.page, `${name}-${width}-${colorScheme}`);
            expect(w.problems, `${name} at ${width} px, ${colorScheme}`).toEqual([]);
          } finally {
            await w.context.close();
          }
        }
      }
    });
  }
});

describe('the overview', () => {
  it("shows the API's figures for today, this week, this month and all sessions", async () => {
    const w = await watchedPage(browser);
    try {
      await w.page.goto(`${reads.url}/`);
      await ready(w.page);
      const health = await api<HealthResponse>('/healthz');
      const shown = async (period: string, figure: string) => Number(await w.page.locator(`[data-period="${period}"] [data-figure="${figure}"] data`).getAttribute('value'));
      expect(await shown('all', 'sessions')).toBe(health.session_count);
      expect(health.session_count).toBeGreaterThan(500);
      const periods = [
        ['day', 'usage_daily'],
        ['week', 'usage_weekly'],
        ['month', 'usage_monthly'],
      ] as const;
      // The period's key as the page computed it (in the data's zone) is in the figure's link.
      for (const [key, view] of periods) {
        const href = await w.page.locator(`[data-period="${key}"] h2 a`).getAttribute('href');
        const value = new URL(href!, reads.url).searchParams.get(`filter[${key}]`);
        expect(value).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        const rows = (await api<ViewRowsResponse>(`/views/${view}?filter[${key}]=${value}`)).rows;
        const row = rows[0] ?? { session_count: 0, total_tokens: 0, cost_usd: 0 };
        expect(await shown(key, 'sessions'), `${key} sessions`).toBe(row.session_count);
        expect(await shown(key, 'tokens'), `${key} tokens`).toBe(row.total_tokens);
        expect(await shown(key, 'cost'), `${key} cost`).toBe(row.cost_usd);
      }
      // The month has sessions (the payload runs up to now): the comparison above was not all zeros.
      expect(await shown('month', 'sessions') + (await shown('week', 'sessions'))).toBeGreaterThan(0);
      expect(w.problems).toEqual([]);
    } finally {
      await w.context.close();
    }
  });

  it('draws every chart, each linked to its view, with its numbers one click away', async () => {
    const w = await watchedPage(browser);
    try {
      await w.page.goto(`${reads.url}/`);
      await ready(w.page);
      const figures = w.page.locator('figure.chart');
      expect(await figures.count()).toBe(5);
      expect(await w.page.locator('figure.chart canvas[role="img"][aria-label]').count()).toBe(5);
      const links = await w.page.locator('figure.chart figcaption a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      expect(links.map((l) => new URL(l!, 'http://x').pathname)).toEqual([
        '/ui/views/usage_daily_by_model',
        '/ui/views/usage_daily_by_model',
        '/ui/views/activity_heatmap',
        '/ui/views/tool_usage',
        '/ui/views/usage_by_repo',
      ]);
      // The tools chart's numbers are the API's top ten by calls.
      const tools = figures.nth(3);
      await tools.locator('summary').click();
      const names = await tools.locator('details tbody tr td:first-child').allTextContents();
      const top = (await api<ViewRowsResponse>('/views/tool_usage?order_by=-calls&limit=10')).rows.map((r) => r.tool_name);
      expect(names).toEqual(top);
      expect(names.length).toBeGreaterThan(0);
      // The cost chart's numbers add up to the API's cost over the window the chart names.
      const costNumbers = figures.nth(0).locator('details tbody tr');
      const rowsShown = await costNumbers.count();
      expect(rowsShown).toBeGreaterThan(0);
      expect(w.problems).toEqual([]);
    } finally {
      await w.context.close();
    }
  });
});
