import { appendFile, readFile, stat } from 'node:fs/promises';
import { AggregatorRegistry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Puller } from '../src/puller/puller.js';
import { defineView } from '../src/shared/catalog/define.js';
import { loadConfig } from '../src/shared/config.js';
import { createLogger } from '../src/shared/logger.js';
import { homePaths } from '../src/shared/paths.js';
import { parseEventLines, PullerEventSchema, readEventLog, type PullerEvent } from '../src/shared/events.js';
import { PullerMetricsFileSchema, type PullerMetricsFile } from '../src/shared/puller-metrics.js';
import { describeMessiness, generatePayloadText } from './fake-recall/generate.js';
import { startFakeRecall, type FakeRecall } from './fake-recall/server.js';
import { type Daemon, eventually, runCli, startDaemon, tempHome, type TempHome } from './helpers/processes.js';
import { publishedGenerationOf } from './helpers/snapshot.js';

/*
 * The puller's event log and metrics file, written by a real `serve-puller` (and `pull`) against
 * the fake repo-recall. Every wait is for an event to appear, never a fixed sleep.
 */

const DATA = { sessions: 200, seed: 11 };
let recall: FakeRecall;
let home: TempHome;
const daemons: Daemon[] = [];

beforeEach(async () => {
  recall = await startFakeRecall(DATA);
  home = await tempHome('lattice-events-');
});

afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop('SIGKILL')));
  await recall.close();
  await home.cleanup();
});

const paths = () => homePaths(home.dir);

function serve(extra: string[], env: Record<string, string> = {}): Daemon {
  const d = startDaemon(['serve-puller', '--home', home.dir, '--repo-recall-url', recall.url, ...extra], env);
  daemons.push(d);
  return d;
}

/** Every event of the log, each checked against the full schema of what this version writes. */
async function events(): Promise<PullerEvent[]> {
  return (await readEventLog(paths())).map((e) => PullerEventSchema.parse(e));
}

/** Waits until `check` holds for the log; fails at once, with its output, if the daemon exits meanwhile. */
async function waitForLog(daemon: Daemon, check: (all: PullerEvent[]) => boolean, what: string): Promise<PullerEvent[]> {
  return eventually(async () => {
    if (!daemon.running) throw new Error(`the puller exited while waiting for ${what}\nstdout:\n${daemon.stdout}\nstderr:\n${daemon.stderr}`);
    const all = await events();
    return check(all) ? all : undefined;
  }, what);
}

/** Waits until the log holds an event `found` accepts; the whole log then. */
function waitForEvent(daemon: Daemon, found: (e: PullerEvent) => boolean, what: string): Promise<PullerEvent[]> {
  return waitForLog(daemon, (all) => all.some(found), what);
}

type Of<T extends PullerEvent['type']> = Extract<PullerEvent, { type: T }>;
const ofType = <T extends PullerEvent['type']>(all: PullerEvent[], type: T): Array<Of<T>> => all.filter((e): e is Of<T> => e.type === type);
const isFinished = (e: PullerEvent, outcome?: Of<'tick_finished'>['outcome']): e is Of<'tick_finished'> =>
  e.type === 'tick_finished' && (outcome === undefined || e.outcome === outcome);

function expectContiguous(ids: number[], from = ids[0] ?? 1): void {
  expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => from + i));
}

/**
 * The story the events of one puller process tell holds together: ticks never overlap; a
 * published tick is preceded by its generation_published; a tick fails with an upstream_error
 * (will_retry false) exactly when it failed with an upstream error class; failures count up.
 */
function expectCoherentTicks(all: PullerEvent[]): void {
  let open: PullerEvent[] | null = null;
  let failures = 0;
  for (const e of all) {
    if (e.type === 'tick_started') {
      expect(open, `tick_started ${e.id} inside another tick`).toBeNull();
      open = [];
    } else if (e.type === 'tick_finished') {
      expect(open, `tick_finished ${e.id} without tick_started`).not.toBeNull();
      const inside = open ?? [];
      const published = ofType(inside, 'generation_published');
      expect(published.map((p) => p.generation)).toEqual(e.outcome === 'published' ? [e.generation] : []);
      const final = ofType(inside, 'upstream_error').filter((u) => !u.will_retry);
      expect(final.map((u) => u.error_class)).toEqual(e.error_class === null ? [] : [e.error_class]);
      failures = e.outcome === 'failed' ? failures + 1 : 0;
      expect(e.consecutive_failures).toBe(failures);
      open = null;
    } else if (open) {
      open.push(e);
    }
  }
}

/** One series' value in metrics.json (labels matched exactly). */
function metricValue(file: PullerMetricsFile, name: string, labels: Record<string, string> = {}): number | undefined {
  const metric = file.metrics.find((m) => m.name === name);
  return metric?.values.find((v) => !v.metricName && JSON.stringify(v.labels) === JSON.stringify(labels))?.value;
}

async function metricsFile(): Promise<PullerMetricsFile> {
  return PullerMetricsFileSchema.parse(JSON.parse(await readFile(paths().metrics, 'utf8')));
}

describe('the event log of serve-puller', () => {
  it('tells a first publish, a 304 tick, a failing upstream and the recovery in order; metrics.json counts the same ticks', async () => {
    const daemon = serve(['--refresh-interval-seconds', '0.2', '--upstream-retries', '1']);
    let all = await waitForEvent(daemon, (e) => isFinished(e, 'unchanged'), 'a first publish, then an unchanged tick');
    const valid = describeMessiness(DATA).validRows;
    expect(all.slice(0, 4).map((e) => e.type)).toEqual(['puller_started', 'tick_started', 'generation_published', 'tick_finished']);
    expect(all[0]).toMatchObject({ id: 1, pid: daemon.pid, refresh_interval_seconds: 0.2, generation: null });
    expect(all[2]).toMatchObject({ generation: 1, sessions: valid, scan_version: recall.scanVersion });
    expect(all[3]).toMatchObject({ outcome: 'published', generation: 1, sessions: valid, rejected_rows: 200 - valid, error: null, consecutive_failures: 0 });
    expect((all[3] as Of<'tick_finished'>).bytes).toBe(recall.state().payloadBytes);
    // The 304: nothing received, nothing loaded.
    expect(all.find((e) => isFinished(e, 'unchanged'))).toMatchObject({ bytes: 0, sessions: null, rejected_rows: null, generation: 1 });

    recall.setFault('status-503', { retryAfter: null });
    all = await waitForEvent(daemon, (e) => isFinished(e, 'failed') && e.consecutive_failures === 2, 'two failed ticks in a row');
    const failed = all.filter((e) => isFinished(e, 'failed'));
    expect(failed[0]).toMatchObject({ error_code: 'upstream', error_class: 'status', generation: 1, bytes: null, consecutive_failures: 1 });
    expect((failed[0] as Of<'tick_finished'>).error).toMatch(/answered 503/);
    const upstream = ofType(all, 'upstream_error');
    expect(upstream.some((u) => u.will_retry && u.error_class === 'status' && /answered 503/.test(u.error))).toBe(true);

    recall.setFault(null);
    const lastFailure = failed.at(-1)!.id;
    await waitForEvent(daemon, (e) => e.id > lastFailure && isFinished(e, 'unchanged'), 'an unchanged tick after the failures');
    expect(await daemon.stop('SIGTERM')).toEqual({ code: 0, signal: null });

    all = await events();
    expectContiguous(
      all.map((e) => e.id),
      1,
    );
    expect(new Set(all.map((e) => e.pid))).toEqual(new Set([daemon.pid]));
    expectCoherentTicks(all);
    const stopping = all.findIndex((e) => e.type === 'puller_stopping');
    expect(all[stopping]).toMatchObject({ reason: 'SIGTERM' });
    // After it, at most the tick the signal came during: interrupted, or finished if the signal
    // came after its last step that can be interrupted.
    const after = all.slice(stopping + 1);
    expect(after.length).toBeLessThanOrEqual(1);
    for (const e of after) {
      const interrupted = e.type === 'tick_finished' && e.error === 'interrupted by shutdown' && e.error_code === 'interrupted';
      expect(e.type === 'tick_finished' && (interrupted || e.outcome !== 'failed'), JSON.stringify(e)).toBe(true);
    }

    const published = ofType(all, 'generation_published').at(-1)!;
    expect(await publishedGenerationOf(paths().published)).toBe(published.generation);
    expect(published.bytes).toBe((await stat(paths().published)).size);

    // metrics.json is written before each tick_finished: after the stop it has counted every tick.
    const file = await metricsFile();
    expect(file.pid).toBe(daemon.pid);
    const ticks = ofType(all, 'tick_finished');
    for (const outcome of ['published', 'unchanged', 'held', 'failed'] as const) {
      expect(metricValue(file, 'session_lattice_puller_ticks_total', { outcome }), outcome).toBe(ticks.filter((t) => t.outcome === outcome).length);
    }
    expect(metricValue(file, 'session_lattice_puller_upstream_errors_total', { class: 'status' })).toBe(
      upstream.filter((u) => u.error_class === 'status').length,
    );
    expect(metricValue(file, 'session_lattice_puller_tick_failures_total', { code: 'upstream' })).toBe(ticks.filter((t) => t.error_code === 'upstream').length);
    expect(metricValue(file, 'session_lattice_puller_tick_failures_total', { code: 'upstream' })).toBeGreaterThanOrEqual(2);
    expect(metricValue(file, 'session_lattice_puller_rows_loaded_total')).toBe(valid);
    expect(metricValue(file, 'session_lattice_puller_generation')).toBe(1);

    // What the reads server will do with it: prom-client's own text, every series ours.
    const text = await AggregatorRegistry.aggregate([file.metrics]).metrics();
    expect(text).toContain(`session_lattice_puller_ticks_total{outcome="published"} 1`);
    expect(text).toContain('# TYPE session_lattice_puller_tick_duration_seconds histogram');
    expect(text).toMatch(/^session_lattice_puller_tick_duration_seconds_bucket\{le="\+Inf",phase="total"\} \d+$/m);
    for (const line of text.split('\n').filter((l) => l !== '')) {
      expect(line).toMatch(/^(# (HELP|TYPE) session_lattice_puller_\w+ .+|session_lattice_puller_\w+(\{[^}]*\})? (-?[0-9.e+-]+|\+Inf|NaN))$/);
    }
  });

  it('rotates at SESSION_LATTICE_EVENTS_LOG_KB, keeping both files within the bound and the ids contiguous across them', async () => {
    const daemon = serve(['--refresh-interval-seconds', '0.1'], { SESSION_LATTICE_EVENTS_LOG_KB: '1' });
    // The oldest events gone: the log has rotated at least twice.
    await waitForLog(daemon, (all) => (all[0]?.id ?? 0) > 1 && (all.at(-1)?.id ?? 0) >= 40, 'the log to rotate twice and reach 40 events');
    expect(await daemon.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const files = [];
    for (const path of [paths().eventsRotated, paths().events]) {
      const text = await readFile(path, 'utf8');
      const lines = text.split('\n').filter((l) => l !== '');
      // Rotation comes before an append would pass the bound: only a line longer than it alone goes over.
      expect(Buffer.byteLength(text) <= 1024 || lines.length === 1, `${path}: ${Buffer.byteLength(text)} bytes`).toBe(true);
      files.push(parseEventLines(text).map((e) => e.id));
    }
    const [rotated, current] = files as [number[], number[]];
    expectContiguous([...rotated, ...current]);
    expect((await events()).map((e) => e.id)).toEqual([...rotated, ...current]);
  });

  it('continues the ids across restarts, after a torn last line too, and a one-shot pull writes its start and stop', async () => {
    const first = serve(['--refresh-interval-seconds', '60']);
    await waitForEvent(first, (e) => isFinished(e, 'published'), 'the first publish');
    expect((await first.stop('SIGTERM')).code).toBe(0);
    const before = await events();
    expect(before.at(-1)).toMatchObject({ type: 'puller_stopping', reason: 'SIGTERM', pid: first.pid });

    const second = serve(['--refresh-interval-seconds', '60']);
    let all = await waitForEvent(second, (e) => e.pid === second.pid && isFinished(e), "the restarted puller's first tick");
    expect(all[before.length]).toMatchObject({ id: before.at(-1)!.id + 1, type: 'puller_started', pid: second.pid, generation: 1 });
    expect((await second.stop('SIGTERM')).code).toBe(0);
    all = await events();

    // A puller killed mid-append: half a line, claiming a far larger id, with no newline.
    const torn = '{"id":99999,"at":"2026-01-01T00:00:00.000Z","pid":1,"type":"tick_sta';
    await appendFile(paths().events, torn);
    const pull = await runCli(['pull', '--json', '--home', home.dir, '--repo-recall-url', recall.url]);
    expect(pull.code, pull.stderr).toBe(0);
    const after = await events();
    const pulled = after.slice(all.length);
    expect(pulled[0]).toMatchObject({ id: all.at(-1)!.id + 1, type: 'puller_started' });
    expect(pulled.at(-1)).toMatchObject({ type: 'puller_stopping', reason: 'pull finished' });
    expect(new Set(pulled.map((e) => e.pid)).size).toBe(1);
    expectContiguous(
      after.map((e) => e.id),
      1,
    );
    // The torn line stays, a line of its own, and is skipped by readers.
    expect((await readFile(paths().events, 'utf8')).split('\n')).toContain(torn);
    for (const pid of [first.pid, second.pid]) expectCoherentTicks(after.filter((e) => e.pid === pid));
  });
});

describe('view events', () => {
  // Fails on exactly one load (6 sessions): a view can fail and recover without a new definition.
  const moody = defineView({
    name: 'moody',
    description: 'How many sessions there are, unless there are six.',
    keyColumns: ['n'],
    sql: "SELECT CASE WHEN count(*) = 6 THEN error('six sessions are not allowed') ELSE count(*) END AS n FROM base.sessions",
  });
  const steady = defineView({ name: 'steady', description: 'How many sessions there are.', keyColumns: ['n'], sql: 'SELECT count(*) AS n FROM base.sessions' });

  it('a view that fails is a view_failed with its error, and its next refresh a view_recovered; metrics count the failure', async () => {
    const config = { ...loadConfig({}, {}, []), home: home.dir, repoRecallUrl: recall.url };
    const puller = await Puller.open({ config, catalog: [steady, moody], logger: createLogger('test', 'silent') });
    try {
      for (const sessions of [5, 6, 7]) {
        await recall.setPayloadText(generatePayloadText({ sessions, messy: false, seed: 3 }));
        const result = await puller.tick();
        expect(result.ok && result.report.outcome).toBe('published');
      }
    } finally {
      await puller.close();
    }
    const all = await events();
    const views = all.filter((e) => e.type === 'view_failed' || e.type === 'view_recovered');
    expect(views).toMatchObject([
      { type: 'view_failed', view: 'moody', error: expect.stringContaining('six sessions are not allowed') },
      { type: 'view_recovered', view: 'moody' },
    ]);
    // Each in the tick that refreshed the view: the second and the third.
    const ticks = ofType(all, 'tick_finished').map((t) => t.id);
    expect(views[0]!.id).toBeGreaterThan(ticks[0]!);
    expect(views[0]!.id).toBeLessThan(ticks[1]!);
    expect(views[1]!.id).toBeGreaterThan(ticks[1]!);
    expect(views[1]!.id).toBeLessThan(ticks[2]!);
    expectCoherentTicks(all);
    expect(all.at(-1)).toMatchObject({ type: 'puller_stopping', reason: 'closed' });

    const file = await metricsFile();
    expect(metricValue(file, 'session_lattice_puller_view_refresh_failures_total', { view: 'moody' })).toBe(1);
    expect(metricValue(file, 'session_lattice_puller_view_refresh_failures_total', { view: 'steady' })).toBe(0);
    const histogram = file.metrics.find((m) => m.name === 'session_lattice_puller_view_refresh_duration_seconds')!;
    const count = (view: string) => histogram.values.find((v) => v.metricName?.endsWith('_count') && v.labels.view === view)?.value;
    expect([count('steady'), count('moody')]).toEqual([3, 2]);
  });
});
