import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { call, connect, errorText, structured } from './reads/mcp-client.js';
import type { AddressInfo } from 'node:net';
import type { FakeRecall } from './fake-recall/server.js';
import { eventually, tempHome, type TempHome } from './helpers/processes.js';
import { DEFAULTS } from '../src/shared/config.js';
import { startReadsServer } from '../src/reads/http/server.js';
import type { ErrorResponse, ViewRowsResponse } from '../src/reads/contract/api-types.js';
import { get, pull, startFake, startReads, type Got, type ReadsProcess } from './reads/fixtures.js';
import { rawConnect, rawExchange, type RawConnection, type RawResponse } from './reads/raw-http.js';

// src/shared/version.ts finds package.json relative to dist/; from the sources it looks one level too high.
vi.mock('../src/shared/version.js', async (original) => ({ ...(await original<object>()), VERSION: '0.0.0-test' }));

/**
 * The edges of the reads server (issue 11, item 7), against a real `serve-reads` process over raw
 * sockets where fetch cannot say it: requests Node's http server used to answer by itself (an empty
 * 400 without Host, a dropped CONNECT, an empty 417), slow clients (a body or headers dripped a
 * byte at a time) cut at the request deadline, the connection cap, shutdown with a request still
 * arriving, and parameter names such as `__proto__` over HTTP and MCP.
 */

/** The request deadline of the shared server: short, so that the drip tests end soon. */
const REQUEST_TIMEOUT_S = 4;
const COLUMNS = 'columns: tool_name, session_count, session_ids';

let home: TempHome;
let fake: FakeRecall;
let proc: ReadsProcess;
const others: ReadsProcess[] = [];

beforeAll(async () => {
  home = await tempHome('lattice-http-edges-');
  fake = await startFake(200);
  await pull(home.dir, fake);
  proc = await startReads(home.dir, [], ['--request-timeout-seconds', String(REQUEST_TIMEOUT_S)]);
});

afterAll(async () => {
  for (const p of [proc, ...others]) await p?.stop();
  await fake?.close();
  await home?.cleanup();
});

async function reads(extraArgs: string[]): Promise<ReadsProcess> {
  const p = await startReads(home.dir, [], extraArgs);
  others.push(p);
  return p;
}

/** A JSON error body of the registry, with the status and code expected. */
function expectError(res: RawResponse, status: number, code: ErrorResponse['error']['code'], message?: RegExp): ErrorResponse {
  expect(res.status, res.body).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  const body = res.body;
  const parsed = JSON.parse(body) as ErrorResponse;
  expect(parsed.error.code).toBe(code);
  expect(parsed.error.message.length).toBeGreaterThan(10);
  if (message) expect(parsed.error.message).toMatch(message);
  expect(body).not.toMatch(/\bat .*\.js:\d+/); // no stack trace
  return parsed;
}

const HOST = 'Host: 127.0.0.1\r\n';

interface RawCase {
  name: string;
  request: string;
  status: number;
  code: ErrorResponse['error']['code'];
  message: RegExp;
  /** The connection is closed after the answer. */
  closes?: boolean;
  allow?: string;
}

const RAW_CASES: RawCase[] = [
  { name: 'no Host (HTTP/1.1)', request: 'GET /healthz HTTP/1.1\r\n\r\n', status: 400, code: 'bad_request', message: /Host header is missing/ },
  { name: 'no Host (HTTP/1.0)', request: 'GET /views HTTP/1.0\r\n\r\n', status: 400, code: 'bad_request', message: /Host header is missing/, closes: true },
  { name: 'empty Host', request: 'GET /healthz HTTP/1.1\r\nHost: \r\n\r\n', status: 400, code: 'bad_request', message: /Host header is missing/ },
  {
    name: 'no Host on /mcp',
    request: 'POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
    status: 400,
    code: 'bad_request',
    message: /Host header is missing/,
  },
  {
    name: 'CONNECT',
    request: `CONNECT 127.0.0.1:22 HTTP/1.1\r\n${HOST}\r\n`,
    status: 405,
    code: 'method_not_allowed',
    message: /CONNECT is not allowed/,
    closes: true,
    allow: 'GET, HEAD',
  },
  {
    name: 'CONNECT without Host',
    request: 'CONNECT example.com:443 HTTP/1.1\r\n\r\n',
    status: 405,
    code: 'method_not_allowed',
    message: /CONNECT/,
    closes: true,
  },
  {
    name: 'a method HTTP does not define',
    request: `BREW /healthz HTTP/1.1\r\n${HOST}\r\n`,
    status: 405,
    code: 'method_not_allowed',
    message: /method BREW is not allowed/,
    closes: true,
    allow: 'GET, HEAD',
  },
  {
    name: 'a WebDAV method',
    request: `PROPFIND /views HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`,
    status: 405,
    code: 'method_not_allowed',
    message: /PROPFIND/,
    closes: true,
    allow: 'GET, HEAD',
  },
  // Fastify checks a QUERY's Content-Type (RFC 10008) before any not-found handling: was a 400 (issue 25).
  {
    name: 'QUERY',
    request: `QUERY /views HTTP/1.1\r\n${HOST}\r\n`,
    status: 405,
    code: 'method_not_allowed',
    message: /method QUERY is not allowed/,
    allow: 'GET, HEAD',
  },
  {
    name: 'QUERY with a body',
    request: `QUERY /views/tool_sessions HTTP/1.1\r\n${HOST}Content-Type: application/sql\r\nContent-Length: 8\r\n\r\nSELECT 1`,
    status: 405,
    code: 'method_not_allowed',
    message: /method QUERY is not allowed/,
    allow: 'GET, HEAD',
  },
  {
    name: 'QUERY /mcp',
    request: `QUERY /mcp HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
    status: 405,
    code: 'method_not_allowed',
    message: /method QUERY is not allowed/,
    allow: 'GET, HEAD',
  },
  {
    name: 'PUT with a malformed Content-Type',
    request: `PUT /views HTTP/1.1\r\n${HOST}Content-Type: not a type\r\nContent-Length: 2\r\n\r\n{}`,
    status: 405,
    code: 'method_not_allowed',
    message: /method PUT is not allowed/,
    allow: 'GET, HEAD',
  },
  { name: 'not HTTP at all', request: 'hello there\r\n\r\n', status: 400, code: 'bad_request', message: /malformed HTTP request/, closes: true },
  {
    name: 'Content-Length with Transfer-Encoding',
    request: `POST /mcp HTTP/1.1\r\n${HOST}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    status: 400,
    code: 'bad_request',
    message: /malformed HTTP request/,
    closes: true,
  },
  {
    name: 'a bad chunk size',
    request: `POST /mcp HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    status: 400,
    code: 'bad_request',
    message: /malformed HTTP request/,
    closes: true,
  },
  {
    name: 'a space in a header name',
    request: `GET /healthz HTTP/1.1\r\n${HOST}Bad Header: x\r\n\r\n`,
    status: 400,
    code: 'bad_request',
    message: /malformed HTTP request/,
    closes: true,
  },
  {
    name: '20 KB of headers',
    request: `GET /healthz HTTP/1.1\r\n${HOST}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    status: 431,
    code: 'bad_request',
    message: /too large/,
    closes: true,
  },
  {
    name: 'an Expect other than 100-continue',
    request: `GET /healthz HTTP/1.1\r\n${HOST}Expect: teapot\r\n\r\n`,
    status: 417,
    code: 'bad_request',
    message: /Expect: teapot is not supported/,
    closes: true,
  },
];

describe('what Node used to answer by itself is a JSON error of the registry (raw sockets)', () => {
  for (const c of RAW_CASES) {
    it(`${c.name}: ${c.status} ${c.code}`, async () => {
      const res = await rawExchange(proc.url, c.request);
      expectError(res, c.status, c.code, c.message);
      if (c.closes) expect(res.closedByServer).toBe(true);
      if (c.allow !== undefined) expect(res.headers.allow).toBe(c.allow);
    });
  }

  it('serves an Upgrade request as an ordinary one, and still serves after all of the above', async () => {
    const res = await rawExchange(proc.url, `GET /healthz HTTP/1.1\r\n${HOST}Connection: Upgrade, close\r\nUpgrade: websocket\r\n\r\n`);
    expect(res.status, res.body).toBe(200);
    expect((JSON.parse(res.body) as { generation: number }).generation).toBe(1);
    expect((await get(`${proc.url}/views/tool_sessions?limit=1`)).status).toBe(200);
    expect(proc.daemon.running).toBe(true);
    expect(proc.daemon.stdout).not.toMatch(/"level":50/);
  });
});

describe('POST /mcp honours the connection the client asks for (raw sockets)', () => {
  const initialize = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });
  const mcpRequest = (connection: string) =>
    `POST /mcp HTTP/1.1\r\n${HOST}${connection}Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${initialize.length}\r\n\r\n${initialize}`;
  /** The head of each response in what the server sent, lower-cased. */
  const heads = (received: string) =>
    [...received.matchAll(/HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n/g)].map((m) => ({ status: Number(m[1]), head: m[2]!.toLowerCase() }));
  /** The event stream's answer ended: the last chunk of a chunked body. */
  const answered = (received: string) => received.includes('\r\n0\r\n\r\n');

  it('Connection: close: the answer says close and the server closes the connection after it (a second request gets nothing)', async () => {
    const conn = await rawConnect(proc.url, mcpRequest('Connection: close\r\n'));
    try {
      await conn.until('the MCP answer', answered);
      // Were the connection kept alive, this would be answered: it must not be.
      conn.write(`GET /healthz HTTP/1.1\r\n${HOST}\r\n`);
      await conn.waitClosed('the server to close the connection after its answer');
      const responses = heads(conn.received);
      expect(
        responses.map((r) => r.status),
        conn.received.slice(0, 500),
      ).toEqual([200]);
      expect(responses[0]!.head).toMatch(/^connection: close$/m);
      expect(responses[0]!.head).not.toMatch(/keep-alive/);
      expect(conn.received).toMatch(/"serverInfo"/);
    } finally {
      conn.destroy();
    }
  });

  it('without it, the connection stays open for the next request', async () => {
    const conn = await rawConnect(proc.url, mcpRequest(''));
    try {
      await conn.until('the MCP answer', answered);
      expect(heads(conn.received)[0]!.head).not.toMatch(/^connection: close$/m);
      conn.write(`GET /healthz HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`);
      await conn.waitClosed('the second answer, which closes');
      expect(heads(conn.received).map((r) => r.status)).toEqual([200, 200]);
    } finally {
      conn.destroy();
    }
  });
});

/** Opens a connection and drips `request` then one byte every 100 ms, for ever. */
async function dripping(url: string, request: string): Promise<RawConnection> {
  const conn = await rawConnect(url, request);
  conn.drip(' ', 100);
  return conn;
}

const DRIP_BODY = `POST /mcp HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 100000\r\n\r\n{"jsonrpc":`;

describe('slow clients are cut at the request deadline', () => {
  it('a dripped POST /mcp body: 408 request_timeout, then closed', async () => {
    const conn = await dripping(proc.url, DRIP_BODY);
    try {
      await conn.waitClosed('the dripped body to be cut');
      const res = await conn.response('the 408');
      expectError(res, 408, 'request_timeout', new RegExp(`within ${REQUEST_TIMEOUT_S} s`));
    } finally {
      conn.destroy();
    }
  });

  it('dripped headers, and a connection that sends nothing: 408 request_timeout, then closed', async () => {
    const headers = await dripping(proc.url, `GET /views HTTP/1.1\r\n${HOST}X-Slow: `);
    const silent = await rawConnect(proc.url);
    try {
      for (const [conn, what] of [
        [headers, 'dripped headers'],
        [silent, 'a silent connection'],
      ] as const) {
        await conn.waitClosed(what);
        expectError(await conn.response(what), 408, 'request_timeout');
      }
    } finally {
      headers.destroy();
      silent.destroy();
    }
  });

  it('50 connections dripping POST /mcp bodies do not stop HTTP reads or MCP; each is cut with a 408', async () => {
    const drips = await Promise.all(Array.from({ length: 50 }, () => dripping(proc.url, DRIP_BODY)));
    try {
      // All 50 are open and dripping when the reads start (a load that already ended proves nothing).
      expect(drips.filter((d) => d.isClosed)).toHaveLength(0);
      const rows = await get(`${proc.url}/views/tool_sessions?limit=5&order_by=-session_count`);
      expect(rows.status, rows.text).toBe(200);
      expect((rows.json as ViewRowsResponse).rows).toHaveLength(5);
      const client = await connect(proc.url);
      try {
        expect(structured<ViewRowsResponse>(await call(client, 'read_view', { view: 'tool_sessions', limit: 2 })).rows).toHaveLength(2);
      } finally {
        await client.close();
      }
      for (const [i, d] of drips.entries()) {
        await d.waitClosed(`dripping connection ${i}`);
        expectError(await d.response(`dripping connection ${i}`), 408, 'request_timeout');
      }
    } finally {
      for (const d of drips) d.destroy();
    }
  });
});

describe('the connection cap', () => {
  it('answers one connection over the cap 503 busy with Retry-After, and serves again once connections close', async () => {
    const capped = await reads(['--max-connections', '3']);
    const holders = await Promise.all([1, 2, 3].map(() => rawConnect(capped.url)));
    try {
      const refused = await rawExchange(capped.url, `GET /healthz HTTP/1.1\r\n${HOST}\r\n`);
      expectError(refused, 503, 'busy', /too many open connections \(3\)/);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.closedByServer).toBe(true);
      // The same through undici, which writes its request on a connection already answered.
      const viaUndici = await get(`${capped.url}/views`);
      expect(viaUndici.status).toBe(503);
      expect((viaUndici.json as ErrorResponse).error.code).toBe('busy');
    } finally {
      for (const h of holders) h.destroy();
    }
    const served = await eventually(async () => {
      const res = await get(`${capped.url}/views/tool_sessions?limit=1`);
      return res.status === 200 ? res : undefined;
    }, 'a read once the held connections closed');
    expect((served.json as ViewRowsResponse).rows).toHaveLength(1);
    await capped.daemon.waitFor((d) => d.logLines().some((l) => l.level === 40 && /connection cap reached/.test(String(l.msg))), 'the connection-cap warning');
  });
});

describe('shutdown', () => {
  it('answers a request still arriving 503 busy and exits cleanly (exit 0) instead of waiting for it', async () => {
    const stopping = await reads(['--request-timeout-seconds', '3600']);
    const conn = await dripping(stopping.url, DRIP_BODY);
    try {
      // The request is in: the server has parsed its headers and waits for the body.
      await eventually(async () => ((await get(`${stopping.url}/healthz`)).status === 200 ? true : undefined), 'the server to answer');
      process.kill(stopping.pid, 'SIGTERM');
      await conn.waitClosed('the dripping request to be cut at shutdown');
      expectError(await conn.response('the shutdown answer'), 503, 'busy', /shutting down/);
      const exit = await stopping.daemon.exited;
      expect(exit.code, stopping.daemon.stdout).toBe(0);
      expect(stopping.daemon.stdout).not.toMatch(/did not stop within the deadline/);
    } finally {
      conn.destroy();
    }
  });

  it('answers a request that arrives while the server closes 503 busy, in the error format (in-process)', async () => {
    let during: Got | null = null;
    const server = await startReadsServer({
      config: { ...DEFAULTS, home: home.dir, port: 0 },
      logger: pino({ level: 'silent' }),
      // Runs after the server's own preClose hook: the server is closing but still accepts.
      extend: (app) => {
        app.addHook('preClose', async () => {
          const { port } = app.server.address() as AddressInfo;
          during = await get(`http://127.0.0.1:${port}/views`);
        });
      },
    });
    await server.close();
    expect(during).not.toBeNull();
    const res = during! as Got;
    expect(res.status, res.text).toBe(503);
    expect((res.json as ErrorResponse).error.code).toBe('busy');
    expect((res.json as ErrorResponse).error.message).toMatch(/shutting down/);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.headers.connection).toBe('close');
  });
});

describe('parameter names that are Object.prototype members are ordinary unknown names', () => {
  const V = '/views/tool_sessions';
  const cases: Array<{ path: string; status: number; code: ErrorResponse['error']['code']; parameter?: string; message: RegExp }> = [
    {
      path: `${V}?filter[__proto__]=x`,
      status: 400,
      code: 'bad_parameter',
      parameter: 'filter[__proto__]',
      message: /unknown column "__proto__" in view tool_sessions/,
    },
    {
      path: `${V}?filter[__proto__][tool_name]=Bash`,
      status: 400,
      code: 'bad_parameter',
      parameter: 'filter[__proto__][tool_name]',
      message: /unknown column "__proto__" in view tool_sessions/,
    },
    { path: `${V}?filter[constructor]=x`, status: 400, code: 'bad_parameter', parameter: 'filter[constructor]', message: /unknown column "constructor"/ },
    { path: `${V}?filter[toString]=x`, status: 400, code: 'bad_parameter', parameter: 'filter[toString]', message: /unknown column "toString"/ },
    {
      path: `${V}?filter[hasOwnProperty]=1`,
      status: 400,
      code: 'bad_parameter',
      parameter: 'filter[hasOwnProperty]',
      message: /unknown column "hasOwnProperty"/,
    },
    { path: `${V}?order_by=__proto__`, status: 400, code: 'bad_parameter', parameter: 'order_by', message: /unknown column "__proto__"/ },
    { path: `${V}?order_by=-constructor`, status: 400, code: 'bad_parameter', parameter: 'order_by', message: /unknown column "constructor"/ },
    { path: `${V}?__proto__=x`, status: 400, code: 'bad_parameter', parameter: '__proto__', message: /unknown parameter/ },
    { path: `${V}?constructor=x`, status: 400, code: 'bad_parameter', parameter: 'constructor', message: /unknown parameter/ },
    { path: '/views?__proto__=1', status: 400, code: 'bad_parameter', parameter: '__proto__', message: /unknown parameter/ },
    { path: '/views/__proto__', status: 404, code: 'unknown_view', message: /unknown view "__proto__"; known views: .*tool_sessions/ },
    { path: '/views/constructor', status: 404, code: 'unknown_view', message: /unknown view "constructor"/ },
  ];
  for (const c of cases) {
    it(`GET ${c.path}: ${c.status} ${c.code}`, async () => {
      const res = await get(`${proc.url}${c.path}`);
      expect(res.status, res.text).toBe(c.status);
      const body = res.json as ErrorResponse;
      expect(body.error.code).toBe(c.code);
      expect(body.error.message).toMatch(c.message);
      if (c.parameter !== undefined) expect(body.error.parameter).toBe(c.parameter);
      if (/unknown column/.test(body.error.message)) expect(body.error.message).toContain(COLUMNS);
    });
  }

  it('MCP read_view: filters {"__proto__": ...} and other prototype names are tool errors naming the column and listing the real ones', async () => {
    const client = await connect(proc.url);
    try {
      // Parsed from JSON text, so `__proto__` is an own key (as it is in a client's request).
      for (const [filters, column, param] of [
        ['{"__proto__": 1}', '__proto__'],
        ['{"__proto__": "Bash"}', '__proto__'],
        // An object of operators: the parameter is the operator's (`filters.__proto__.tool_name`), the column is named.
        ['{"__proto__": {"tool_name": "Bash"}}', '__proto__', '__proto__.tool_name'],
        ['{"tool_name": "Bash", "__proto__": "x"}', '__proto__'],
        ['{"constructor": "x"}', 'constructor'],
        ['{"toString": "x"}', 'toString'],
      ] as Array<[string, string, string?]>) {
        const args = JSON.parse(`{"view": "tool_sessions", "filters": ${filters}}`) as Record<string, unknown>;
        expect(JSON.stringify(args)).toContain(`"${column}"`);
        expect(errorText(await call(client, 'read_view', args)), filters).toContain(
          `filters.${param ?? column}: unknown column "${column}" in view tool_sessions; ${COLUMNS}`,
        );
      }
      // A real column still filters.
      const { rows } = structured<ViewRowsResponse>(await call(client, 'read_view', { view: 'tool_sessions', filters: { tool_name: 'Bash' } }));
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((r) => r.tool_name === 'Bash')).toBe(true);
    } finally {
      await client.close();
    }
  });
});
