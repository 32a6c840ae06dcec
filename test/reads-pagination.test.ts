import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FakeRecall } from './fake-recall/server.js';
import { eventually, type TempHome } from './helpers/processes.js';
import type { ReadsServer } from '../src/reads/http/server.js';
import type { HealthResponse, ViewRowsResponse } from '../src/reads/contract/api-types.js';
import { get, publish, startPulledServer, startReads, type PulledServer, type ReadsProcess } from './reads/fixtures.js';

vi.mock('../src/shared/version.js', async (original) => ({ ...(await original<object>()), VERSION: '0.0.0-test' }));

/**
 * Keyset pagination: following `next_url` from the first page to the last returns exactly the
 * rows of one unpaginated read, in the same order, for sorts with NULLs in either direction, with
 * filters and chosen columns, in JSON (body) and NDJSON (Link header), and while the puller
 * publishes new generations underneath.
 */

let pulled: PulledServer;
let home: TempHome;
let fake: FakeRecall;
let server: ReadsServer;

beforeAll(async () => {
  pulled = await startPulledServer('lattice-reads-pages-', 300);
  ({ home, fake, server } = pulled);
});

afterAll(async () => {
  await pulled?.close();
});

async function json(base: string, path: string): Promise<ViewRowsResponse> {
  const res = await get(`${base}${path}`);
  expect(res.status, res.text.slice(0, 300)).toBe(200);
  return res.json as ViewRowsResponse;
}

/** Every page from `first`, following next_url; returns the rows, the pages and the generations seen. */
async function follow(
  base: string,
  first: string,
  between?: (page: number) => Promise<void>,
): Promise<{ rows: unknown[]; pages: number; generations: Set<number> }> {
  const rows: unknown[] = [];
  const generations = new Set<number>();
  let path: string | null = first;
  let pages = 0;
  while (path !== null) {
    const body = await json(base, path);
    rows.push(...body.rows);
    generations.add(body.freshness.generation);
    pages++;
    expect(pages).toBeLessThan(1000);
    if (body.next !== null) expect(body.next_url).toContain(`after=${encodeURIComponent(body.next)}`);
    path = body.next_url;
    if (path !== null && between) await between(pages);
  }
  return { rows, pages, generations };
}

const SORTS = [
  { name: 'the key (default)', query: '' },
  { name: 'a double with NULLs, descending', query: 'order_by=-cost_usd' },
  { name: 'a timestamp with NULLs, ascending', query: 'order_by=started_at' },
  { name: 'a date descending then text', query: 'order_by=-started_day,cwd' },
  { name: 'a boolean then an integer', query: 'order_by=uses_sidechain,-tool_calls' },
  {
    name: 'filtered, with chosen columns',
    query: 'order_by=-total_tokens&filter[cost_usd][isnull]=false&filter[started_day][gte]=2000-01-01&columns=total_tokens,cwd',
  },
];

describe('following next_url', () => {
  for (const sort of SORTS) {
    it(`returns every row once, in order: ${sort.name}`, async () => {
      const q = sort.query === '' ? '' : `&${sort.query}`;
      const whole = await json(server.url, `/views/session_facts?limit=10000${q}`);
      expect(whole.next).toBeNull();
      const paged = await follow(server.url, `/views/session_facts?limit=23${q}`);
      expect(paged.rows.length).toBeGreaterThan(100);
      expect(paged.pages).toBe(Math.ceil(whole.rows.length / 23));
      expect(paged.rows).toEqual(whole.rows);
    });
  }

  it('carries the cursor in a Link header for NDJSON and CSV, and the pages add up', async () => {
    const lines: string[] = [];
    let path: string | null = '/views/tool_sessions?limit=7&order_by=-session_count&format=ndjson';
    let pages = 0;
    while (path !== null) {
      const res = await get(`${server.url}${path}`);
      expect(res.status).toBe(200);
      lines.push(...res.text.split('\n').filter((l) => l !== ''));
      const link = res.headers.link as string | undefined;
      path = link === undefined ? null : /^<([^>]+)>; rel="next"$/.exec(link)![1]!;
      if (path !== null) expect(path).toContain('format=ndjson');
      pages++;
    }
    const whole = await get(`${server.url}/views/tool_sessions?limit=10000&order_by=-session_count&format=ndjson`);
    expect(pages).toBeGreaterThan(2);
    expect(lines).toEqual(whole.text.split('\n').filter((l) => l !== ''));
  });

  it('continues an offset page by cursor, and says nothing more on the last page or at limit 0', async () => {
    const whole = await json(server.url, '/views/tool_sessions?limit=10000');
    const byOffset = await json(server.url, '/views/tool_sessions?limit=5&offset=5');
    expect(byOffset.next_url).not.toContain('offset');
    const after = await json(server.url, byOffset.next_url!);
    expect([...byOffset.rows, ...after.rows]).toEqual(whole.rows.slice(5, 15));
    const last = await json(server.url, `/views/tool_sessions?limit=5&offset=${whole.rows.length - 5}`);
    expect(last.next).toBeNull();
    expect(last.next_url).toBeNull();
    const none = await get(`${server.url}/views/tool_sessions?limit=5&offset=${whole.rows.length - 5}`);
    expect(none.headers.link).toBeUndefined();
    expect((await json(server.url, '/views/tool_sessions?limit=0')).next).toBeNull();
  });

  it('keeps format= in the next page when it was given, also when the same rows were cached by Accept', async () => {
    const byAccept = await get(`${server.url}/views/tool_sessions?limit=1&order_by=-session_count`, { accept: 'text/csv' });
    expect(byAccept.headers.link).not.toContain('format=');
    const byParam = await get(`${server.url}/views/tool_sessions?limit=1&order_by=-session_count&format=csv`);
    expect(byParam.text).toBe(byAccept.text);
    expect(byParam.headers.link).toContain('format=csv');
    expect(byParam.headers.etag).not.toBe(byAccept.headers.etag);
  });

  it('gives the same cursor over MCP and HTTP (the planner is shared)', async () => {
    const viaService = await server.service.readView('tool_sessions', { limit: 4, order_by: '-session_count', count: 'none' });
    const viaHttp = await json(server.url, '/views/tool_sessions?limit=4&order_by=-session_count&count=none');
    expect(viaService.next).toBe(viaHttp.next);
    expect(viaService.next_url).toBe(viaHttp.next_url);
    expect(viaService.total).toBeNull();
  });
});

describe('while generations are published underneath (real serve-reads, real puller)', () => {
  let reads: ReadsProcess;
  afterAll(async () => {
    await reads?.stop();
  });

  it('loses and repeats no row, resuming by key in each new generation', async () => {
    reads = await startReads(home.dir);
    const start = (await json(reads.url, '/views/session_facts?limit=1')).freshness.generation;
    const whole = await json(reads.url, '/views/session_facts?limit=10000&order_by=-cost_usd,cwd');
    let published = start;
    const paged = await follow(reads.url, '/views/session_facts?limit=20&order_by=-cost_usd,cwd', async (page) => {
      if (page % 4 !== 0 || published >= start + 3) return;
      // The same sessions under a new scan_version: a new generation with the same rows.
      await publish(home.dir, fake, 300, 1);
      published++;
      await eventually(async () => {
        const health = (await get(`${reads.url}/healthz`)).json as HealthResponse;
        return health.generation === published ? true : undefined;
      }, `generation ${published} served`);
    });
    expect(paged.generations.size).toBeGreaterThanOrEqual(3);
    expect(paged.rows).toEqual(whole.rows);
    const ids = paged.rows.map((r) => (r as { session_id: number }).session_id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
