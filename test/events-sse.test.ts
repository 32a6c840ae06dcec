import { rm, stat } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { EventLog } from '../src/puller/event-log.js';
import type { ErrorResponse } from '../src/reads/contract/api-types.js';
import { readEventLog } from '../src/shared/events.js';
import { homePaths } from '../src/shared/paths.js';
import { tempHome } from './helpers/processes.js';
import { SseClient } from './helpers/sse.js';
import { get, startReads, type ReadsProcess } from './reads/fixtures.js';

/**
 * GET /events against a real `serve-reads` process, with the events written by the puller's own
 * writer (EventLog, src/puller/event-log.ts) into the home it serves: the real format, rotation
 * and all. Events are awaited as they arrive, never slept for.
 */

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const KB = 1024;

async function setup(extraArgs: string[] = []): Promise<{ home: string; reads: ReadsProcess; url: string }> {
  const home = await tempHome('lattice-sse-');
  cleanups.push(() => home.cleanup());
  const reads = await startReads(home.dir, [], extraArgs);
  cleanups.push(() => reads.stop());
  return { home: home.dir, reads, url: `${reads.url}/events` };
}

/** The puller's writer on the home, as a (re)started puller opens it. */
function openLog(home: string, maxBytes = 1024 * KB): Promise<EventLog> {
  return EventLog.open(homePaths(home), maxBytes, (err) => {
    throw err;
  });
}

async function connect(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const client = await SseClient.open(url, headers);
  cleanups.push(() => client.close());
  expect(client.status, client.text).toBe(200);
  await client.started();
  return client;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Appends `n` events of a few kinds (sizes differ, so rotations fall at varied places). */
async function append(log: EventLog, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const id = log.lastEventId + 1;
    if (id % 3 === 0) await log.append({ type: 'view_failed', view: 'tool_sessions', error: `Binder Error ${id}` });
    else await log.append({ type: 'tick_started' });
  }
}

describe('GET /events', () => {
  it('streams each event within 1 s of its writing, in id order, as id/event/data frames', async () => {
    const { home, url } = await setup();
    // Connected before the puller directory exists: the tailer must find the log when it appears.
    const client = await connect(url);
    expect(client.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(client.headers['cache-control']).toBe('no-store');
    expect(client.headers['x-accel-buffering']).toBe('no');
    expect(client.raw.startsWith('retry: 1000\nid: 0\n\n')).toBe(true);

    const log = await openLog(home);
    const n = 20;
    for (let i = 1; i <= n; i++) {
      await append(log, 1);
      await client.waitForEvents(i);
    }
    const events = client.events();
    expect(events.map((e) => e.id)).toEqual(range(1, n));
    const latencies = events.map((e) => e.receivedAt - Date.parse(e.data.at as string));
    expect(latencies).toHaveLength(n);
    expect(latencies.every(Number.isFinite)).toBe(true);
    const sorted = [...latencies].sort((a, b) => a - b);
    console.info(`event latency (receive - at), ms: median ${sorted[n >> 1]}, max ${sorted[n - 1]}`);
    expect(sorted[n - 1]).toBeLessThan(1000);
    // Each frame's data is the line the writer wrote, byte for byte.
    const lines = (await readEventLog(homePaths(home))).map((e) => JSON.stringify(e));
    expect(client.items.filter((i) => i.kind === 'event').map((i) => (i as { data: string }).data)).toEqual(lines);
    expect(client.raw).toContain(`id: 3\nevent: view_failed\ndata: ${lines[2]}\n\n`);
  });

  it('resumes with Last-Event-ID missing none and repeating none across a rotation and a puller restart', async () => {
    const { home, url } = await setup();
    const paths = homePaths(home);
    let log = await openLog(home, 1 * KB);
    await append(log, 3);
    const follower = await connect(url); // connected throughout: sees every event once
    const a = await connect(url);
    await append(log, 5);
    await a.waitForEvents(5);
    await a.close();
    const seen = a.ids();
    expect(seen).toEqual(range(4, 8));

    // A rotation while A is away (one: a second would drop what A has not seen), then a
    // "restart": a new writer on the same files continues the ids.
    const rotatedFrom = (await stat(paths.events)).ino;
    while ((await stat(paths.events)).ino === rotatedFrom) await append(log, 1);
    log = await openLog(home, 1 * KB);
    await append(log, 2);
    const held = await readEventLog(paths);
    expect(held[0]!.id, 'the log still holds the event after the one A saw last').toBeLessThanOrEqual(9);
    const last = held.at(-1)!.id;
    expect(last).toBeGreaterThan(10);

    const resumed = await connect(url, { 'last-event-id': '8' });
    await resumed.waitForEvents(last - 8);
    await append(log, 4);
    await resumed.waitForEvents(last - 8 + 4);
    await follower.waitForEvents(last + 4 - 3);
    expect(resumed.ofType('gap')).toEqual([]);
    expect(resumed.ids()).toEqual(range(9, last + 4));
    expect(follower.ids()).toEqual(range(4, last + 4));
    // The same by query string (what an EventSource can send on its first connection).
    const byQuery = await connect(`${url}?last_event_id=8`);
    await byQuery.waitForEvents(last - 8 + 4);
    expect(byQuery.ids()).toEqual(range(9, last + 4));
  });

  it('sends a gap before the replay when the events after the id were rotated away', async () => {
    const { home, url } = await setup();
    const log = await openLog(home, 1 * KB);
    await append(log, 60);
    const held = await readEventLog(homePaths(home));
    const first = held[0]!.id;
    expect(first).toBeGreaterThan(2);
    for (const client of [await connect(url, { 'last-event-id': '1' }), await connect(`${url}?last_event_id=1`)]) {
      await client.waitForEvents(held.length);
      const frames = client.items.filter((i) => i.kind === 'event');
      expect(frames[0]).toMatchObject({ type: 'gap' });
      expect(client.ofType('gap')).toEqual([{ after: 1, resumed_at: first }]);
      expect(client.ids()).toEqual(range(first, 60));
    }
  });

  it('ends the streams when the log starts over, and a resume then says so and replays the new log', async () => {
    const { home, url } = await setup();
    let log = await openLog(home);
    const live = await connect(url);
    await append(log, 6);
    // Handed on by the tailer: it has seen ids up to 6.
    await live.waitForEvents(6);
    const client = await connect(url, { 'last-event-id': '0' });
    await client.waitForEvents(6);
    // The puller's directory removed, and a new puller's log starts again from id 1.
    await rm(homePaths(home).pullerDir, { recursive: true });
    log = await openLog(home);
    await append(log, 2);
    await live.until(() => live.done && client.done, 'the streams to end');
    expect(live.ids()).toEqual(range(1, 6));
    const resumed = await connect(url, { 'last-event-id': '6' });
    await resumed.waitForEvents(2);
    expect(resumed.ofType('gap')).toEqual([{ after: 6, resumed_at: 1 }]);
    expect(resumed.ids()).toEqual([1, 2]);
    await append(log, 1);
    await resumed.waitForEvents(3);
    expect(resumed.ids()).toEqual([1, 2, 3]);
  });

  it('tail=N starts with the last N events, then follows live', async () => {
    const { home, url } = await setup();
    const log = await openLog(home);
    await append(log, 10);
    const three = await connect(`${url}?tail=3`);
    const none = await connect(`${url}?tail=0`);
    const all = await connect(`${url}?tail=1000`);
    expect(three.raw.startsWith('retry: 1000\nid: 7\n\n')).toBe(true);
    expect(none.raw.startsWith('retry: 1000\nid: 10\n\n')).toBe(true);
    await three.waitForEvents(3);
    await all.waitForEvents(10);
    await append(log, 1);
    await three.waitForEvents(4);
    await none.waitForEvents(1);
    await all.waitForEvents(11);
    expect(three.ids()).toEqual([8, 9, 10, 11]);
    expect(none.ids()).toEqual([11]);
    expect(all.ids()).toEqual(range(1, 11));
    // A Last-Event-ID (an EventSource reconnecting to the same URL) wins over tail.
    const again = await connect(`${url}?tail=3`, { 'last-event-id': '9' });
    await again.waitForEvents(2);
    expect(again.ids()).toEqual([10, 11]);
  });

  it('answers bad parameters 400 bad_parameter naming the parameter', async () => {
    const { url } = await setup();
    const cases: Array<[string, Record<string, string>, string]> = [
      ['?tail=abc', {}, 'tail'],
      ['?tail=1001', {}, 'tail'],
      ['?tail=-1', {}, 'tail'],
      ['?tail=1&tail=2', {}, 'tail'],
      ['?last_event_id=x', {}, 'last_event_id'],
      ['?last_event_id=1.5', {}, 'last_event_id'],
      ['?since=3', {}, 'since'],
      ['', { 'last-event-id': 'abc' }, 'Last-Event-ID'],
      ['', { 'last-event-id': '-4' }, 'Last-Event-ID'],
    ];
    for (const [query, headers, parameter] of cases) {
      const res = await get(`${url}${query}`, headers);
      expect(res.status, `${query} ${JSON.stringify(headers)}`).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect((res.json as ErrorResponse).error).toMatchObject({ code: 'bad_parameter', parameter });
    }
  });
});
