import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthResponse, ViewListResponse, ViewRowsResponse } from '../src/reads/contract/api-types.js';
import type { StatusReport, ViewsReport } from '../src/cli/status-command.js';
import type { FakeRecall } from './fake-recall/server.js';
import { runCli, tempHome, type TempHome } from './helpers/processes.js';
import { get, startFake, startReads, type ReadsProcess } from './reads/fixtures.js';
import { launchBrowser, ready, watchedPage } from './ui/browser.js';

/**
 * The zone keeps the name the user gave (issue 26). Node 20's ICU answers `Asia/Calcutta` for
 * `Asia/Kolkata` from resolvedOptions(); a user who configured Kolkata must see Kolkata in
 * freshness, /healthz, `status` and the page, never the old alias.
 */

const ZONE = 'Asia/Kolkata';
const ALIAS = 'Asia/Calcutta';

describe('Asia/Kolkata everywhere it is shown, from real processes', () => {
  let home: TempHome;
  let fake: FakeRecall;
  let reads: ReadsProcess;
  let browser: Browser | undefined;

  beforeAll(async () => {
    home = await tempHome('lattice-zone-');
    fake = await startFake(40);
    // The zone comes from the environment of the real `pull`, as a user's would.
    const r = await runCli(['pull', '--home', home.dir, '--repo-recall-url', fake.url], { SESSION_LATTICE_TIMEZONE: ZONE });
    if (r.code !== 0) throw new Error(`pull failed (${r.code}): ${r.stderr}`);
    reads = await startReads(home.dir);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await reads?.stop();
    await fake?.close();
    await home?.cleanup();
  });

  it('in freshness, its header, /healthz, status and views (text and JSON)', async () => {
    const rows = await get(`${reads.url}/views/daily_activity?limit=2`);
    expect(rows.status).toBe(200);
    expect((rows.json as ViewRowsResponse).freshness.timezone).toBe(ZONE);
    expect(rows.headers['x-lattice-timezone']).toBe(ZONE);
    const catalog = await get(`${reads.url}/views`);
    expect((catalog.json as ViewListResponse).freshness.timezone).toBe(ZONE);
    const health = await get(`${reads.url}/healthz`);
    expect((health.json as HealthResponse).timezone).toBe(ZONE);

    const statusText = await runCli(['status', '--home', home.dir]);
    expect(statusText.stdout).toMatch(new RegExp(`\\btime zone\\s+${ZONE}\\n`));
    expect(statusText.stdout).not.toContain(ALIAS);
    const statusJson = await runCli(['status', '--home', home.dir, '--json']);
    expect((JSON.parse(statusJson.stdout) as StatusReport).snapshot?.timezone).toBe(ZONE);
    expect(statusJson.stdout).not.toContain(ALIAS);
    const viewsJson = await runCli(['views', '--home', home.dir, '--json']);
    expect((JSON.parse(viewsJson.stdout) as ViewsReport).timezone).toBe(ZONE);
    for (const text of [rows.text, catalog.text, health.text]) expect(text).not.toContain(ALIAS);
  });

  it('a pull whose zone comes from TZ alone (no setting) publishes Asia/Kolkata', async () => {
    const other = await tempHome('lattice-zone-tz-');
    try {
      const r = await runCli(['pull', '--home', other.dir, '--repo-recall-url', fake.url], { SESSION_LATTICE_TIMEZONE: '', TZ: ZONE });
      expect(r.code, r.stderr).toBe(0);
      const status = await runCli(['status', '--home', other.dir, '--json'], { TZ: ZONE });
      expect((JSON.parse(status.stdout) as StatusReport).snapshot?.timezone).toBe(ZONE);
    } finally {
      await other.cleanup();
    }
  });

  it('on the page: the freshness bar, the overview and the status page', async () => {
    browser = await launchBrowser();
    for (const path of ['/', '/ui/status']) {
      const w = await watchedPage(browser);
      try {
        expect((await w.page.goto(`${reads.url}${path}`))?.status()).toBe(200);
        await ready(w.page);
        const text = (await w.page.locator('body').innerText()) ?? '';
        expect(text, path).toContain(`Days in ${ZONE}`);
        expect(text, path).not.toContain(ALIAS);
      } finally {
        await w.context.close();
      }
    }
  }, 120_000);
});
