import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthResponse, ViewRowsResponse } from '../src/reads/contract/api.js';
import { accessibilityViolations, launchBrowser, ready, screenshot, watchedPage } from './ui/browser.js';
import { NOW, startUiSite, type UiSite } from './ui/site.js';

/*
 * The web UI's pages in a real headless Chromium, against a real serve-reads process over a real
 * pulled snapshot: every page loads clean at every size and scheme, passes an accessibility audit,
 * and the overview shows what the JSON API says. (The table browser, live updates and the guard:
 * ui-table-browser.test.ts.)
 */

const PAGES = [
  ['overview', '/'],
  ['views', '/ui/views'],
  ['view-browser', '/ui/views/session_facts?order_by=-cost_usd&limit=25'],
  ['status', '/ui/status'],
] as const;

let site: UiSite;
let browser: Browser;

beforeAll(async () => {
  site = await startUiSite('lattice-ui-');
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await site?.close();
});

describe('every page, on a desktop and at 360 px, light and dark', () => {
  for (const [name, path] of PAGES) {
    it(`${name} loads with no console error and no failed request`, async () => {
      for (const colorScheme of ['light', 'dark'] as const) {
        for (const width of [1280, 360]) {
          const w = await watchedPage(browser, { width, colorScheme, now: NOW });
          try {
            const res = await w.page.goto(`${site.url}${path}`);
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

describe('accessibility', () => {
  it('every page, light and dark, passes axe-core (WCAG 2.1 A and AA, best practices: contrast, names, landmarks)', async () => {
    for (const [name, path] of PAGES) {
      for (const colorScheme of ['light', 'dark'] as const) {
        const w = await watchedPage(browser, { colorScheme, bypassCSP: true, now: NOW });
        try {
          await w.page.goto(`${site.url}${path}`);
          await ready(w.page);
          expect(await accessibilityViolations(w.page), `${name}, ${colorScheme}`).toEqual([]);
        } finally {
          await w.context.close();
        }
      }
    }
  });

  it('the skip link is the first stop of the keyboard and leads to the content', async () => {
    const w = await watchedPage(browser, { now: NOW });
    try {
      await w.page.goto(`${site.url}/ui/views`);
      await ready(w.page);
      await w.page.keyboard.press('Tab');
      expect(await w.page.evaluate('document.activeElement.textContent')).toBe('Skip to content');
      await w.page.keyboard.press('Enter');
      await w.page.keyboard.press('Tab');
      // The next stop is inside main: the first view's link.
      expect(await w.page.evaluate('document.activeElement.closest("main") !== null')).toBe(true);
      expect(w.problems).toEqual([]);
    } finally {
      await w.context.close();
    }
  });
});

describe('the overview', () => {
  it("shows the API's figures for today, this week, this month and all sessions", async () => {
    const w = await watchedPage(browser, { now: NOW });
    try {
      await w.page.goto(`${site.url}/`);
      await ready(w.page);
      const health = await site.api<HealthResponse>('/healthz');
      const shown = async (period: string, figure: string) =>
        Number(await w.page.locator(`[data-period="${period}"] [data-figure="${figure}"] data`).getAttribute('value'));
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
        const value = new URL(href!, site.url).searchParams.get(`filter[${key}]`);
        expect(value).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        const rows = (await site.api<ViewRowsResponse>(`/views/${view}?filter[${key}]=${value}`)).rows;
        const row = rows[0] ?? { session_count: 0, total_tokens: 0, cost_usd: 0 };
        expect(await shown(key, 'sessions'), `${key} sessions`).toBe(row.session_count);
        expect(await shown(key, 'tokens'), `${key} tokens`).toBe(row.total_tokens);
        expect(await shown(key, 'cost'), `${key} cost`).toBe(row.cost_usd);
      }
      // The month has sessions (the payload runs up to now): the comparison above was not all zeros.
      expect((await shown('month', 'sessions')) + (await shown('week', 'sessions'))).toBeGreaterThan(0);
      expect(w.problems).toEqual([]);
    } finally {
      await w.context.close();
    }
  });

  it('draws every chart, each linked to its view, with its numbers one click away', async () => {
    const w = await watchedPage(browser, { now: NOW });
    try {
      await w.page.goto(`${site.url}/`);
      await ready(w.page);
      const figures = w.page.locator('figure.chart');
      expect(await figures.count()).toBe(5);
      expect(await w.page.locator('figure.chart canvas[role="img"][aria-label]').count()).toBe(5);
      const links = await w.page.locator('figure.chart figcaption a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      expect(links.map((l) => new URL(l!, 'http://x').pathname)).toEqual([
        '/ui/views/usage_daily_by_model',
        '/ui/views/usage_daily_by_model',
        '/ui/views/tool_usage',
        '/ui/views/usage_by_repo',
        '/ui/views/activity_heatmap',
      ]);
      // The tools chart's numbers are the API's top ten by calls.
      const tools = figures.nth(2);
      await tools.locator('summary').click();
      const names = await tools.locator('details tbody tr td:first-child').allTextContents();
      const top = (await site.api<ViewRowsResponse>('/views/tool_usage?order_by=-calls&limit=10')).rows.map((r) => r.tool_name);
      expect(names).toEqual(top);
      expect(names.length).toBeGreaterThan(0);
      // The cost chart's numbers are the API's rows over the window its link names.
      const costLink = new URL((await figures.nth(0).locator('figcaption a').getAttribute('href'))!, site.url);
      const from = costLink.searchParams.get('filter[day][gte]')!;
      const inWindow = await site.api<ViewRowsResponse>(`/views/usage_daily_by_model?filter[day][gte]=${from}&limit=10000`);
      expect(inWindow.rows.length).toBeGreaterThan(0);
      expect(await figures.nth(0).locator('details tbody tr').count()).toBe(inWindow.rows.length);
      expect(w.problems).toEqual([]);
    } finally {
      await w.context.close();
    }
  });
});
