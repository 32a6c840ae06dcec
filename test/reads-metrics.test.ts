import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HealthResponse } from '../src/reads/contract/api-types.js';
import { QueryLimiter } from '../src/reads/data/query-limiter.js';
import { startReadsServer, type ReadsServer } from '../src/reads/http/server.js';
import { DEFAULTS } from '../src/shared/config.js';
import { homePaths } from '../src/shared/paths.js';
import type { FakeRecall } from './fake-recall/server.js';
import { eventually, tempHome, type TempHome } from './helpers/processes.js';
import { get, publish, pull, startFake, startReads } from './reads/fixtures.js';
import { parseScrape, type Scrape } from './reads/prometheus.js';

/**
 * GET /metrics (issue 15): what the reads server counts, parsed back with a Prometheus text-format
 * parser. In process with app.inject where a process adds nothing, and against a real serve-reads.
 */

const REQUESTS = 'session_lattice_http_request_duration_seconds';

let home: TempHome;
let fake: FakeRecall;
let server: ReadsServer;
const warnings: Array<Record<string, unknown>> = [];

/** Node's event-loop delay figures are NaN when no delay was sampled since the last scrape: nothing else may be. */
function expectNoOtherNaN(s: Scrape): void {
  expect(s.nanSamples.filter((n) => !n.startsWith('nodejs_eventloop_lag_') && n !== 'session_lattice_puller_lag_seconds')).toEqual([]);
}

async function scrape(s: ReadsServer = server): Promise<Scrape> {
  const res = await s.app.inject('/metrics');
  expect(res.statusCode, res.body).toBe(200);
  const parsed = await parseScrape(res.body);
  expectNoOtherNaN(parsed);
  return parsed;
}

/** Requests counted between two scrapes, for one set of labels. */
function requestsAdded(before: Scrape, after: Scrape): (labels: Record<string, string>) => number {
  return (labels) => after.count(REQUESTS, labels) - before.count(REQUESTS, labels);
}

async function hit(
  url: string,
  times: number,
  opts: { method?: 'GET' | 'HEAD' | 'PROPFIND' | 'PURGE'; headers?: Record<string, string> } = {},
): Promise<number> {
  let status = 0;
  for (let i = 0; i < times; i++) status = (await server.app.inject({ url, method: opts.method ?? 'GET', headers: opts.headers })).statusCode;
  return status;
}

/** Writes metrics.json as the puller does (temp file + rename), from a real prom-client registry. */
async function writePullerMetrics(homeDir: string, registry: Registry): Promise<void> {
  const path = homePaths(homeDir).metrics;
  await mkdir(dirname(path), { recursive: true });
  const now = new Date().toISOString();
  const doc = { pid: 4242, started_at: now, written_at: now, metrics: await registry.getMetricsAsJSON() };
  await writeFile(`${path}.tmp`, JSON.stringify(doc));
  await rename(`${path}.tmp`, path);
}

function pullerRegistry(): { registry: Registry; ticks: Counter<'outcome'>; duration: Histogram; views: Gauge; lag: Gauge } {
  const registry = new Registry();
  const ticks = new Counter({ name: 'session_lattice_puller_ticks_total', help: 'ticks by outcome', labelNames: ['outcome'], registers: [registry] });
  const duration = new Histogram({ name: 'session_lattice_puller_tick_duration_seconds', help: 'tick duration', buckets: [0.1, 1, 10], registers: [registry] });
  const views = new Gauge({ name: 'session_lattice_puller_views', help: 'views in the catalog', registers: [registry] });
  const lag = new Gauge({ name: 'session_lattice_puller_lag_seconds', help: 'NaN until measured', registers: [registry] });
  return { registry, ticks, duration, views, lag };
}

beforeAll(async () => {
  home = await tempHome('lattice-reads-metrics-');
  fake = await startFake(200);
  await pull(home.dir, fake);
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line) as Record<string, unknown>) });
  server = await startReadsServer({ config: { ...DEFAULTS, home: home.dir, port: 0 }, logger });
});

afterAll(async () => {
  await server?.close();
  await fake?.close();
  await home?.cleanup();
});

describe('GET /metrics', () => {
  it('answers Prometheus text 0.0.4, not cached, and says so in /openapi.json', async () => {
    const res = await server.app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    const doc = (await server.app.inject('/openapi.json')).json() as {
      paths: Record<string, { get?: { responses: Record<string, { content?: Record<string, unknown> }> } }>;
    };
    expect(Object.keys(doc.paths['/metrics']!.get!.responses['200']!.content!)).toEqual(['text/plain; version=0.0.4; charset=utf-8']);
  });

  it('counts requests by route pattern, method and status; buckets are cumulative and _count is the requests', async () => {
    const before = await scrape();
    expect(await hit('/views/tool_sessions?limit=3', 5)).toBe(200);
    expect(await hit('/views/no_such_view', 3)).toBe(404);
    expect(await hit('/healthz', 2)).toBe(200);
    expect(await hit('/views', 2, { method: 'HEAD' })).toBe(200);
    const after = await scrape();
    const delta = requestsAdded(before, after);
    expect(delta({ route: '/views/:name', method: 'GET', status: '200' })).toBe(5);
    expect(delta({ route: '/views/:name', method: 'GET', status: '404' })).toBe(3);
    expect(delta({ route: '/healthz', method: 'GET', status: '200' })).toBe(2);
    expect(delta({ route: '/views', method: 'HEAD', status: '200' })).toBe(2);
    // The scrape before this one is counted too, once it is over.
    expect(after.count(REQUESTS, { route: '/metrics', method: 'GET', status: '200' })).toBeGreaterThanOrEqual(1);

    expect(after.type(REQUESTS)).toBe('histogram');
    for (const series of after.histogram(REQUESTS)) {
      const counts = series.buckets.map(([, n]) => n);
      expect(counts, JSON.stringify(series.labels)).toEqual([...counts].sort((a, b) => a - b));
      expect(series.buckets.at(-1)).toEqual(['+Inf', series.count]);
      expect(series.sum).toBeGreaterThan(0);
    }
  });

  it('counts requests refused before any route: 404, 405, a bad Host, a malformed URL', async () => {
    const before = await scrape();
    expect(await hit('/nothing/here', 2)).toBe(404);
    expect(await hit('/views', 1, { method: 'PROPFIND' })).toBe(405);
    expect(await hit('/views', 3, { headers: { host: 'evil.example' } })).toBe(403);
    expect(await hit('/views/%zz', 1)).toBe(400);
    const after = await scrape();
    const delta = requestsAdded(before, after);
    expect(delta({ route: 'unmatched', method: 'GET', status: '404' })).toBe(2);
    expect(delta({ route: 'unmatched', method: 'other', status: '405' })).toBe(1);
    expect(delta({ route: '/views', method: 'GET', status: '403' })).toBe(3);
    expect(delta({ route: 'unmatched', method: 'GET', status: '400' })).toBe(1);
  });

  it('takes no label value from the request: unknown paths and odd methods add none', async () => {
    const routes = (await scrape()).labelValues(REQUESTS, 'route');
    const token = randomUUID().replace(/-/g, '');
    for (let i = 0; i < 5; i++) {
      await hit(`/${token}-${i}`, 1);
      await hit(`/views/${token}${i}`, 1);
      await hit(`/ui/assets/${token}/${token}.js`, 1);
      await hit(`/${token}`, 1, { method: i % 2 ? 'PURGE' : 'PROPFIND' });
    }
    const after = await scrape();
    expect(after.text).not.toContain(token);
    // Only route patterns (and `unmatched`) are new label values, never a path that was sent.
    const added = after.labelValues(REQUESTS, 'route').filter((r) => !routes.includes(r));
    expect(
      added.every((r) => ['/views/:name', '/ui/assets/:version/:file', 'unmatched'].includes(r)),
      added.join(' '),
    ).toBe(true);
    expect(after.labelValues(REQUESTS, 'method').every((m) => ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'other'].includes(m))).toBe(true);
    expect(after.labelValues(REQUESTS, 'method')).toContain('other');
  });

  it('counts response cache hits and misses, and what the cache holds', async () => {
    const before = await scrape();
    // A query no other test sends: one miss (rendered once), then hits.
    for (let i = 0; i < 4; i++) expect(await hit('/views/tool_sessions?limit=7&order_by=-session_count', 1)).toBe(200);
    const after = await scrape();
    const diff = (name: string) => (after.value(name) ?? NaN) - (before.value(name) ?? NaN);
    expect(diff('session_lattice_response_cache_misses_total')).toBe(1);
    expect(diff('session_lattice_response_cache_hits_total')).toBe(3);
    expect(diff('session_lattice_response_cache_entries')).toBe(1);
    expect(diff('session_lattice_response_cache_bytes')).toBeGreaterThan(0);
    expect(after.type('session_lattice_response_cache_hits_total')).toBe('counter');
    // The miss ran DuckDB queries, each through a query slot; none is running now.
    expect(after.count('session_lattice_query_slot_wait_seconds', {})).toBeGreaterThan(before.count('session_lattice_query_slot_wait_seconds', {}));
    expect(after.value('session_lattice_query_slots_in_use')).toBe(0);
    expect(after.value('session_lattice_query_queue_depth')).toBe(0);
  });

  it('follows the generation served, its health verdict and data age, and counts generations served', async () => {
    const before = await scrape();
    const first = before.value('session_lattice_generation')!;
    expect(first).toBeGreaterThanOrEqual(1);
    await publish(home.dir, fake, 210, 2);
    const after = await eventually(async () => {
      const s = await scrape();
      return s.value('session_lattice_generation') === first + 1 ? s : undefined;
    }, 'the new generation in /metrics');
    expect(after.value('session_lattice_generations_served_total')! - before.value('session_lattice_generations_served_total')!).toBe(1);
    const health = (await server.app.inject('/healthz')).json() as HealthResponse;
    const verdicts = after.samples('session_lattice_health');
    expect(verdicts.map((v) => v.labels.verdict).sort()).toEqual(['degraded', 'failing', 'ok', 'starting']);
    expect(verdicts.filter((v) => v.value === 1).map((v) => v.labels.verdict)).toEqual([health.status]);
    const age = after.value('session_lattice_data_age_seconds')!;
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(600);
  });

  it("serves the puller's figures from metrics.json beside its own", async () => {
    const p = pullerRegistry();
    p.ticks.inc({ outcome: 'published' }, 4);
    p.ticks.inc({ outcome: 'failed' }, 2);
    for (const s of [0.05, 0.5, 3]) p.duration.observe(s);
    p.views.set(24);
    // JSON has no NaN: the file holds null, served as NaN.
    p.lag.set(NaN);
    await writePullerMetrics(home.dir, p.registry);
    const s = await scrape();
    expect(s.value('session_lattice_reads_puller_file_readable')).toBe(1);
    expect(s.value('session_lattice_puller_ticks_total', { outcome: 'published' })).toBe(4);
    expect(s.value('session_lattice_puller_ticks_total', { outcome: 'failed' })).toBe(2);
    expect(s.type('session_lattice_puller_ticks_total')).toBe('counter');
    expect(s.value('session_lattice_puller_views')).toBe(24);
    expect(s.nanSamples).toContain('session_lattice_puller_lag_seconds');
    const [tick] = s.histogram('session_lattice_puller_tick_duration_seconds');
    expect(tick!.buckets).toEqual([
      ['0.1', 1],
      ['1', 2],
      ['10', 3],
      ['+Inf', 3],
    ]);
    expect(tick!.count).toBe(3);
    // The reads server's own are still there.
    expect(s.has(REQUESTS)).toBe(true);
    expect(s.has('process_cpu_user_seconds_total')).toBe(true);
  });

  it('a corrupt or invalid metrics.json does not break the scrape, and is logged once per distinct error', async () => {
    const path = homePaths(home.dir).metrics;
    const countWarnings = () => warnings.filter((w) => String(w.msg).includes("puller's metrics file")).length;
    const start = countWarnings();

    await writeFile(path, '{"pid": 1, "metrics": [');
    for (let i = 0; i < 3; i++) {
      const s = await scrape();
      expect(s.value('session_lattice_reads_puller_file_readable')).toBe(0);
      expect(s.has('session_lattice_puller_ticks_total')).toBe(false);
      expect(s.has(REQUESTS)).toBe(true);
      expect(s.value('session_lattice_generation')).toBeGreaterThanOrEqual(1);
    }
    expect(countWarnings() - start).toBe(1);

    // Valid JSON, not the puller's format: a second, distinct warning, once.
    await writeFile(path, JSON.stringify({ pid: 1, metrics: [{ name: 'evil', help: '', type: 'counter', values: [] }] }));
    for (let i = 0; i < 2; i++) expect((await scrape()).value('session_lattice_reads_puller_file_readable')).toBe(0);
    expect(countWarnings() - start).toBe(2);
    expect(JSON.stringify(warnings.at(-1))).toContain('not a puller metrics document');

    // No file at all (no puller has written one): not an error.
    await rm(path);
    expect((await scrape()).value('session_lattice_reads_puller_file_readable')).toBe(0);
    expect(countWarnings() - start).toBe(2);
  });

  it('the query slot wait histogram measures the wait for a slot', async () => {
    const waits: number[] = [];
    const limiter = new QueryLimiter(1);
    limiter.onWait = (s) => waits.push(s);
    const release = await limiter.acquire();
    const second = limiter.acquire();
    await new Promise((r) => setTimeout(r, 30));
    release();
    (await second)();
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBe(0);
    expect(waits[1]).toBeGreaterThanOrEqual(0.025);
  });
});

describe('GET /metrics from a real serve-reads', () => {
  it('counts what a client did over HTTP, behind the same Host guard, with Node process metrics', async () => {
    const r = await startReads(home.dir);
    try {
      for (let i = 0; i < 3; i++) expect((await get(`${r.url}/views/tool_sessions?limit=5`)).status).toBe(200);
      for (let i = 0; i < 2; i++) expect((await get(`${r.url}/views/tool_sessions?nope=1`)).status).toBe(400);
      expect((await get(`${r.url}/no/such/path`)).status).toBe(404);
      expect((await get(`${r.url}/metrics`, { host: 'evil.example' })).status).toBe(403);
      const res = await get(`${r.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      const s = await parseScrape(res.text);
      expectNoOtherNaN(s);
      expect(s.count(REQUESTS, { route: '/views/:name', method: 'GET', status: '200' })).toBe(3);
      expect(s.count(REQUESTS, { route: '/views/:name', method: 'GET', status: '400' })).toBe(2);
      expect(s.count(REQUESTS, { route: 'unmatched', method: 'GET', status: '404' })).toBe(1);
      expect(s.count(REQUESTS, { route: '/metrics', method: 'GET', status: '403' })).toBe(1);
      expect(s.value('session_lattice_response_cache_misses_total')).toBe(1);
      expect(s.value('session_lattice_response_cache_hits_total')).toBe(2);
      expect(s.value('session_lattice_generation')).toBe(((await get(`${r.url}/healthz`)).json as HealthResponse).generation);
      expect(s.value('session_lattice_generations_served_total')).toBe(1);
      for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
        expect(s.has(name), name).toBe(true);
      }
    } finally {
      await r.stop();
    }
  });
});
