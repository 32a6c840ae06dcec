import { hasStrace, readHomeTrace, straceWrapper } from './helpers/strace.js';
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { FakeRecall } from './fake-recall/server.js';
import { CATALOG } from '../src/shared/catalog/index.js';
import { defineView } from '../src/shared/catalog/define.js';
import { loadConfig } from '../src/shared/config.js';
import { createLogger } from '../src/shared/logger.js';
import { Puller } from '../src/puller/puller.js';
import { eventually, runCli, startDaemon, tempHome, type TempHome } from './helpers/processes.js';
import { DuckDBInstance } from '@duckdb/node-api';
import { homePaths } from '../src/shared/paths.js';
import { EventLog } from '../src/puller/event-log.js';
import { SseClient } from './helpers/sse.js';
import { call, connect, structured } from './reads/mcp-client.js';
import type { ViewRowsResponse, HealthResponse, ErrorResponse } from '../src/reads/contract/api-types.js';
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

    await pull(homeDir, fake);
    // How soon after the publish it is served is measured by the benchmark (bench/reads.ts).
    const res = await eventually(async () => {
      const x = await get(`${r.url}/views/tool_sessions`);
      return x.status === 200 ? x : undefined;
    }, 'the first generation to be served');
    const body = res.json as ViewRowsResponse;
    expect(body.freshness.generation).toBe(1);
    expect(body.rows.length).toBeGreaterThan(0);
    expect(typeof body.rows[0]!.session_count).toBe('number');
    expect(Array.isArray(body.rows[0]!.session_ids)).toBe(true);
    expect((await get(`${r.url}/views/nope`)).status).toBe(404);
    // The same process, never restarted.
    expect(r.daemon.running).toBe(true);
    expect(r.daemon.logLines().filter((l) => l.msg === 'listening')).toHaveLength(1);
  });

  it('never writes under the home (strace) across 3 generation switches', async (ctx) => {
    if (!hasStrace()) ctx.skip(true, 'strace is not installed (.ci/run installs it)');
    const { home, fake } = await setup(200);
    await pull(home.dir, fake);
    const trace = join(home.dir, '..', `${home.dir.split('/').pop()}.strace`);
    cleanups.push(() => import('node:fs/promises').then((fs) => fs.rm(trace, { force: true })));
    const r = await reads(home.dir, straceWrapper(trace));
    const seen = new Set<number>();
    // The puller's event log, written (and rotated: 1 KiB) by its own writer: GET /events reads it.
    const events = await EventLog.open(homePaths(home.dir), 1024, (err) => {
      throw err;
    });
    const followEvents = async () => {
      for (let i = 0; i < 8; i++) await events.append({ type: 'tick_started' });
      const sse = await SseClient.open(`${r.url}/events?tail=2`);
      expect(sse.status).toBe(200);
      await sse.waitForEvents(2);
      await events.append({ type: 'tick_started' });
      await sse.waitForEvents(3);
      expect(sse.ids().at(-1)).toBe(events.lastEventId);
      await sse.close();
    };
    const exercise = async () => {
      const rows = await get(`${r.url}/views/tool_sessions?limit=5&order_by=-session_count`);
      expect(rows.status).toBe(200);
      seen.add((rows.json as ViewRowsResponse).freshness.generation);
      expect((await get(`${r.url}/views`)).status).toBe(200);
      expect((await get(`${r.url}/healthz`)).status).toBe(200);
      expect((await get(`${r.url}/views/tool_sessions?format=csv&filter[session_ids]=7`)).status).toBe(200);
      // /metrics reads the puller's metrics.json (the pulls wrote it).
      const metrics = await get(`${r.url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.text).toMatch(/^session_lattice_puller_ticks_total\{outcome="published"\} [1-9]/m);
      await followEvents();
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
    const opensOfEventLog = traced.lines.filter((l) => /open(at)?\(/.test(l) && /events(\.1)?\.jsonl"/.test(l) && l.includes(home.dir));
    expect(opensOfEventLog.length, 'the trace should show the event log being read').toBeGreaterThan(0);
    const opensOfPullerMetrics = traced.lines.filter((l) => /open(at)?\(/.test(l) && l.includes(`"${homePaths(home.dir).metrics}"`));
    expect(opensOfPullerMetrics.length, "the trace should show the puller's metrics.json being read").toBeGreaterThan(0);
    expect(traced.writes, 'no open for writing under the home').toEqual([]);
    expect(traced.mutations, 'no rename, unlink or mkdir under the home').toEqual([]);
  });

  it(
    'answers with zero errors under continuous load while 50 generations are published, each response from its own generation',
    { timeout: 600_000 },
    async () => {
      const { home, fake } = await setup(120);
      await pull(home.dir, fake);
      const expected = new Map<number, { rows: string; total: number }>();
      const first = await expectedToolRows(home.dir);
      expected.set(first.generation, first);
      const r = await reads(home.dir);

      const observed: Array<{ generation: number; rows: string; total: number | null; path: string }> = [];
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
      /** Every generation is answered under load before the next one is published. */
      const servedUnderLoad = (generation: number) =>
        eventually(
          () => (observed.some((o) => o.generation === generation) || failures.length > 0 ? true : undefined),
          `a response from generation ${generation}`,
        );
      await servedUnderLoad(first.generation);

      // The real puller, one tick at a time, in this process: nothing publishes between two ticks, so
      // the file read after a tick is exactly the generation that tick published. (A serve-puller also
      // publishes on its own whenever a view's refresh interval passes, generations whose rows the
      // test would not know.) tool_sessions, the view read here, is refreshed by every tick so that
      // every generation answers different rows and a response from the wrong one cannot match.
      const catalog = CATALOG.map((v) => (v.name === 'tool_sessions' ? defineView({ ...v, refreshIntervalSeconds: 0.001 }) : v));
      const config = { ...loadConfig({}, {}, []), home: home.dir, repoRecallUrl: fake.url };
      const puller = await Puller.open({ config, catalog, logger: createLogger('test', 'silent') });
      let pullerOpen = true;
      cleanups.push(async () => {
        if (pullerOpen) await puller.close();
      });
      for (let k = 1; k <= 50; k++) {
        await fake.setData({ sessions: 120 + k * 3, seed: k + 1 });
        const tick = await puller.tick();
        if (!tick.ok) throw new Error(`tick ${k} failed: ${tick.error}`);
        expect(tick.report.outcome).toBe('published');
        const e = await expectedToolRows(home.dir);
        expect(e.generation).toBe(tick.report.generation);
        expected.set(e.generation, e);
        await servedUnderLoad(e.generation);
      }
      pullerOpen = false;
      await puller.close();
      stop = true;
      await Promise.all([...loops, catalogLoop]);

      expect(failures).toEqual([]);
      expect(expected.size).toBe(51);
      // The check has teeth: no two generations answer the same rows.
      expect(new Set([...expected.values()].map((e) => e.rows)).size).toBe(51);
      const generationsSeen = [...new Set(observed.map((o) => o.generation))].sort((a, b) => a - b);
      expect(generationsSeen).toEqual([...expected.keys()].sort((a, b) => a - b));
      let mismatches = 0;
      for (const o of observed) {
        const e = expected.get(o.generation);
        if (!e || e.rows !== o.rows || e.total !== o.total) mismatches++;
      }
      expect(mismatches).toBe(0);
      expect(r.daemon.running).toBe(true);
    },
  );

  it('stops cleanly on SIGTERM and SIGINT', async () => {
    const { home, fake } = await setup(100);
    await pull(home.dir, fake);
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const d = startDaemon(['serve-reads', '--home', home.dir, '--port', '0']);
      cleanups.push(() => d.stop('SIGKILL'));
      await d.waitFor((x) => x.logLines().some((l) => l.msg === 'listening'), 'listening');
      const url = d.logLines().find((l) => l.msg === 'listening')!.url as string;
      expect((await get(`${url}/views/tool_sessions`)).status).toBe(200);
      // Stopping in time is the daemon's own deadline (src/cli/signals.ts): past it, it exits 1.
      const exit = await d.stop(signal);
      expect(exit.code, d.stdout).toBe(0);
      const said = d.logLines().map((l) => l.msg);
      expect(said.at(-1)).toBe('stopped');
      expect(said).not.toContain('did not stop within the deadline; exiting');
    }
  });

  it('serves a snapshot the previous version published (no zone or price columns): timezone null', async () => {
    const { home, fake } = await setup(100);
    await pull(home.dir, fake);
    // What the previous version published: no zone or price columns in the meta tables.
    const instance = await DuckDBInstance.create(homePaths(home.dir).published);
    const conn = await instance.connect();
    for (const column of ['timezone', 'prices_sha256']) await conn.run(`ALTER TABLE lattice.meta DROP COLUMN ${column}`);
    for (const column of ['attempted_version', 'valid_until']) await conn.run(`ALTER TABLE lattice.views DROP COLUMN ${column}`);
    conn.disconnectSync();
    instance.closeSync();

    const r = await reads(home.dir);
    const health = await get(`${r.url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ generation: 1, timezone: null });
    const rows = await get(`${r.url}/views/tool_usage?limit=1`);
    expect(rows.status).toBe(200);
    expect((rows.json as ViewRowsResponse).freshness).toMatchObject({ generation: 1, timezone: null });
    expect(rows.headers['x-lattice-timezone']).toBeUndefined();
    const mcp = await connect(r.url);
    cleanups.push(() => mcp.close());
    const q = structured<{ rows: Array<{ n: number }> }>(await call(mcp, 'query', { sql: 'SELECT count(*)::INTEGER AS n FROM session_facts' }));
    expect(q.rows[0]?.n).toBeGreaterThan(0);
    const status = await runCli(['status', '--home', home.dir, '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ snapshot: { generation: 1, timezone: null } });
  });

  it('refuses a bad setting at start-up, naming it', async () => {
    const d = startDaemon(['serve-reads', '--port', 'abc']);
    const exit = await d.exited;
    expect(exit.code).toBe(2);
    expect(d.stderr).toMatch(/--port/);
  });
});
