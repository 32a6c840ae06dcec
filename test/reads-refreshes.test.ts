import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import type { Agent } from 'undici';
import { pino } from 'pino';
import type { ErrorResponse, Refresh, RefreshListResponse, ViewListResponse } from '../src/reads/contract/api-types.js';
import { startReadsServer, type ReadsServer } from '../src/reads/http/server.js';
import { upstreamAgent } from '../src/puller/fetch.js';
import { loadPriceTable } from '../src/puller/prices.js';
import { runTick } from '../src/puller/tick.js';
import { ElementIndex } from '../src/puller/element-index.js';
import type { WorkDb } from '../src/puller/work-db.js';
import { openWorkDb } from '../src/puller/work-schema.js';
import { defineView, type ViewDefinition } from '../src/shared/catalog/define.js';
import { DEFAULTS } from '../src/shared/config.js';
import { homePaths } from '../src/shared/paths.js';
import { generatePayloadText } from './fake-recall/generate.js';
import { startFakeRecall, type FakeRecall } from './fake-recall/server.js';
import { eventually, tempHome, type TempHome } from './helpers/processes.js';
import { publish, startPulledServer, type PulledServer } from './reads/fixtures.js';
import { queryFile } from './helpers/snapshot.js';

/*
 * GET /refreshes: the puller's refresh log as served, against real pulls (the fake repo-recall,
 * the real puller writing lattice.refresh_log, the reads server reading the published file).
 */

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

type Inject = (url: string, headers?: Record<string, string>, method?: 'GET' | 'HEAD') => Promise<LightMyRequestResponse>;

function injector(server: ReadsServer): Inject {
  return (url, headers = {}, method = 'GET') => server.app.inject({ method, url, headers });
}

/** Most recent first, ties by view name: what the route promises. */
function inServedOrder(list: readonly Refresh[]): Refresh[] {
  return [...list].sort((a, b) => (a.started_at !== b.started_at ? (a.started_at < b.started_at ? 1 : -1) : a.view < b.view ? -1 : a.view > b.view ? 1 : 0));
}

function expectError(res: LightMyRequestResponse, status: number, code: string, parameter?: string): ErrorResponse {
  expect(res.statusCode, res.body).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  expect(res.headers.etag).toBeUndefined();
  const body = JSON.parse(res.body) as ErrorResponse;
  expect(body.error.code).toBe(code);
  if (parameter !== undefined) expect(body.error.parameter).toBe(parameter);
  expect(res.body).not.toMatch(/stack|\n\s+at |\.ts:\d|\.js:\d/);
  return body;
}

describe('GET /refreshes over real pulls', () => {
  let pulled: PulledServer;
  let inject: Inject;
  let first: RefreshListResponse;
  let catalog: ViewListResponse;

  beforeAll(async () => {
    pulled = await startPulledServer('lattice-reads-refreshes-', 150);
    inject = injector(pulled.server);
    first = (await inject('/refreshes')).json() as RefreshListResponse;
    catalog = (await inject('/views')).json() as ViewListResponse;
  });

  afterAll(async () => {
    await pulled?.close();
  });

  it("lists one refresh per view for the generation's tick, with the row count GET /views gives", () => {
    expect(first.freshness).toEqual({ ...catalog.freshness, age_seconds: first.freshness.age_seconds });
    expect(first.refreshes.map((r) => r.view).sort()).toEqual(catalog.views.map((v) => v.name).sort());
    const rowCounts = new Map(catalog.views.map((v) => [v.name, v.row_count]));
    for (const r of first.refreshes) {
      expect(r.row_count, r.view).toBe(rowCounts.get(r.view));
      expect(r.error).toBeNull();
      expect(r.started_at).toMatch(ISO_MS);
      expect(r.finished_at).toMatch(ISO_MS);
      expect(Date.parse(r.finished_at)).toBeGreaterThanOrEqual(Date.parse(r.started_at));
      expect(r.duration_ms).toBeGreaterThanOrEqual(0);
      // computed from the microseconds, so within a millisecond of the rounded strings' difference
      expect(Math.abs(r.duration_ms - (Date.parse(r.finished_at) - Date.parse(r.started_at)))).toBeLessThanOrEqual(1);
    }
  });

  it('durations are real: the views run one after another, and each covers the work lattice.views timed for it', async () => {
    const ascending = [...first.refreshes].reverse();
    for (let i = 1; i < ascending.length; i++) {
      expect(Date.parse(ascending[i]!.started_at), ascending[i]!.view).toBeGreaterThanOrEqual(Date.parse(ascending[i - 1]!.finished_at));
    }
    // The puller times each materialization (last_duration_ms, from the same start) before it logs
    // the refresh, so the logged duration is at least that, less the millisecond clock's rounding.
    // (A finish time taken from the transaction's start made every logged duration ~0.)
    const timed = await queryFile<{ name: string; last_duration_ms: number }>(
      homePaths(pulled.home.dir).published,
      'SELECT name, last_duration_ms FROM lattice.views',
    );
    expect(timed.length).toBe(first.refreshes.length);
    for (const { name, last_duration_ms } of timed) {
      expect(first.refreshes.find((r) => r.view === name)!.duration_ms, name).toBeGreaterThanOrEqual(last_duration_ms - 1);
    }
    expect(
      timed.some((t) => t.last_duration_ms > 1),
      'no view took over a millisecond: the check above proved nothing',
    ).toBe(true);
  });

  it('is most recent first, ties by view name', () => {
    expect(first.refreshes.map((r) => r.view)).toEqual(inServedOrder(first.refreshes).map((r) => r.view));
  });

  it('view= keeps one view, limit= bounds the list', async () => {
    const one = (await inject('/refreshes?view=session_facts')).json() as RefreshListResponse;
    expect(one.refreshes).toEqual(first.refreshes.filter((r) => r.view === 'session_facts'));
    expect(one.refreshes).toHaveLength(1);
    const three = (await inject('/refreshes?limit=3')).json() as RefreshListResponse;
    expect(three.refreshes).toEqual(first.refreshes.slice(0, 3));
    expect(((await inject('/refreshes?limit=1&view=tool_sessions')).json() as RefreshListResponse).refreshes.map((r) => r.view)).toEqual(['tool_sessions']);
    expect(((await inject('/refreshes?limit=1000')).json() as RefreshListResponse).refreshes).toEqual(first.refreshes);
  });

  it('answers If-None-Match with a 304 per generation and query, and HEAD like GET', async () => {
    const res = await inject('/refreshes');
    const etag = String(res.headers.etag);
    expect(etag).toMatch(/^W\/"g1-/);
    expect(res.headers['x-lattice-generation']).toBe('1');
    expect(res.headers['cache-control']).toBe('no-cache');
    const again = await inject('/refreshes', { 'if-none-match': etag });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    const other = await inject('/refreshes?limit=3', { 'if-none-match': etag });
    expect(other.statusCode).toBe(200);
    expect(other.headers.etag).not.toBe(etag);
    expect((await inject('/refreshes?view=session_facts')).headers.etag).not.toBe(etag);
    const head = await inject('/refreshes', {}, 'HEAD');
    expect(head.statusCode).toBe(200);
    expect(head.headers.etag).toBe(etag);
    expect(head.body).toBe('');
  });

  it('refuses a bad limit or an unknown parameter (400) and an unknown view (404), in the error format', async () => {
    for (const limit of ['0', '1001', 'abc', '1.5', '-1', '', ' ', '1e3', '99999999999999999999']) {
      const body = expectError(await inject(`/refreshes?limit=${encodeURIComponent(limit)}`), 400, 'bad_parameter', 'limit');
      expect(body.error.message).toMatch(/1 to 1000/);
    }
    expectError(await inject('/refreshes?limit=1&limit=2'), 400, 'bad_parameter', 'limit');
    expectError(await inject('/refreshes?foo=1'), 400, 'bad_parameter', 'foo');
    expectError(await inject('/refreshes?filter[view]=x'), 400, 'bad_parameter', 'filter[view]');
    const unknown = expectError(await inject('/refreshes?view=no_such_view'), 404, 'unknown_view');
    expect(unknown.error.message).toMatch(/no_such_view.*session_facts/);
    expectError(await inject('/refreshes?view='), 404, 'unknown_view');
    // an ETag does not turn a 404 into a 304
    expectError(await inject('/refreshes?view=no_such_view', { 'if-none-match': '*' }), 404, 'unknown_view');
  });

  it('a second pull adds its refreshes in front, and changes the ETag', async () => {
    const before = await inject('/refreshes');
    const { fake, home, server } = pulled;
    await publish(home.dir, fake, 200, 2);
    await server.generations.check();
    const after = await eventually(async () => {
      const res = await inject('/refreshes', { 'if-none-match': String(before.headers.etag) });
      return res.statusCode === 200 ? res : undefined;
    }, 'generation 2 to be served');
    expect(after.headers['x-lattice-generation']).toBe('2');
    const second = after.json() as RefreshListResponse;
    const views = (await inject('/views')).json() as ViewListResponse;
    const added = second.refreshes.slice(0, second.refreshes.length - first.refreshes.length);
    // every view was redone from the new data: the new entries are the newest, each with the new row count
    expect(added.map((r) => r.view).sort()).toEqual(views.views.map((v) => v.name).sort());
    expect(second.refreshes.slice(added.length)).toEqual(first.refreshes);
    const oldest = Math.min(...added.map((r) => Date.parse(r.started_at)));
    expect(oldest).toBeGreaterThanOrEqual(Math.max(...first.refreshes.map((r) => Date.parse(r.started_at))));
    const rowCounts = new Map(views.views.map((v) => [v.name, v.row_count]));
    for (const r of added) expect(r.row_count, r.view).toBe(rowCounts.get(r.view));
    expect(second.refreshes.map((r) => r.view)).toEqual(inServedOrder(second.refreshes).map((r) => r.view));
    const facts = (await inject('/refreshes?view=session_facts')).json() as RefreshListResponse;
    const factsRows = (list: ViewListResponse) => list.views.find((v) => v.name === 'session_facts')?.row_count;
    expect(facts.refreshes.map((r) => r.row_count)).toEqual([factsRows(views), factsRows(catalog)]);
  });
});

/*
 * A view whose refresh fails, and a file whose log is empty: produced in process with a test
 * catalog (as test/views-failure.test.ts does), then served by an in-process reads server.
 */
describe('GET /refreshes with a failed refresh, and with an empty log', () => {
  let home: TempHome;
  let recall: FakeRecall;
  let db: WorkDb;
  // One per working database, as the Puller keeps it.
  const index = new ElementIndex();
  let agent: Agent;
  let server: ReadsServer | undefined;

  const sessionCount = defineView({
    name: 'session_count',
    description: 'How many sessions there are.',
    keyColumns: ['sessions'],
    sql: 'SELECT count(*) AS sessions FROM base.sessions',
  });
  const broken = defineView({
    name: 'broken',
    description: 'Broken from the start.',
    keyColumns: ['x'],
    sql: 'SELECT x FROM base.no_such_table',
  });

  beforeAll(async () => {
    home = await tempHome('lattice-reads-refreshes-failed-');
    recall = await startFakeRecall({ sessions: 0 });
    const paths = homePaths(home.dir);
    db = await openWorkDb(paths.workDb, paths.home);
    agent = upstreamAgent(30);
  });

  afterAll(async () => {
    await server?.close();
    db?.close();
    await agent?.close();
    await recall?.close();
    await home?.cleanup();
  });

  async function tick(catalog: readonly ViewDefinition[]) {
    const outcome = await runTick({
      db,
      index,
      agent,
      paths: homePaths(home.dir),
      catalog,
      upstream: { baseUrl: recall.url, maxBytes: 1 << 30, retries: 0, deadlineSeconds: 600, timeoutSeconds: 30 },
      guard: { maxShrinkPercent: DEFAULTS.maxShrinkPercent, confirmTicks: DEFAULTS.shrinkConfirmTicks, acceptShrink: false },
      inputs: { timezone: 'UTC', prices: await loadPriceTable(null) },
    });
    expect(outcome.outcome).toBe('published');
  }

  async function serve(): Promise<Inject> {
    server ??= await startReadsServer({ config: { ...DEFAULTS, home: home.dir, port: 0 }, logger: pino({ level: 'silent' }) });
    await server.generations.check();
    return injector(server);
  }

  it('answers an empty list when the log has no rows', async () => {
    await recall.setPayloadText(generatePayloadText({ sessions: 4, messy: false, seed: 3 }));
    await tick([]);
    const inject = await serve();
    const res = await inject('/refreshes');
    expect(res.statusCode, res.body).toBe(200);
    expect((res.json() as RefreshListResponse).refreshes).toEqual([]);
  });

  it("shows a failed refresh's error, with no row count", async () => {
    await recall.setPayloadText(generatePayloadText({ sessions: 5, messy: false, seed: 3 }));
    await tick([sessionCount, broken]);
    const inject = await serve();
    const list = await eventually(async () => {
      const res = await inject('/refreshes');
      return res.headers['x-lattice-generation'] === '2' ? (res.json() as RefreshListResponse).refreshes : undefined;
    }, 'generation 2 to be served');
    expect(list.map((r) => [r.view, r.row_count, r.error === null])).toEqual(inServedOrder(list).map((r) => [r.view, r.row_count, r.error === null]));
    const failed = list.find((r) => r.view === 'broken');
    expect(failed).toMatchObject({ row_count: null, error: expect.stringMatching(/no_such_table/) });
    expect(list.find((r) => r.view === 'session_count')).toMatchObject({ row_count: 1, error: null });
    // the view never materialized, yet it is in the catalog: its history is there to ask for
    const only = (await inject('/refreshes?view=broken')).json() as RefreshListResponse;
    expect(only.refreshes).toEqual([failed]);
  });
});
