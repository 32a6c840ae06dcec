import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { request } from 'undici';
import type { FakeRecall } from './fake-recall/server.js';
import { eventually, freePort, startDaemon, tempHome, WAIT_MS, type TempHome } from './helpers/processes.js';
import { DEFAULTS } from '../src/shared/config.js';
import { startReadsServer, type ReadsServer } from '../src/reads/http/server.js';
import { agent, get, pull, startFake, startReads, type Got } from './reads/fixtures.js';
import { rawConnect, rawExchange } from './reads/raw-http.js';

vi.mock('../src/shared/version.js', async (original) => ({ ...(await original<object>()), VERSION: '0.0.0-test' }));

/**
 * Every HTTP response says which request it answers (X-Request-Id) and what it cost
 * (Server-Timing), and leaves exactly one access line in the log: in-process over a real pulled
 * snapshot, and in a real `serve-reads` process.
 */

type Line = Record<string, unknown>;

/** A pino destination that keeps the parsed lines and says when one arrives. */
class Lines extends EventEmitter {
  readonly all: Line[] = [];
  write(text: string): void {
    const line = JSON.parse(text) as Line;
    this.all.push(line);
    this.emit('line', line);
  }

  requests(): Line[] {
    return this.all.filter((l) => l.msg === 'request');
  }

  /** Resolves with the access line of request `id` once it is written. */
  accessLine(id: string, timeoutMs = WAIT_MS): Promise<Line> {
    const find = () => this.requests().find((l) => l.req_id === id);
    const found = find();
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('line', onLine);
        reject(new Error(`no access line for request ${id} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onLine = () => {
        const line = find();
        if (!line) return;
        clearTimeout(timer);
        this.off('line', onLine);
        resolve(line);
      };
      this.on('line', onLine);
    });
  }
}

let home: TempHome;
let fake: FakeRecall;
let server: ReadsServer;
let streaming: ReadsServer;
const lines = new Lines();
const streamLines = new Lines();

beforeAll(async () => {
  home = await tempHome('lattice-reads-obs-');
  fake = await startFake(300);
  await pull(home.dir, fake);
  const config = { ...DEFAULTS, home: home.dir, port: 0 };
  server = await startReadsServer({ config, logger: pino({ level: 'info' }, lines) });
  // Every rows body past 64 bytes streams.
  streaming = await startReadsServer({ config, logger: pino({ level: 'info' }, streamLines), streamThresholdBytes: 64 });
});

afterAll(async () => {
  await streaming?.close();
  await server?.close();
  await fake?.close();
  await home?.cleanup();
});

const header = (res: Got, name: string): string => String(res.headers[name] ?? '');

/** The Server-Timing metrics by name: `dur` as a number, or `desc`. */
function timing(res: Got): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const part of header(res, 'server-timing').split(',')) {
    const [name = '', ...params] = part.trim().split(';');
    for (const p of params) {
      const [k, v = ''] = p.split('=');
      out[name] = k === 'dur' ? Number(v) : v;
    }
  }
  return out;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('X-Request-Id', () => {
  it('echoes a sane client id, generates one otherwise, and replaces an oversized or control-character id', async () => {
    const echoed = await get(`${server.url}/healthz`, { 'x-request-id': 'dash-board_42:refresh' });
    expect(header(echoed, 'x-request-id')).toBe('dash-board_42:refresh');
    const longest = 'x'.repeat(128);
    expect(header(await get(`${server.url}/healthz`, { 'x-request-id': longest }), 'x-request-id')).toBe(longest);

    const generated = await get(`${server.url}/healthz`);
    expect(header(generated, 'x-request-id')).toMatch(UUID);
    expect(header(await get(`${server.url}/healthz`), 'x-request-id')).not.toBe(header(generated, 'x-request-id'));

    const oversized = await get(`${server.url}/healthz`, { 'x-request-id': 'y'.repeat(129) });
    expect(header(oversized, 'x-request-id')).toMatch(UUID);
    const control = await get(`${server.url}/healthz`, { 'x-request-id': 'a\tb' });
    expect(header(control, 'x-request-id')).toMatch(UUID);
    const nonAscii = await get(`${server.url}/healthz`, { 'x-request-id': Buffer.from('caf\u00e9', 'latin1').toString('latin1') });
    expect(header(nonAscii, 'x-request-id')).toMatch(UUID);
  });

  it('is on every kind of response: rows, 304, errors, a refused Host, a malformed URL, /mcp', async () => {
    const rows = await get(`${server.url}/views/tool_sessions?limit=2`, { 'x-request-id': 'r-1' });
    const notModified = await get(`${server.url}/views/tool_sessions?limit=2`, { 'x-request-id': 'r-2', 'if-none-match': header(rows, 'etag') });
    const unknown = await get(`${server.url}/views/nope`, { 'x-request-id': 'r-3' });
    const wrongMethod = await get(`${server.url}/views`, { 'x-request-id': 'r-4' }, 'DELETE');
    const badHost = await get(`${server.url}/views`, { 'x-request-id': 'r-5', host: 'evil.example' });
    const badUrl = await get(`${server.url}/views/%E0%A4%A`, { 'x-request-id': 'r-6' });
    const mcp = await request(`${server.url}/mcp`, {
      method: 'POST',
      headers: { 'x-request-id': 'r-7', 'content-type': 'application/json' },
      body: '{',
      dispatcher: agent,
    });
    await mcp.body.text();
    const statuses = [rows, notModified, unknown, wrongMethod, badHost, badUrl].map((r) => [r.status, header(r, 'x-request-id')]);
    expect(statuses).toEqual([
      [200, 'r-1'],
      [304, 'r-2'],
      [404, 'r-3'],
      [405, 'r-4'],
      [403, 'r-5'],
      [400, 'r-6'],
    ]);
    expect(mcp.headers['x-request-id']).toBe('r-7');
    for (const id of ['r-1', 'r-2', 'r-3', 'r-4', 'r-5', 'r-6', 'r-7']) expect((await lines.accessLine(id)).req_id).toBe(id);
    // Written on the socket below Fastify (no request was parsed): a fresh id all the same.
    const connect = await rawExchange(server.url, 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(connect.status).toBe(405);
    expect(connect.headers['x-request-id']).toMatch(UUID);
  });
});

describe('Server-Timing', () => {
  it('a rows miss has plan, query, render and cache=miss; the same request again is a cache hit without query or render', async () => {
    const url = `${server.url}/views/tool_usage?limit=7&order_by=-calls`;
    const miss = timing(await get(url));
    expect(miss).toMatchObject({ cache: 'miss' });
    for (const name of ['plan', 'query', 'render', 'total']) {
      expect(miss[name], name).toBeTypeOf('number');
      expect(miss[name] as number, name).toBeGreaterThanOrEqual(0);
    }
    expect(miss.total as number).toBeGreaterThanOrEqual(miss.query as number);

    const hit = timing(await get(url));
    expect(hit).toMatchObject({ cache: 'hit' });
    expect(Object.keys(hit).sort()).toEqual(['cache', 'plan', 'total']);
    // A cached JSON body is spliced with its age on the raw response (a hijacked reply): same header.
    const csv = `${server.url}/views/tool_usage?limit=7&format=csv`;
    expect(timing(await get(csv)).cache).toBe('miss');
    expect(timing(await get(csv)).cache).toBe('hit');
  });

  it('other routes, errors and 304s carry at least total', async () => {
    const views = await get(`${server.url}/views`);
    for (const res of [
      await get(`${server.url}/healthz`),
      views,
      await get(`${server.url}/views`, { 'if-none-match': header(views, 'etag') }),
      await get(`${server.url}/nope`),
    ]) {
      expect(timing(res).total, header(res, 'server-timing')).toBeTypeOf('number');
    }
  });

  it('a streamed body says what was known when its headers left: plan and cache, not the query it had not finished', async () => {
    const res = await get(`${streaming.url}/views/session_facts?limit=200`);
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBeUndefined();
    const t = timing(res);
    expect(t).toMatchObject({ cache: 'miss' });
    expect(Object.keys(t).sort()).toEqual(['cache', 'plan']);
  });
});

describe('access log', () => {
  it('one line per request with method, path, status, ms, exact bytes, id, generation and cache', async () => {
    const generation = (JSON.parse((await get(`${server.url}/healthz`)).text) as { generation: number }).generation;
    const path = '/views/tool_pairs?limit=5';
    const before = lines.requests().length;
    // Over a raw connection, to count every byte the server put on it (Connection: close: one response).
    const conn = await rawConnect(server.url, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: log-1\r\nConnection: close\r\n\r\n`);
    await conn.waitClosed('the response');
    const line = await lines.accessLine('log-1');
    expect(line).toMatchObject({ level: 30, msg: 'request', method: 'GET', path, status: 200, generation, cache: 'miss', req_id: 'log-1' });
    expect(line.ms).toBeTypeOf('number');
    expect(line.bytes).toBe(conn.received.length); // latin1: one char per byte
    expect(line).not.toHaveProperty('aborted');
    expect(lines.requests().filter((l) => l.req_id === 'log-1')).toHaveLength(1);
    expect(lines.requests().length).toBe(before + 1);

    const again = await get(`${server.url}${path}`, { 'x-request-id': 'log-2' });
    expect(await lines.accessLine('log-2')).toMatchObject({ status: 200, cache: 'hit', generation });
    expect(again.status).toBe(200);
    await get(`${server.url}/views/nope`, { 'x-request-id': 'log-3' });
    expect(await lines.accessLine('log-3')).toMatchObject({ status: 404, cache: null, generation });
    await get(`${server.url}/healthz`, { 'x-request-id': 'log-4' });
    expect(await lines.accessLine('log-4')).toMatchObject({ status: 200, cache: null, generation, path: '/healthz' });
  });

  it('counts the bytes of a streamed (chunked) body exactly, and cuts a long path at 500 characters', async () => {
    const conn = await rawConnect(
      streaming.url,
      'GET /views/session_facts?limit=300 HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: stream-1\r\nConnection: close\r\n\r\n',
    );
    await conn.waitClosed('the streamed response');
    expect(conn.received).toMatch(/transfer-encoding: chunked/i);
    expect(await streamLines.accessLine('stream-1')).toMatchObject({ status: 200, cache: 'miss', bytes: conn.received.length });

    const long = `/views/tool_sessions?filter[tool_name]=${'z'.repeat(700)}`;
    await get(`${server.url}${long}`, { 'x-request-id': 'long-1' });
    expect(((await lines.accessLine('long-1')).path as string).length).toBe(500);
  });
});

describe('serve-reads', () => {
  it('logs one access line per request at info, and none at --log-level warn', async () => {
    const info = await startReads(home.dir);
    try {
      const ids = ['p-1', 'p-2', 'p-3'];
      await get(`${info.url}/views/tool_sessions?limit=3`, { 'x-request-id': ids[0]! });
      await get(`${info.url}/views/tool_sessions?limit=3`, { 'x-request-id': ids[1]! });
      await get(`${info.url}/views/nope`, { 'x-request-id': ids[2]! });
      const byId = (id: string) => info.daemon.logLines().filter((l) => l.msg === 'request' && l.req_id === id);
      await info.daemon.waitFor(() => ids.every((id) => byId(id).length > 0), 'the access lines');
      expect(byId('p-1')).toEqual([expect.objectContaining({ status: 200, cache: 'miss', generation: 1 })]);
      expect(byId('p-2')).toEqual([expect.objectContaining({ status: 200, cache: 'hit', generation: 1 })]);
      expect(byId('p-3')).toEqual([expect.objectContaining({ status: 404, cache: null })]);
      expect((byId('p-1')[0]!.bytes as number) > 0).toBe(true);
    } finally {
      await info.stop();
    }

    // At warn there is no `listening` line to read the port from: a port picked here.
    const port = await freePort();
    const quiet = startDaemon(['serve-reads', '--home', home.dir, '--port', String(port), '--log-level', 'warn']);
    let answered: Got;
    try {
      answered = await eventually(
        () => get(`http://127.0.0.1:${port}/views/tool_sessions?limit=3`, { 'x-request-id': 'q-1' }).catch(() => undefined),
        'serve-reads at --log-level warn to answer',
      );
    } finally {
      await quiet.stop();
    }
    // The process has exited, so everything it logged is in.
    expect(answered.status).toBe(200);
    expect(header(answered, 'x-request-id')).toBe('q-1');
    expect(quiet.logLines().filter((l) => l.msg === 'request')).toEqual([]);
  });
});
