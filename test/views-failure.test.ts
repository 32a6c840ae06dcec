import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from 'undici';
import { upstreamAgent } from '../src/puller/fetch.js';
import { loadPriceTable } from '../src/puller/prices.js';
import { runTick } from '../src/puller/tick.js';
import { ElementIndex } from '../src/puller/element-index.js';
import type { WorkDb } from '../src/puller/work-db.js';
import { openWorkDb } from '../src/puller/work-schema.js';
import { defineView, type ViewDefinition } from '../src/shared/catalog/define.js';
import { homePaths, type HomePaths } from '../src/shared/paths.js';
import { DEFAULTS } from '../src/shared/config.js';
import { generatePayloadText } from './fake-recall/generate.js';
import { startFakeRecall, type FakeRecall } from './fake-recall/server.js';
import { tempHome, type TempHome } from './helpers/processes.js';
import { queryFile } from './helpers/snapshot.js';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { META_DDL, SELECT_VIEWS_SQL, ViewStateSchema } from '../src/shared/snapshot.js';
import { pino } from 'pino';
import { startReadsServer } from '../src/reads/http/server.js';
import type { HealthResponse, ViewListResponse } from '../src/reads/contract/api-types.js';
import { get } from './reads/fixtures.js';
import { call, connect, structured } from './reads/mcp-client.js';
import { launchBrowser, ready, watchedPage } from './ui/browser.js';

/*
 * Failure isolation, in-process with a test catalog: a view whose SQL fails keeps its previous
 * rows, records its error (lattice.views, lattice.refresh_log), and neither stops the other views
 * nor the publication of the generation.
 */

// Tiny intervals so that every view is due again as soon as base data changes.
const INTERVAL = 0.001;

const sessionCount = defineView({
  name: 'session_count',
  description: 'How many sessions there are.',
  refreshIntervalSeconds: INTERVAL,
  keyColumns: ['sessions'],
  sql: 'SELECT count(*) AS sessions FROM base.sessions',
});
const goodIds = defineView({
  name: 'flaky',
  description: 'Session ids (the good definition).',
  refreshIntervalSeconds: INTERVAL,
  keyColumns: ['session_id'],
  sql: 'SELECT session_id FROM base.sessions ORDER BY session_id',
});
const brokenIds = defineView({
  ...goodIds,
  description: 'Session ids (a broken definition: the column does not exist).',
  sql: 'SELECT session_id, no_such_column FROM base.sessions ORDER BY session_id',
});
const flakyCount = defineView({
  name: 'flaky_count',
  description: 'How many ids flaky holds (a view reading a view).',
  keyColumns: ['n'],
  readsViews: ['flaky'],
  sql: 'SELECT count(*) AS n FROM flaky',
});
const neverGood = defineView({
  name: 'never_good',
  description: 'Broken from the start.',
  refreshIntervalSeconds: INTERVAL,
  keyColumns: ['x'],
  sql: 'SELECT x FROM base.no_such_table',
});
const latestIds = defineView({
  name: 'latest_ids',
  description: 'The three highest session ids.',
  refreshIntervalSeconds: INTERVAL,
  keyColumns: ['session_id'],
  sql: 'SELECT session_id FROM base.sessions ORDER BY session_id DESC LIMIT 3',
});

describe('a failing view', () => {
  let home: TempHome;
  let recall: FakeRecall;
  let paths: HomePaths;
  let db: WorkDb;
  // One per working database, as the Puller keeps it.
  const index = new ElementIndex();
  let agent: Agent;

  beforeAll(async () => {
    home = await tempHome('lattice-views-failure-');
    recall = await startFakeRecall({ sessions: 0 });
    paths = homePaths(home.dir);
    db = await openWorkDb(paths.workDb, paths.home);
    agent = upstreamAgent(30);
  });

  afterAll(async () => {
    db?.close();
    await agent?.close();
    await recall?.close();
    await home?.cleanup();
  });

  async function tick(catalog: readonly ViewDefinition[]) {
    return runTick({
      db,
      index,
      agent,
      paths,
      catalog,
      upstream: { baseUrl: recall.url, maxBytes: 1 << 30, retries: 0, deadlineSeconds: 600, timeoutSeconds: 30 },
      guard: { maxShrinkPercent: DEFAULTS.maxShrinkPercent, confirmTicks: DEFAULTS.shrinkConfirmTicks, acceptShrink: false },
      inputs: { timezone: 'UTC', prices: await loadPriceTable(null) },
    });
  }

  async function flakyCountValue(): Promise<number | undefined> {
    const [row] = await queryFile<{ n: number }>(paths.published, 'SELECT n::DOUBLE AS n FROM main.flaky_count');
    return row?.n;
  }

  async function ids(view: string): Promise<number[]> {
    const rows = await queryFile<{ id: number }>(paths.published, `SELECT session_id::DOUBLE AS id FROM main.${view} ORDER BY id`);
    return rows.map((r) => r.id);
  }

  it('keeps its previous rows and reports its error, while the others are refreshed and published', async () => {
    // Generation 1: 5 clean sessions (ids 1..5), the good definition of "flaky".
    await recall.setPayloadText(generatePayloadText({ sessions: 5, messy: false, seed: 3 }));
    const first = await tick([sessionCount, goodIds, flakyCount, neverGood, latestIds]);
    expect(first.outcome).toBe('published');
    expect(first.generation).toBe(1);
    expect(first.views.map((v) => [v.name, v.status])).toEqual([
      ['session_count', 'materialized'],
      ['flaky', 'materialized'],
      ['flaky_count', 'materialized'],
      ['never_good', 'failed'],
      ['latest_ids', 'materialized'],
    ]);
    expect(await ids('flaky')).toEqual([1, 2, 3, 4, 5]);
    const [before] = await queryFile<{ materialized_at: string }>(
      paths.published,
      `SELECT materialized_at::VARCHAR AS materialized_at FROM lattice.views WHERE name = 'flaky'`,
    );

    // Generation 2: new data (8 sessions), and "flaky" now has a definition that cannot bind.
    await recall.setPayloadText(generatePayloadText({ sessions: 8, messy: false, seed: 3 }));
    await new Promise((r) => setTimeout(r, 10)); // let the tiny intervals pass
    const second = await tick([sessionCount, brokenIds, flakyCount, neverGood, latestIds]);
    expect(second.outcome).toBe('published');
    expect(second.generation).toBe(2);
    const byName = new Map(second.views.map((v) => [v.name, v]));
    expect(byName.get('session_count')?.status).toBe('materialized');
    expect(byName.get('latest_ids')?.status).toBe('materialized');
    expect(byName.get('flaky')?.status).toBe('failed');
    expect(byName.get('flaky')?.error).toMatch(/no_such_column/);
    expect(byName.get('never_good')?.status).toBe('failed');
    // a view reading the failed one is not computed from its stale rows: it fails with it
    expect(byName.get('flaky_count')).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^not refreshed: it reads flaky, which failed \(.*no_such_column/),
    });

    // The published generation 2: the others carry the new data ...
    const [count] = await queryFile<{ sessions: number }>(paths.published, 'SELECT sessions::DOUBLE AS sessions FROM main.session_count');
    expect(count?.sessions).toBe(8);
    expect(await ids('latest_ids')).toEqual([6, 7, 8]);
    // ... the failed view keeps the rows of its last good materialization ...
    expect(await ids('flaky')).toEqual([1, 2, 3, 4, 5]);
    expect(await flakyCountValue()).toBe(5);
    // ... a view that never succeeded has no table at all ...
    const tables = await queryFile<{ name: string }>(
      paths.published,
      `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY name`,
    );
    expect(tables.map((t) => t.name)).toEqual(['flaky', 'flaky_count', 'latest_ids', 'session_count']);

    // ... and lattice.views says so, with the old freshness of the kept rows.
    const views = await queryFile<{
      name: string;
      materialized_at: string | null;
      row_count: number | null;
      watermark: number | null;
      last_error: string | null;
    }>(
      paths.published,
      `SELECT name, materialized_at::VARCHAR AS materialized_at, row_count::DOUBLE AS row_count, watermark::DOUBLE AS watermark, last_error
       FROM lattice.views ORDER BY name`,
    );
    const flaky = views.find((v) => v.name === 'flaky');
    expect(flaky).toMatchObject({ materialized_at: before?.materialized_at, row_count: 5, watermark: 1 });
    expect(flaky?.last_error).toMatch(/no_such_column/);
    expect(views.find((v) => v.name === 'never_good')).toMatchObject({ materialized_at: null, row_count: null });
    expect(views.find((v) => v.name === 'never_good')?.last_error).toMatch(/no_such_table/);
    expect(views.find((v) => v.name === 'session_count')).toMatchObject({ row_count: 1, watermark: 2, last_error: null });
    expect(views.find((v) => v.name === 'latest_ids')).toMatchObject({ row_count: 3, watermark: 2, last_error: null });

    // The refresh log has one entry per attempt, the failures with their error.
    const log = await queryFile<{ view_name: string; row_count: number | null; error: string | null }>(
      paths.published,
      'SELECT view_name, row_count::DOUBLE AS row_count, error FROM lattice.refresh_log ORDER BY started_at, view_name',
    );
    const flakyLog = log.filter((l) => l.view_name === 'flaky');
    expect(flakyLog).toHaveLength(2);
    expect(flakyLog[0]).toEqual({ view_name: 'flaky', row_count: 5, error: null });
    expect(flakyLog[1]?.row_count).toBeNull();
    expect(flakyLog[1]?.error).toMatch(/no_such_column/);
    expect(log.filter((l) => l.view_name === 'never_good').every((l) => l.row_count === null && /no_such_table/.test(l.error ?? ''))).toBe(true);
    expect(log.filter((l) => l.view_name === 'session_count').map((l) => l.row_count)).toEqual([1, 1]);
  });

  it('marks the views whose rows are behind as stale, in the file, on /views, /healthz, the MCP tools and the page', async () => {
    // Generation 2: flaky failed, flaky_count failed with it, never_good never worked; the others refreshed.
    const expected = { flaky: true, flaky_count: true, latest_ids: false, never_good: true, session_count: false };
    const inFile = await queryFile<{ name: string; stale: boolean }>(paths.published, 'SELECT name, stale FROM lattice.views ORDER BY name');
    expect(Object.fromEntries(inFile.map((v) => [v.name, v.stale]))).toEqual(expected);
    const staleNames = Object.entries(expected)
      .filter(([, s]) => s)
      .map(([n]) => n);

    const server = await startReadsServer({ config: { ...DEFAULTS, home: home.dir, port: 0 }, logger: pino({ level: 'silent' }) });
    const client = await connect(server.url);
    try {
      const list = (await get(`${server.url}/views`)).json as ViewListResponse;
      expect(Object.fromEntries(list.views.map((v) => [v.name, v.stale]))).toEqual(expected);
      expect(list.views.find((v) => v.name === 'flaky')?.last_error).toMatch(/no_such_column/);
      expect(((await get(`${server.url}/healthz`)).json as HealthResponse).stale_views).toEqual(staleNames);

      const tools = structured<ViewListResponse>(await call(client, 'list_views'));
      expect(Object.fromEntries(tools.views.map((v) => [v.name, v.stale]))).toEqual(expected);
      expect(structured<{ stale: boolean }>(await call(client, 'describe_view', { view: 'flaky_count' })).stale).toBe(true);
      expect(structured<{ stale: boolean }>(await call(client, 'describe_view', { view: 'latest_ids' })).stale).toBe(false);
      expect(structured<HealthResponse>(await call(client, 'lattice_status')).stale_views).toEqual(staleNames);

      // The page, in a real browser: the list says how many are stale and marks each; a stale view's own page says so.
      const browser = await launchBrowser();
      try {
        const w = await watchedPage(browser);
        await w.page.goto(`${server.url}/ui/views`);
        await ready(w.page);
        expect(await w.page.locator('main .banner').textContent()).toMatch(/^3 views are stale: the last refresh failed/);
        const marked = await w.page
          .locator('main tbody tr', { has: w.page.locator('.stale') })
          .locator('td:first-child')
          .allTextContents();
        expect(marked.sort()).toEqual(staleNames);
        await w.page.goto(`${server.url}/ui/views/flaky`);
        await ready(w.page);
        expect(await w.page.locator('main .banner.stale').textContent()).toMatch(/^These rows are stale: the view's last refresh failed \(.*no_such_column/);
        await w.page.goto(`${server.url}/ui/views/latest_ids`);
        await ready(w.page);
        expect(await w.page.locator('main .banner.stale').count()).toBe(0);
        // Going to the next page aborts the previous one's event stream: that is no problem of the page.
        expect(w.problems.filter((p) => !/\/events \(net::ERR_ABORTED\)$/.test(p))).toEqual([]);
      } finally {
        await browser.close();
      }
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('a view reading a view that failed in an earlier tick is not computed from its stale rows', async () => {
    // No new data, so flaky (still broken) is not tried again; flaky_count has a new definition, so it is.
    const countTwice = defineView({ ...flakyCount, sql: 'SELECT count(*) * 2 AS n FROM flaky' });
    const tick3 = await tick([sessionCount, brokenIds, countTwice, neverGood, latestIds]);
    expect(tick3.views.map((v) => v.name)).toEqual(['flaky_count']);
    expect(tick3.views[0]).toMatchObject({ status: 'failed', error: expect.stringMatching(/^not refreshed: it reads flaky, which failed \(.*no_such_column/) });
    expect(await flakyCountValue()).toBe(5);
  });

  it('recovers when its definition is fixed', async () => {
    await new Promise((r) => setTimeout(r, 10));
    const third = await tick([sessionCount, goodIds, flakyCount, neverGood, latestIds]);
    expect(third.views.find((v) => v.name === 'flaky')?.status).toBe('materialized');
    expect(await ids('flaky')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(third.views.find((v) => v.name === 'flaky_count')?.status).toBe('materialized');
    expect(await flakyCountValue()).toBe(8);
    // never_good failed on this data with this definition: it is not tried again until either changes
    expect(third.views.map((v) => v.name)).not.toContain('never_good');
    const [flaky] = await queryFile<{ last_error: string | null; watermark: number }>(
      paths.published,
      `SELECT last_error, watermark::DOUBLE AS watermark FROM lattice.views WHERE name = 'flaky'`,
    );
    expect(flaky).toEqual({ last_error: null, watermark: 2 });
    const stale = await queryFile<{ name: string }>(paths.published, 'SELECT name FROM lattice.views WHERE stale ORDER BY name');
    expect(stale.map((v) => v.name)).toEqual(['never_good']);
  });
});

describe('a file published before lattice.views had a stale column', () => {
  it('is still read, a view with a last error counting as stale (its rule then: a failed view kept its old rows)', async () => {
    const home = await tempHome('lattice-views-old-');
    const instance = await DuckDBInstance.create(join(home.dir, 'old.duckdb'));
    const conn = await instance.connect();
    try {
      // The DDL as it was, without the column.
      for (const ddl of META_DDL.filter((d) => !d.includes('stale'))) await conn.run(ddl);
      await conn.run(`INSERT INTO lattice.views (name, description, refresh_interval_seconds, key_columns, materialized_at, row_count, last_error)
                      VALUES ('good', 'd', 0, ['k'], now(), 1, NULL), ('failed', 'd', 0, ['k'], now(), 1, 'boom'), ('never', 'd', 0, ['k'], NULL, NULL, 'boom')`);
      const rows = ViewStateSchema.array().parse((await conn.runAndReadAll(SELECT_VIEWS_SQL)).getRowObjectsJson());
      expect(rows.map((r) => [r.name, r.stale])).toEqual([
        ['failed', true],
        ['good', false],
        ['never', true],
      ]);
    } finally {
      conn.disconnectSync();
      instance.closeSync();
      await home.cleanup();
    }
  });
});
