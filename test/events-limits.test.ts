import { connect as connectTcp, type Socket } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { EventLog } from '../src/puller/event-log.js';
import type { ErrorResponse, HealthResponse } from '../src/reads/contract/api-types.js';
import { homePaths } from '../src/shared/paths.js';
import { eventually, tempHome } from './helpers/processes.js';
import { SseClient } from './helpers/sse.js';
import { get, publish, pull, startFake, startReads, type ReadsProcess } from './reads/fixtures.js';

/**
 * GET /events's bounds and lifecycle against a real `serve-reads`: heartbeats, the subscriber cap,
 * a client that does not read, the server's stop with streams open, the access log, and the
 * reads side's own generation_served event.
 */

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function setup(extraArgs: string[] = []): Promise<{ home: string; reads: ReadsProcess; url: string }> {
  const home = await tempHome('lattice-sse-limits-');
  cleanups.push(() => home.cleanup());
  const reads = await startReads(home.dir, [], extraArgs);
  cleanups.push(() => reads.stop());
  return { home: home.dir, reads, url: `${reads.url}/events` };
}

async function open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const client = await SseClient.open(url, headers);
  cleanups.push(() => client.close());
  return client;
}

/** A client that sends GET /events and then never reads a byte. */
async function nonReader(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const socket = connectTcp(Number(port), hostname);
  cleanups.push(async () => socket.destroy());
  await once(socket, 'connect');
  socket.pause();
  socket.on('error', () => undefined);
  socket.write(`GET /events HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
  return socket;
}

describe('GET /events: bounds and lifecycle', () => {
  it('sends a heartbeat comment every eventsHeartbeatSeconds on a quiet stream', async () => {
    const { url } = await setup(['--events-heartbeat-seconds', '0.2']);
    const client = await open(url);
    await client.started();
    await client.until(() => client.heartbeats() >= 3, 'three heartbeats');
    expect(client.raw).toContain('\n: heartbeat\n\n');
    expect(client.events()).toEqual([]);
  });

  it('answers the (max+1)-th subscriber 503 too_many_subscribers, and frees a slot when a client leaves', async () => {
    const { url } = await setup(['--max-event-subscribers', '2']);
    const a = await open(url);
    const b = await open(url);
    await Promise.all([a.started(), b.started()]);
    const refused = await open(url);
    expect(refused.status).toBe(503);
    expect(refused.headers['content-type']).toMatch(/^application\/json/);
    expect(refused.headers['retry-after']).toBe('1');
    expect((JSON.parse(refused.text) as ErrorResponse).error).toMatchObject({
      code: 'too_many_subscribers',
      message: expect.stringMatching(/2 event streams are open/),
    });
    // Other routes are not affected.
    expect((await get(url.replace('/events', '/openapi.json'))).status).toBe(200);
    await a.close();
    const c = await eventually(async () => {
      const attempt = await open(url);
      return attempt.status === 200 ? attempt : undefined;
    }, 'a slot to free');
    await c.started();
  });

  it('cuts off a subscriber that does not read, and frees its slot', { timeout: 300_000 }, async () => {
    const { home, reads, url } = await setup(['--max-event-subscribers', '2']);
    const reader = await open(url);
    await reader.started();
    await nonReader(url);
    const log = await EventLog.open(homePaths(home), 8 * 1024 * 1024, (err) => {
      throw err;
    });
    const cut = () => reads.daemon.logLines().some((l) => typeof l.msg === 'string' && l.msg.startsWith('cut off an event stream: it does not read'));
    // Big events in bursts of 1.2 MB (more than the bound: the reader must not be cut for them),
    // until what waits for the stuck client passes the bound (the kernel's buffers first) for long.
    let written = 0;
    while (!cut() && written < 1000) {
      for (let i = 0; i < 20; i++) await log.append({ type: 'view_failed', view: 'tool_sessions', error: 'x'.repeat(60_000) });
      written += 20;
      await reader.waitForEvents(written);
    }
    await reads.daemon.waitFor(cut, 'the stuck client to be cut off');
    console.info(`cut off after ${written} events of 60 kB`);
    // The slot is free again; the reader that reads kept every event.
    const next = await eventually(async () => {
      const attempt = await open(url);
      return attempt.status === 200 ? attempt : undefined;
    }, 'the freed slot');
    await next.started();
    await reader.waitForEvents(written);
    expect(reader.ids()).toEqual(Array.from({ length: written }, (_, i) => i + 1));
  });

  it('stops at once with streams open (one of them not reading), and logs each stream once it ends', async () => {
    const { home, reads, url } = await setup();
    const log = await EventLog.open(homePaths(home), 1024 * 1024, (err) => {
      throw err;
    });
    const first = await open(url);
    await first.started();
    await log.append({ type: 'tick_started' });
    await first.waitForEvents(1);
    await first.close();
    await reads.daemon.waitFor(
      (d) => d.logLines().some((l) => l.msg === 'request' && l.path === '/events' && l.status === 200),
      'the access line of the stream that ended',
    );
    const streams = [await open(url), await open(url)];
    await Promise.all(streams.map((s) => s.started()));
    await nonReader(url);
    const stopping = Date.now();
    const exit = await reads.daemon.stop('SIGTERM');
    const took = Date.now() - stopping;
    console.info(`serve-reads stopped ${took} ms after SIGTERM with 3 streams open`);
    expect(exit.code, reads.daemon.stdout).toBe(0);
    const said = reads.daemon.logLines().map((l) => l.msg);
    expect(said.at(-1)).toBe('stopped');
    expect(said).not.toContain('did not stop within the deadline; exiting');
    await Promise.all(streams.map((s) => s.ended));
    expect(streams.every((s) => s.done)).toBe(true);
  });

  it('sends generation_served when this server switches to a newly published generation', async () => {
    const home = await tempHome('lattice-sse-gen-');
    cleanups.push(() => home.cleanup());
    const fake = await startFake(120);
    cleanups.push(() => fake.close());
    await pull(home.dir, fake);
    const reads = await startReads(home.dir);
    cleanups.push(() => reads.stop());
    const client = await open(`${reads.url}/events`);
    await client.started();
    await publish(home.dir, fake, 140);
    await client.until(() => client.ofType('generation_served').length > 0, 'generation_served');
    const health = (await get(`${reads.url}/healthz`)).json as HealthResponse;
    expect(client.ofType('generation_served')).toEqual([{ generation: 2, published_at: health.published_at }]);
    // Not a log event: no id of its own, and the stream's last id is unchanged.
    expect(client.raw).toMatch(/\n\nevent: generation_served\ndata: \{[^\n]*\}\n\n/);
  });
});
