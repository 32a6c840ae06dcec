import { hasStrace, readHomeTrace, straceWrapper } from './helpers/strace.js';
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { FakeRecall } from './fake-recall/server.js';
import { eventually, startDaemon, tempHome, type TempHome } from './helpers/processes.js';
import type { ViewRowsResponse, HealthResponse, ErrorResponse } from '../src/reads/api-types.js';
import { expectedToolRows, get, publish, pull, startFake, startReads, type ReadsProcess } from './reads/fixtures.js';

/** The reads daemon as a real process over real files and real HTTP (issue 3, "How it is checked"). */

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function setup(sessions = 300): Promise<{ home: TempHome; fake: FakeRecall }> {
  const home = await tempHome('lattice-reads-');
  cleanups.push(() => home.cleanup());
  const fake = await startFake(sessions);
  cleanups.push(() => fake.close());
  return { home, fake };
}

async function reads(homeDir: string, wrapper: string[] = []): Promise<ReadsProcess> {
  const r = await startReads(homeDir, wrapper);
  cleanups.push(() => r.stop());
  return r;
}

async function servedGeneration(url: string): Promise<number | null> {
  const h = await get(`${url}/healthz`);
  return (h.json as HealthResponse).generation;
}


describe('serve-reads', () => {
  it('answers 503 "no snapshot yet" before the first generation, then serves it without a restart', async () => {
    const { home, fake } = await setup();
    // The home does not even exist yet: the server must find the first file by polling.
    const homeDir = join(home.dir, 'not-yet');
    const r = await reads(homeDir);
    for (const path of ['/views', '/views/tool_sessions', '/views/anything']) {
      const res = await get(`${r.url}${path}`);
      expect(res.status, path).toBe(503);
      expect((res.json as ErrorResponse).error.code).toBe('no_snapshot');
      expect((res.json as ErrorResponse).error.message).toMatch(/no snapshot yet/);
    }
    const health = await get(`${r.url}/healthz`);
    expect(health.status).toBe(503);
    expect((health.json as HealthResponse).status).toBe('starting');

    const t0 = Date.now();
    await pull(homeDir, fake);
    const published = Date.now();
    const res = await eventually(async () => {
      const x = await get(`${r.url}/views/tool_sessions`);
      return x.status === 200 ? x : undefined;
    }, 'the first generation to be served');
    // Within ~1 s of the publish (generous here for a loaded CI machine; the benchmark measures it precisely).
    expect(Date.now() - published).toBeLessThan(2500);
    const body = res.json as ViewRowsResponse;
    expect(body.freshness.generation).toBe(1);
    expect(body.rows.length).toBeGreaterThan(0);
    expect(typeof body.rows[0]!.session_count).toBe('number');
    expect(Array.isArray(body.rows[0]!.session_ids)).toBe(true);
    expect((await get(`${r.url}/views/nope`)).status).toBe(404);
    expect(t0).toBeLessThan(published);
  });

  it('never writes under the home (strace) across 3 generation switches', async (ctx) => {
    if (!hasStrace()) ctx.skip(true, 'strace is not installed (.ci/run installs it)');
    const { home, fake } = await setup(200);
    await pull(home.dir, fake);
    const trace = join(home.dir, '..', `${home.dir.split('/').pop()}.strace`);
    cleanups.push(() => import('node:fs/promises').then((fs) => fs.rm(trace, { force: true })));
    const r = await reads(home.dir, straceWrapper(trace));
    const seen = new Set<number>();
    const exercise = async () => {
      const rows = await get(`${r.url}/views/tool_sessions?limit=5&order_by=-session_count`);
      expect(rows.status).toBe(200);
      seen.add((rows.json as ViewRowsResponse).freshness.generation);
      expect((await get(`${r.url}/views`)).status).toBe(200);
      expect((await get(`${r.url}/healthz`)).status).toBe(200);
      expect((await get(`${r.url}/views/tool_sessions?format=csv&filter[session_ids]=7`)).status).toBe(200);
    };
    await exercise();
    for (let i = 0; i < 3; i++) {
      await publish(home.dir, fake, 200 + (i + 1) * 10);
      const want = i + 2;
      await eventually(async () => ((await servedGeneration(r.url)) === want ? true : undefined), `generation ${want}`);
      await exercise();
    }
    expect([...seen].sort()).toEqual([1, 2, 3, 4]);
    await r.stop();
    await r.daemon.exited;

    const traced = await readHomeTrace(trace, home.dir);
    const opensOfPublished = traced.opensOfPublished;
    expect(opensOfPublished.length, 'the trace should show the published file being opened').toBeGreaterThanOrEqual(4);
    expect(traced.writes, 'no open for writing under the home').toEqual([]);
    expect(traced.mutations, 'no rename, unlink or mkdir under the home').toEqual([]);
  });

  it('answers with zero errors under continuous load while 50 generations are published, each response from its own generation', async () => {
    const { home, fake } = await setup(120);
    await pull(home.dir, fake);
    const expected = new Map<number, { rows: string; total: number }>();
    const first = await expectedToolRows(home.dir);
    expected.set(first.generation, first);
    const r = await reads(home.dir);

    const observed: Array<{ generation: number; rows: string; total: number; path: string }> = [];
    const failures: string[] = [];
    let stop = false;
    const paths = ['/views/tool_sessions?limit=100', '/views/tool_sessions', '/views/tool_sessions?limit=100&format=json'];
    const loop = async (i: number) => {
      let n = 0;
      while (!stop) {
        const path = paths[(i + n++) % paths.length]!;
        try {
          const res = await get(`${r.url}${path}`);
          if (res.status !== 200) {
            failures.push(`${path}: ${res.status} ${res.text.slice(0, 200)}`);
            continue;
          }
          const body = res.json as ViewRowsResponse;
          if (Number(res.headers['x-lattice-generation']) !== body.freshness.generation) failures.push('header/body generation mismatch');
          observed.push({ generation: body.freshness.generation, rows: JSON.stringify(body.rows), total: body.total, path });
          // Continuous, but leave the puller some CPU on a 2-core machine.
          await new Promise((resolve) => setTimeout(resolve, 2));
        } catch (err) {
          failures.push(`${path}: ${String(err)}`);
        }
      }
    };
    const loops = [0, 1, 2].map(loop);
    const catalogLoop = (async () => {
      while (!stop) {
        const res = await get(`${r.url}/views`).catch((err: unknown) => ({ status: 0, text: String(err) }));
        if (res.status !== 200) failures.push(`/views: ${res.status} ${res.text.slice(0, 200)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    // A real puller on a short tick; each generation has its own data (session count and seed).
    const puller = startDaemon(['serve-puller', '--home', home.dir, '--repo-recall-url', fake.url, '--refresh-interval-seconds', '0.2']);
    cleanups.push(() => puller.stop());
    const publishedFor = (scan: number) =>
      puller.logLines().find((l) => l.msg === 'tick' && l.outcome === 'published' && l.scan_version === scan)?.generation as number | undefined;
    for (let k = 1; k <= 50; k++) {
      await fake.setData({ sessions: 120 + k * 3, seed: k + 1 });
      const scan = fake.scanVersion;
      await puller.waitFor((d) => publishedFor(scan) !== undefined || !d.running, `the generation of scan ${scan}`, 20_000);
      const e = await expectedToolRows(home.dir);
      expect(e.generation).toBe(publishedFor(scan));
      expected.set(e.generation, e);
    }
    const last = Math.max(...expected.keys());
    await eventually(async () => ((await servedGeneration(r.url)) === last ? true : undefined), 'the last generation', 5000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop = true;
    await Promise.all([...loops, catalogLoop]);

    expect(failures).toEqual([]);
    expect(expected.size).toBe(51);
    expect(Math.max(...expected.keys())).toBeGreaterThanOrEqual(51);
    const generationsSeen = new Set(observed.map((o) => o.generation));
    expect(generationsSeen.size).toBeGreaterThanOrEqual(25);
    let mismatches = 0;
    for (const o of observed) {
      const e = expected.get(o.generation);
      if (!e || e.rows !== o.rows || e.total !== o.total) mismatches++;
    }
    expect(observed.length).toBeGreaterThan(200);
    expect(mismatches).toBe(0);
    expect(r.daemon.running).toBe(true);
  }, 120_000);

  it('stops cleanly on SIGTERM and SIGINT', async () => {
    const { home, fake } = await setup(100);
    await pull(home.dir, fake);
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const d = startDaemon(['serve-reads', '--home', home.dir, '--port', '0']);
      cleanups.push(() => d.stop('SIGKILL'));
      await d.waitFor((x) => x.logLines().some((l) => l.msg === 'listening'), 'listening');
      const url = d.logLines().find((l) => l.msg === 'listening')!.url as string;
      expect((await get(`${url}/views/tool_sessions`)).status).toBe(200);
      const t0 = Date.now();
      const exit = await d.stop(signal);
      expect(exit.code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(d.logLines().some((l) => l.msg === 'stopped')).toBe(true);
    }
  });

  it('refuses a bad setting at start-up, naming it', async () => {
    const d = startDaemon(['serve-reads', '--port', 'abc']);
    const exit = await d.exited;
    expect(exit.code).toBe(2);
    expect(d.stderr).toMatch(/--port/);
  });
});
