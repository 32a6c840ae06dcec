import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { request } from 'undici';
import { pino } from 'pino';
import type { FakeRecall } from './fake-recall/server.js';
import { tempHome, type TempHome } from './helpers/processes.js';
import { queryFile } from './helpers/snapshot.js';
import { homePaths } from '../src/shared/paths.js';
import { DEFAULTS } from '../src/shared/config.js';
import { startReadsServer, type ReadsServer } from '../src/reads/http/server.js';
import { BadParameterError, NoSnapshotError, UnknownViewError } from '../src/reads/contract/errors.js';
import type { ErrorResponse, ViewListResponse, ViewRowsResponse } from '../src/reads/contract/api-types.js';
import { agent, get, pull, startFake, startReads, type ReadsProcess } from './reads/fixtures.js';

// src/shared/version.ts finds package.json relative to dist/; from the sources it looks one level too high.
vi.mock('../src/shared/version.js', async (original) => ({ ...(await original<object>()), VERSION: '0.0.0-test' }));

/**
 * The HTTP surface: the table of bad requests against a real `serve-reads` process over real
 * HTTP, and the route semantics through Fastify's inject on an in-process server (same snapshot).
 */

let home: TempHome;
let fake: FakeRecall;
let proc: ReadsProcess;
let server: ReadsServer;

beforeAll(async () => {
  home = await tempHome('lattice-reads-http-');
  fake = await startFake(400);
  await pull(home.dir, fake);
  proc = await startReads(home.dir);
  server = await startReadsServer({
    config: { ...DEFAULTS, home: home.dir, port: 0 },
    logger: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  await proc?.stop();
  await server?.close();
  await fake?.close();
  await home?.cleanup();
});

interface BadCase {
  name: string;
  path: string;
  method?: string;
  headers?: Record<string, string>;
  status: number;
  code: ErrorResponse['error']['code'];
  parameter?: string;
}

const V = '/views/tool_sessions';
const BAD: BadCase[] = [
  { name: 'negative limit', path: `${V}?limit=-1`, status: 400, code: 'bad_parameter', parameter: 'limit' },
  { name: 'limit above max', path: `${V}?limit=10001`, status: 400, code: 'bad_parameter', parameter: 'limit' },
  { name: 'huge limit', path: `${V}?limit=99999999999999999999999`, status: 400, code: 'bad_parameter', parameter: 'limit' },
  { name: 'fractional limit', path: `${V}?limit=1.5`, status: 400, code: 'bad_parameter', parameter: 'limit' },
  { name: 'exponent limit', path: `${V}?limit=1e3`, status: 400, code: 'bad_parameter', parameter: 'limit' },
  { name: 'empty limit', path: `${V}?limit=`, status: 400, code: 'bad_parameter', parameter: 'limit' },
  { name: 'negative offset', path: `${V}?offset=-5`, status: 400, code: 'bad_parameter', parameter: 'offset' },
  { name: 'huge offset', path: `${V}?offset=99999999999999999`, status: 400, code: 'bad_parameter', parameter: 'offset' },
  { name: 'SQL in offset', path: `${V}?offset=${encodeURIComponent('0; DROP TABLE tool_sessions')}`, status: 400, code: 'bad_parameter', parameter: 'offset' },
  { name: 'repeated limit', path: `${V}?limit=1&limit=2`, status: 400, code: 'bad_parameter', parameter: 'limit' },
  { name: 'repeated filter', path: `${V}?filter[tool_name]=a&filter[tool_name]=b`, status: 400, code: 'bad_parameter', parameter: 'filter[tool_name]' },
  { name: 'unknown order_by column', path: `${V}?order_by=nope`, status: 400, code: 'bad_parameter', parameter: 'order_by' },
  {
    name: 'SQL in order_by',
    path: `${V}?order_by=${encodeURIComponent('tool_name; DROP TABLE tool_sessions')}`,
    status: 400,
    code: 'bad_parameter',
    parameter: 'order_by',
  },
  { name: 'subquery in order_by', path: `${V}?order_by=${encodeURIComponent('(SELECT 1)')}`, status: 400, code: 'bad_parameter', parameter: 'order_by' },
  {
    name: 'quoted identifier in order_by',
    path: `${V}?order_by=${encodeURIComponent('"tool_name"')}`,
    status: 400,
    code: 'bad_parameter',
    parameter: 'order_by',
  },
  { name: 'order_by column twice', path: `${V}?order_by=tool_name,-tool_name`, status: 400, code: 'bad_parameter', parameter: 'order_by' },
  { name: 'empty order_by', path: `${V}?order_by=`, status: 400, code: 'bad_parameter', parameter: 'order_by' },
  { name: 'order_by DESC keyword', path: `${V}?order_by=${encodeURIComponent('tool_name DESC')}`, status: 400, code: 'bad_parameter', parameter: 'order_by' },
  { name: 'unknown filter column', path: `${V}?filter[nope]=1`, status: 400, code: 'bad_parameter', parameter: 'filter[nope]' },
  {
    name: 'SQL in an integer filter',
    path: `${V}?filter[session_count]=${encodeURIComponent('1 OR 1=1')}`,
    status: 400,
    code: 'bad_parameter',
    parameter: 'filter[session_count]',
  },
  {
    name: 'statement in an integer filter',
    path: `${V}?filter[session_count]=${encodeURIComponent('1; DROP TABLE tool_sessions')}`,
    status: 400,
    code: 'bad_parameter',
    parameter: 'filter[session_count]',
  },
  { name: 'non-integer list filter', path: `${V}?filter[session_ids]=abc`, status: 400, code: 'bad_parameter', parameter: 'filter[session_ids]' },
  {
    name: 'SQL as a filter column',
    path: `${V}?filter[${encodeURIComponent('tool_name" OR 1=1 --')}]=x`,
    status: 400,
    code: 'bad_parameter',
    parameter: 'filter[tool_name" OR 1=1 --]',
  },
  {
    name: 'unicode filter column',
    path: `${V}?filter[${encodeURIComponent('tööl_名前')}]=x`,
    status: 400,
    code: 'bad_parameter',
    parameter: 'filter[tööl_名前]',
  },
  { name: 'bare column as a parameter', path: `${V}?tool_name=Bash`, status: 400, code: 'bad_parameter', parameter: 'tool_name' },
  { name: 'unknown parameter', path: `${V}?limt=5`, status: 400, code: 'bad_parameter', parameter: 'limt' },
  { name: 'parameter on /views', path: '/views?x=1', status: 400, code: 'bad_parameter', parameter: 'x' },
  { name: 'unknown format', path: `${V}?format=xml`, status: 400, code: 'bad_parameter', parameter: 'format' },
  { name: 'unacceptable Accept', path: V, headers: { accept: 'image/png' }, status: 406, code: 'not_acceptable' },
  { name: 'unknown view', path: '/views/nope', status: 404, code: 'unknown_view' },
  { name: 'unicode view name', path: `/views/${encodeURIComponent('ツール_sessions')}`, status: 404, code: 'unknown_view' },
  { name: 'SQL as a view name', path: `/views/${encodeURIComponent('tool_sessions; DROP TABLE x')}`, status: 404, code: 'unknown_view' },
  { name: 'path traversal (encoded)', path: `/views/${encodeURIComponent('../../etc/passwd')}`, status: 404, code: 'unknown_view' },
  { name: 'path traversal (raw)', path: '/views/../../../etc/passwd', status: 404, code: 'not_found' },
  { name: 'NUL in a view name', path: '/views/tool_sessions%00', status: 404, code: 'unknown_view' },
  { name: 'bad percent-encoding', path: '/views/%E0%A4%A', status: 400, code: 'bad_request' },
  // Past find-my-way's default maxParamLength: was a 400 quoting the whole path (issue 25).
  { name: '5,000-character view name', path: `/views/${'a'.repeat(5000)}`, status: 404, code: 'unknown_view' },
  { name: '5,000-character view name with bad percent-encoding', path: `/views/${'a'.repeat(5000)}%E0%A4%A`, status: 400, code: 'bad_request' },
  { name: '5,000-character path', path: `/${'a'.repeat(5000)}`, status: 404, code: 'not_found' },
  { name: 'unknown route', path: '/nope', status: 404, code: 'not_found' },
  { name: 'POST a view', path: V, method: 'POST', status: 405, code: 'method_not_allowed' },
  { name: 'PUT the catalog', path: '/views', method: 'PUT', status: 405, code: 'method_not_allowed' },
  { name: 'DELETE healthz', path: '/healthz', method: 'DELETE', status: 405, code: 'method_not_allowed' },
  { name: 'PATCH openapi', path: '/openapi.json', method: 'PATCH', status: 405, code: 'method_not_allowed' },
  { name: 'OPTIONS', path: V, method: 'OPTIONS', status: 405, code: 'method_not_allowed' },
  { name: 'POST an unknown route', path: '/nope', method: 'POST', status: 405, code: 'method_not_allowed' },
  { name: 'foreign Host', path: V, headers: { host: 'evil.example' }, status: 403, code: 'forbidden_host' },
  { name: 'foreign Host with port', path: '/healthz', headers: { host: 'evil.example:7778' }, status: 403, code: 'forbidden_host' },
  { name: 'rebinding-style Host', path: V, headers: { host: 'localhost.evil.example' }, status: 403, code: 'forbidden_host' },
  { name: 'foreign Origin', path: V, headers: { origin: 'http://evil.example' }, status: 403, code: 'forbidden_host' },
  { name: 'null Origin', path: '/views', headers: { origin: 'null' }, status: 403, code: 'forbidden_host' },
  { name: '64 KB query string', path: `${V}?filter[tool_name]=${'x'.repeat(64 * 1024)}`, status: 431, code: 'bad_request' },
];

describe('bad requests (real process, real HTTP)', () => {
  it(`has at least 30 cases`, () => {
    expect(BAD.length).toBeGreaterThanOrEqual(30);
  });

  for (const c of BAD) {
    it(`${c.name}: ${c.status} ${c.code}`, async () => {
      const res = await request(`${proc.url}${c.path}`, { method: (c.method ?? 'GET') as 'GET', headers: c.headers ?? {}, dispatcher: agent });
      const text = await res.body.text();
      expect(res.statusCode, text).toBe(c.status);
      expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
      const body = JSON.parse(text) as ErrorResponse;
      expect(body.error.code).toBe(c.code);
      expect(body.error.message.length).toBeGreaterThan(5);
      expect(text).not.toMatch(/\bat .*\.js:\d+/); // no stack trace
      // What is echoed of the request is cut: a long path or value is not sent back whole.
      expect(text.length, text.slice(0, 300)).toBeLessThan(2000);
      if (c.parameter !== undefined) {
        expect(body.error.parameter).toBe(c.parameter);
        expect(body.error.message).toContain(c.parameter);
      }
      if (c.status === 405) expect(res.headers.allow).toBe('GET, HEAD');
    });
  }

  it('still answers a good request afterwards, and SQL in a string filter is only data', async () => {
    const good = await get(`${proc.url}${V}?limit=3&order_by=-session_count`);
    expect(good.status).toBe(200);
    expect((good.json as ViewRowsResponse).rows).toHaveLength(3);
    const sql = await get(`${proc.url}${V}?filter[tool_name]=${encodeURIComponent("x' OR '1'='1")}`);
    expect(sql.status).toBe(200);
    expect((sql.json as ViewRowsResponse).total).toBe(0);
    expect(proc.daemon.running).toBe(true);
    expect(proc.daemon.stdout).not.toMatch(/"level":50/);
  });

  it('accepts the loopback spellings of Host and Origin', async () => {
    const port = new URL(proc.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost', 'LOCALHOST']) {
      expect((await get(`${proc.url}/healthz`, { host })).status, host).toBe(200);
    }
    expect((await get(`${proc.url}/views`, { origin: `http://localhost:${port}` })).status).toBe(200);
  });
});

describe('routes (inject)', () => {
  const inject = (url: string, headers: Record<string, string> = {}) => server.app.inject({ method: 'GET', url, headers });

  it('reads rows as the file holds them: BIGINT as numbers, lists as arrays, key order by default', async () => {
    const res = await inject(`${V}?limit=100`);
    expect(res.statusCode).toBe(200);
    const body = res.json() as ViewRowsResponse;
    const fromFile = await queryFile<{ j: string }>(
      homePaths(home.dir).published,
      'SELECT to_json(t)::VARCHAR AS j FROM main.tool_sessions t ORDER BY tool_name',
    );
    expect(body.rows).toEqual(fromFile.map((r) => JSON.parse(r.j) as unknown));
    expect(body.total).toBe(fromFile.length);
    expect(body.columns.map((c) => c.type)).toEqual(['VARCHAR', 'BIGINT', 'BIGINT[]']);
    expect(body.freshness.generation).toBe(1);
    expect(body.freshness.scan_version).toBe(1);
    expect(body.freshness.age_seconds).toBeGreaterThanOrEqual(0);
    expect(res.headers['x-lattice-generation']).toBe('1');
  });

  it('sorts, pages stably and filters', async () => {
    const all = (await inject(`${V}?order_by=-session_count&limit=10000`)).json() as ViewRowsResponse;
    const counts = all.rows.map((r) => r.session_count as number);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    const pages: unknown[] = [];
    for (let offset = 0; offset < all.total!; offset += 7) {
      pages.push(...((await inject(`${V}?order_by=-session_count&limit=7&offset=${offset}`)).json() as ViewRowsResponse).rows);
    }
    expect(pages).toEqual(all.rows);
    const bash = (await inject(`${V}?filter[tool_name]=Bash`)).json() as ViewRowsResponse;
    expect(bash.total).toBe(1);
    expect(bash.filters).toEqual([{ column: 'tool_name', op: 'eq', value: 'Bash' }]);
    const byCount = (await inject(`${V}?filter[session_count]=${bash.rows[0]!.session_count as number}`)).json() as ViewRowsResponse;
    expect(byCount.rows.some((r) => r.tool_name === 'Bash')).toBe(true);
    const sessionId = (bash.rows[0]!.session_ids as number[])[0]!;
    const containing = (await inject(`${V}?filter[session_ids]=${sessionId}&limit=10000`)).json() as ViewRowsResponse;
    expect(containing.rows.every((r) => (r.session_ids as number[]).includes(sessionId))).toBe(true);
    expect(containing.rows.some((r) => r.tool_name === 'Bash')).toBe(true);
    const zero = (await inject(`${V}?limit=0`)).json() as ViewRowsResponse;
    expect(zero.rows).toEqual([]);
    expect(zero.total).toBe(all.total);
    const past = (await inject(`${V}?offset=100000`)).json() as ViewRowsResponse;
    expect(past.rows).toEqual([]);
  });

  it('speaks NDJSON and CSV by Accept or ?format=', async () => {
    const nd = await inject(`${V}?limit=3`, { accept: 'application/x-ndjson' });
    expect(nd.headers['content-type']).toMatch(/application\/x-ndjson/);
    const lines = nd.body.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(Object.keys(JSON.parse(lines[0]!) as object)).toEqual(['tool_name', 'session_count', 'session_ids']);
    expect(nd.headers['x-lattice-generation']).toBe('1');
    expect(nd.headers['x-lattice-total']).toBeDefined();
    const csv = await inject(`${V}?limit=2&format=csv`, { accept: 'application/json' });
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    const [header, first] = csv.body.split('\r\n');
    expect(header).toBe('tool_name,session_count,session_ids');
    expect(first).toMatch(/^[^,]+,\d+,"\[\d+(,\d+)*\]"$/);
    expect((await inject(V, { accept: 'text/csv;q=0.5, application/json' })).headers['content-type']).toMatch(/json/);
    expect((await inject(V, { accept: 'text/html,*/*;q=0.8' })).headers['content-type']).toMatch(/json/);
  });

  it('gives an ETag per (generation, query) and a 304 on If-None-Match', async () => {
    const a = await inject(`${V}?limit=5`);
    const b = await inject(`${V}?limit=6`);
    const etag = a.headers.etag as string;
    expect(etag).toMatch(/^W\/"g1-/);
    expect(b.headers.etag).not.toBe(etag);
    const again = await inject(`${V}?limit=5`, { 'if-none-match': etag });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect(again.headers['x-lattice-generation']).toBe('1');
    // The cached body is the same bytes apart from the age.
    const cached = await inject(`${V}?limit=5`);
    const strip = (s: string) => s.replace(/"age_seconds":[\d.]+/, '');
    expect(strip(cached.body)).toBe(strip(a.body));
    const cat = await inject('/views');
    expect((await inject('/views', { 'if-none-match': cat.headers.etag as string })).statusCode).toBe(304);
  });

  it('streams a large result, and caches what it streamed', async () => {
    const small = await startReadsServer({
      config: { ...DEFAULTS, home: home.dir, port: 0 },
      logger: pino({ level: 'silent' }),
      streamThresholdBytes: 2000,
    });
    try {
      for (const format of ['json', 'ndjson', 'csv']) {
        const url = `${small.url}${V}?limit=10000&format=${format}`;
        const first = await request(url, { dispatcher: agent });
        const text = await first.body.text();
        expect(first.statusCode).toBe(200);
        expect(first.headers['transfer-encoding'], format).toBe('chunked');
        const buffered = (await inject(`${V}?limit=10000&format=${format}`)).body;
        const strip = (s: string) => s.replace(/"age_seconds":[\d.]+/, '');
        expect(strip(text)).toBe(strip(buffered));
        const second = await request(url, { dispatcher: agent });
        expect(second.headers['content-length'], `${format} from the cache`).toBeDefined();
        expect(strip(await second.body.text())).toBe(strip(text));
      }
    } finally {
      await small.close();
    }
  });

  it('lists the catalog with columns and freshness', async () => {
    const res = await inject('/views');
    const body = res.json() as ViewListResponse;
    const view = body.views.find((v) => v.name === 'tool_sessions')!;
    expect(view.columns.map((c) => c.name)).toEqual(['tool_name', 'session_count', 'session_ids']);
    expect(view.key_columns).toEqual(['tool_name']);
    expect(view.row_count).toBeGreaterThan(0);
    expect(body.freshness.generation).toBe(1);
  });

  it('exposes the service layer with typed errors', async () => {
    const svc = server.service;
    expect(svc.listViews().views.length).toBeGreaterThan(0);
    expect(svc.describeView('tool_sessions').freshness.generation).toBe(1);
    expect(() => svc.describeView('nope')).toThrow(UnknownViewError);
    await expect(svc.readView('tool_sessions', { limit: 20000 })).rejects.toThrow(BadParameterError);
    await expect(svc.readView('tool_sessions', { filters: { session_count: 'x' } })).rejects.toMatchObject({ parameter: 'filters.session_count' });
    const rows = await svc.readView('tool_sessions', { limit: 2, order_by: ['-session_count'], filters: { session_ids: 1 } });
    expect(rows.rows.length).toBeLessThanOrEqual(2);
    expect(rows.order_by).toEqual(['-session_count']);
    const health = await svc.health();
    expect(health.generation).toBe(1);
    expect(new NoSnapshotError('/x').status).toBe(503);
  });
});
