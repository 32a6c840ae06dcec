import { afterEach, describe, expect, it } from 'vitest';
import { PullerEventSchema, readEventLog, type PullerEvent } from '../src/shared/events.js';
import { homePaths } from '../src/shared/paths.js';
import type { HealthResponse } from '../src/reads/contract/api-types.js';
import { startFakeRecall } from './fake-recall/server.js';
import { eventually, startDaemon, tempHome } from './helpers/processes.js';
import { get, startReads } from './reads/fixtures.js';
import { parseScrape } from './reads/prometheus.js';

/**
 * The puller's figures end to end (issue 15): a real serve-puller against the fake repo-recall
 * runs ticks of which a known number fail, and a real serve-reads' GET /metrics shows exactly
 * the ticks the puller's own event log recorded. No fixed sleep: every wait is for an event.
 */

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

type TickFinished = Extract<PullerEvent, { type: 'tick_finished' }>;
/** The tick_finished events of the log, each checked against this version's schema. */
const ticksOf = (all: unknown[]) => all.map((e) => PullerEventSchema.parse(e)).filter((e): e is TickFinished => e.type === 'tick_finished');

describe('GET /metrics with a real puller', () => {
  it('shows exactly the ticks a serve-puller ran, K of them failed, after it stopped', async () => {
    const FAILED = 3;
    const home = await tempHome('lattice-metrics-e2e-');
    cleanups.push(() => home.cleanup());
    const recall = await startFakeRecall({ sessions: 120, seed: 5 });
    cleanups.push(() => recall.close());
    const paths = homePaths(home.dir);
    // One request per tick (no retries), so K faulty answers are K failed ticks.
    const puller = startDaemon([
      'serve-puller',
      '--home',
      home.dir,
      '--repo-recall-url',
      recall.url,
      '--refresh-interval-seconds',
      '0.2',
      '--upstream-retries',
      '0',
    ]);
    cleanups.push(() => puller.stop('SIGKILL'));
    const ticks = (what: string, done: (t: TickFinished[]) => boolean) =>
      eventually(async () => {
        if (!puller.running) throw new Error(`serve-puller exited while waiting for ${what}\n${puller.stderr}`);
        const t = ticksOf(await readEventLog(paths));
        return done(t) ? t : undefined;
      }, what);

    await ticks('the first publish', (t) => t.some((e) => e.outcome === 'published'));
    recall.setFault('status-500', { times: FAILED });
    await ticks(`${FAILED} failed ticks, then a good one`, (t) => {
      const lastFailed = t.findLastIndex((e) => e.outcome === 'failed');
      return t.filter((e) => e.outcome === 'failed').length === FAILED && lastFailed !== -1 && lastFailed < t.length - 1;
    });
    expect(await puller.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    // The puller writes metrics.json before each tick_finished: after its stop, the two agree and stay.
    const recorded = ticksOf(await readEventLog(paths));

    const reads = await startReads(home.dir);
    cleanups.push(() => reads.stop());
    const res = await get(`${reads.url}/metrics`);
    expect(res.status).toBe(200);
    const s = await parseScrape(res.text);
    expect(s.value('session_lattice_reads_puller_file_readable')).toBe(1);
    let total = 0;
    for (const outcome of ['published', 'unchanged', 'held', 'failed'] as const) {
      const n = recorded.filter((t) => t.outcome === outcome).length;
      expect(s.value('session_lattice_puller_ticks_total', { outcome }), outcome).toBe(n);
      total += n;
    }
    expect(total).toBe(recorded.length);
    expect(s.value('session_lattice_puller_ticks_total', { outcome: 'failed' })).toBe(FAILED);
    expect(s.value('session_lattice_puller_upstream_errors_total', { class: 'status' })).toBe(FAILED);
    expect(s.value('session_lattice_puller_consecutive_failures')).toBe(0);
    const phaseTotal = s.histogram('session_lattice_puller_tick_duration_seconds').find((h) => h.labels.phase === 'total');
    expect(phaseTotal?.count).toBe(recorded.length);
    // The reads server serves the generation the puller published last.
    const health = (await get(`${reads.url}/healthz`)).json as HealthResponse;
    expect(s.value('session_lattice_generation')).toBe(health.generation);
    expect(s.value('session_lattice_puller_generation')).toBe(health.generation);
  });
});
