import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthResponse, ViewRowsResponse } from '../src/reads/contract/api.js';
import { eventually, tempHome } from './helpers/processes.js';
import { get, pull, startReads } from './reads/fixtures.js';
import { launchBrowser, ready, watchedPage } from './ui/browser.js';
import { NOW, startUiSite, type UiSite } from './ui/site.js';

/*
 * The web UI's table browser, live updates and guard in a real headless Chromium, against a real
 * serve-reads process: what the browser shows and downloads is what the API answers for the same
 * query, a new generation appears on an open page, and a foreign host name is refused.
 */

let site: UiSite;
let browser: Browser;

beforeAll(async () => {
  site = await startUiSite('lattice-ui-table-');
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await site?.close();
});

describe('the table browser', () => {
  const ids = async (page: Page) => page.locator('table[data-view] tbody tr td:first-child').allTextContents();

  it('sorts by a header (mouse and keyboard), filters, chooses columns and pages like the API', async () => {
    const w = await watchedPage(browser, { now: NOW });
    const { page } = w;
    try {
      await page.goto(`${site.url}/ui/views/session_facts?limit=25`);
      await ready(page);

      // Sort: a click on a header sorts ascending; the header keeps the focus, so Enter then sorts descending.
      await page.getByRole('button', { name: 'tool_calls', exact: true }).click();
      await ready(page);
      expect(new URL(page.url()).searchParams.get('order_by')).toBe('tool_calls');
      expect(await page.evaluate('document.activeElement.closest("th").dataset.column')).toBe('tool_calls');
      await page.keyboard.press('Enter');
      await ready(page);
      expect(new URL(page.url()).searchParams.get('order_by')).toBe('-tool_calls');
      expect(await page.locator('th[aria-sort="descending"] button > span').first().textContent()).toBe('tool_calls');
      const sorted = await site.api<ViewRowsResponse>('/views/session_facts?limit=25&order_by=-tool_calls');
      expect(await ids(page)).toEqual(sorted.rows.map((r) => String(r.session_id)));

      // Filter: tool_calls >= 5 with the operators of the read API.
      await page.getByRole('button', { name: 'Add a filter' }).click();
      await page.getByLabel('Column', { exact: true }).selectOption('tool_calls');
      await page.getByLabel('Operator', { exact: true }).selectOption('gte');
      await page.getByLabel('Value', { exact: true }).fill('5');
      await page.getByRole('button', { name: 'Apply' }).click();
      await ready(page);
      expect(new URL(page.url()).searchParams.get('filter[tool_calls][gte]')).toBe('5');
      const filtered = await site.api<ViewRowsResponse>('/views/session_facts?limit=25&order_by=-tool_calls&filter[tool_calls][gte]=5');
      expect(filtered.total).toBeGreaterThan(25);
      expect(filtered.total).toBeLessThan(600);
      expect(await ids(page)).toEqual(filtered.rows.map((r) => String(r.session_id)));
      expect(await page.locator('.count').getAttribute('data-total')).toBe(String(filtered.total));

      // Next page by cursor: the API's next page of the same query.
      await page.getByRole('link', { name: 'Next page →' }).click();
      await ready(page);
      const second = (await site.api<ViewRowsResponse>(filtered.next_url!)).rows.map((r) => String(r.session_id));
      expect(second.length).toBeGreaterThan(0);
      expect(await ids(page)).toEqual(second);
      expect(new URL(page.url()).searchParams.get('after')).toBe(filtered.next);

      // The download links fetch exactly the rows on screen.
      const onScreen = await ids(page);
      for (const format of ['csv', 'ndjson', 'json'] as const) {
        const href = await page.locator(`a[data-format="${format}"]`).getAttribute('href');
        const r = await get(`${site.url}${href}`);
        expect(r.status).toBe(200);
        const idsOf =
          format === 'csv'
            ? r.text
                .trim()
                .split('\n')
                .slice(1)
                .map((l) => l.split(',')[0]!)
            : format === 'ndjson'
              ? r.text
                  .trim()
                  .split('\n')
                  .map((l) => String((JSON.parse(l) as { session_id: number }).session_id))
              : (r.json as ViewRowsResponse).rows.map((x) => String(x.session_id));
        expect(idsOf, format).toEqual(onScreen);
      }

      // Columns: keep two; the key column comes along.
      await page.getByRole('link', { name: '← First page' }).click();
      await ready(page);
      await page.locator('summary', { hasText: /^Columns \(/ }).click();
      const boxes = page.locator('.columns-list input:not([disabled])');
      for (const box of await boxes.all()) {
        const name = await box.getAttribute('value');
        if (name === 'cost_usd' || name === 'tool_calls') await box.check();
        else await box.uncheck();
      }
      await page.getByRole('button', { name: 'Apply' }).click();
      await ready(page);
      expect(new URL(page.url()).searchParams.get('columns')?.split(',').sort()).toEqual(['cost_usd', 'tool_calls']);
      const headers = (await page.locator('table[data-view] thead th').allTextContents()).map((t) => t.replace(/ [▲▼]$/, ''));
      const chosen = await site.api<ViewRowsResponse>(`/views/session_facts${new URL(page.url()).search}`);
      expect(headers).toEqual(chosen.columns.map((c) => c.name));
      expect(headers).toContain('session_id');

      // The URL holds the state: opened afresh, the same query shows the same rows.
      const fresh = await watchedPage(browser, { now: NOW });
      await fresh.page.goto(page.url());
      await ready(fresh.page);
      expect(await ids(fresh.page)).toEqual(await ids(page));
      await fresh.context.close();
      expect(fresh.problems).toEqual([]);
      expect(w.problems).toEqual([]);
    } finally {
      await w.context.close();
    }
  });

  it("shows the API's own message for a bad query, and no view for an unknown name", async () => {
    const w = await watchedPage(browser, { now: NOW });
    try {
      await w.page.goto(`${site.url}/ui/views/session_facts?filter[started_day][gte]=yesterday`);
      await ready(w.page);
      const bad = await get(`${site.url}/views/session_facts?filter[started_day][gte]=yesterday`);
      expect(bad.status).toBe(400);
      expect(await w.page.getByRole('alert').filter({ hasText: 'filter[started_day]' }).textContent()).toBe(
        (bad.json as { error: { message: string } }).error.message,
      );
      // The page asked the API and was told 400: that answer (and Chromium's console line about it,
      // in either order) is the one expected problem.
      expect(w.problems).toHaveLength(2);
      expect(w.problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^HTTP 400: .*\/views\/session_facts\?/),
          expect.stringMatching(/^console error: Failed to load resource: .* 400/),
        ]),
      );

      await w.page.goto(`${site.url}/ui/views/no_such_view`);
      await ready(w.page);
      expect(await w.page.getByRole('alert').last().textContent()).toContain('no view named "no_such_view"');
    } finally {
      await w.context.close();
    }
  });
});

describe('live updates and the guard', () => {
  it('a generation published while the page is open shows up without a reload, and the page says so', async () => {
    const w = await watchedPage(browser, { now: NOW });
    try {
      await w.page.goto(`${site.url}/`);
      const before = await site.api<HealthResponse>('/healthz');
      await ready(w.page, before.generation!);
      await w.page.evaluate('window.__sameDocument = true');
      await site.publish(700);
      // The reads server switches on its own clock (fs.watch, or its poll): wait for it, as a client would.
      const after = await eventually(async () => {
        const health = await site.api<HealthResponse>('/healthz');
        return health.generation === before.generation! + 1 ? health : undefined;
      }, 'the reads server to serve the new generation');
      await ready(w.page, after.generation!);
      expect(await w.page.evaluate('window.__sameDocument')).toBe(true);
      expect(Number(await w.page.locator('[data-period="all"] [data-figure="sessions"] data').getAttribute('value'))).toBe(after.session_count);
      expect(await w.page.locator('#live').textContent()).toContain(`generation ${after.generation}`);
      expect(w.problems).toEqual([]);
    } finally {
      await w.context.close();
    }
  });

  it('refuses a page asked for under a foreign host name (DNS rebinding)', async () => {
    const port = new URL(site.url).port;
    const rebinding = await launchBrowser(['--host-resolver-rules=MAP attacker.example 127.0.0.1']);
    try {
      const page = await rebinding.newPage();
      const res = await page.goto(`http://attacker.example:${port}/`);
      expect(res?.status()).toBe(403);
      expect(JSON.parse(await res!.text())).toMatchObject({ error: { code: 'forbidden_host' } });
      const asset = await page.goto(`http://attacker.example:${port}/ui/views`);
      expect(asset?.status()).toBe(403);
    } finally {
      await rebinding.close();
    }
  });

  it('says there is no data yet before the first generation, then fills in by itself', async () => {
    const empty = await tempHome('lattice-ui-empty-');
    const reads = await startReads(empty.dir);
    const w = await watchedPage(browser, { now: NOW });
    try {
      await w.page.goto(`${reads.url}/`);
      await ready(w.page);
      expect(await w.page.locator('#banner').textContent()).toContain('No data is published yet.');
      expect(await w.page.locator('main [role="alert"]').textContent()).toContain('No data is published yet');
      // The status page speaks of the puller even now.
      const status = await watchedPage(browser, { now: NOW });
      await status.page.goto(`${reads.url}/ui/status`);
      await ready(status.page);
      expect(await status.page.locator('#puller-h + div').textContent()).toContain('no puller has run on this home');
      await status.context.close();

      await pull(empty.dir, site.fake);
      await ready(w.page, 1);
      expect(Number(await w.page.locator('[data-period="all"] [data-figure="sessions"] data').getAttribute('value'))).toBeGreaterThan(0);
      expect(await w.page.locator('#banner').textContent()).not.toContain('No data is published yet.');
      // /healthz answers 503 until then (a load balancer's signal), which Chromium reports: nothing else went wrong.
      expect(w.problems.length).toBeGreaterThan(0);
      expect(w.problems.filter((p) => !/^HTTP 503: .*\/healthz$|^console error: Failed to load resource: .* 503/.test(p))).toEqual([]);
    } finally {
      await w.context.close();
      await reads.stop();
      await empty.cleanup();
    }
  });
});
