import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAULT_MODES, startFakeRecall, type FakeRecall } from './fake-recall/server.js';
import { isRecord, parsePayload } from './helpers/payload-shape.js';
import { eventually, trackChild } from './helpers/processes.js';
import { removeTempHomes, tempHome } from './helpers/temp-home.js';

// The fake upstream's server (real sockets); its payload generator is checked in test/unit/fake-recall-generator.test.ts.

afterAll(removeTempHomes);

describe('server', () => {
  let fake: FakeRecall;
  let agent: Agent;
  const N = 200;

  beforeAll(async () => {
    fake = await startFakeRecall({ sessions: N, seed: 11 });
    agent = new Agent({ keepAliveTimeout: 1000 });
  });
  afterAll(async () => {
    const dir = fake.dataDir;
    await fake.close();
    await agent.close();
    expect(existsSync(dir)).toBe(false);
  });
  afterEach(() => {
    fake.setFault(null);
  });

  type RequestOpts = NonNullable<Parameters<typeof request>[1]>;
  type Response = Awaited<ReturnType<typeof request>>;
  const get = (path: string, opts: RequestOpts = {}): Promise<Response> => request(`${fake.url}${path}`, { dispatcher: agent, ...opts });

  it('binds 127.0.0.1 on an ephemeral port', () => {
    expect(fake.url).toBe(`http://127.0.0.1:${fake.port}`);
    expect(fake.port).toBeGreaterThan(0);
  });

  it('serves the payload with Content-Length and a quoted ETag, then 304 on If-None-Match', async () => {
    const r = await get('/api/sessions');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    const etag = r.headers.etag;
    expect(etag).toBe(`"${fake.scanVersion}"`);
    const buf = Buffer.from(await r.body.arrayBuffer());
    expect(Number(r.headers['content-length'])).toBe(buf.length);
    expect(buf.equals(await readFile(fake.payloadPath))).toBe(true);
    const p = parsePayload(buf.toString('utf8'));
    expect(p.sessions).toHaveLength(N);
    expect(p.scan_version).toBe(fake.scanVersion);

    for (const inm of [etag as string, `W/${etag as string}`, `"999", ${etag as string}`]) {
      const r304 = await get('/api/sessions', { headers: { 'if-none-match': inm } });
      expect(r304.statusCode, inm).toBe(304);
      expect(r304.headers.etag).toBe(etag);
      expect(await r304.body.text()).toBe('');
    }
    const stale = await get('/api/sessions', { headers: { 'if-none-match': '"999"' } });
    expect(stale.statusCode).toBe(200);
    await stale.body.dump();
  });

  it('scan-version, milestones, action-required, 404 and 405', async () => {
    const sv = await get('/api/scan-version');
    expect(sv.statusCode).toBe(200);
    const body: unknown = await sv.body.json();
    expect(body).toEqual({ scan_version: fake.scanVersion, last_scan: expect.any(Number) });
    for (const path of ['/api/milestones', '/api/action-required']) {
      const r = await get(path);
      expect(r.statusCode).toBe(200);
      expect(await r.body.json()).toEqual([]);
    }
    const nf = await get('/api/nope');
    expect(nf.statusCode).toBe(404);
    expect(await nf.body.json()).toMatchObject({ error: 'not found' });
    const m = await get('/api/sessions', { method: 'POST', body: '{}' });
    expect(m.statusCode).toBe(405);
    expect(m.headers.allow).toBe('GET');
    await m.body.dump();
    const last = fake.requests.at(-1);
    expect(last).toMatchObject({ method: 'POST', path: '/api/sessions' });
    expect(last?.headers.host).toBe(`127.0.0.1:${fake.port}`);
  });

  it('setData and setPayloadText bump the scan_version and ETag', async () => {
    const before = fake.scanVersion;
    const oldEtag = `"${before}"`;
    await fake.setData({ sessions: 25, seed: 2, messy: false });
    expect(fake.scanVersion).toBe(before + 1);
    const r = await get('/api/sessions', { headers: { 'if-none-match': oldEtag } });
    expect(r.statusCode).toBe(200);
    expect(r.headers.etag).toBe(`"${before + 1}"`);
    const p = parsePayload(await r.body.text());
    expect(p.sessions).toHaveLength(25);
    expect(p.scan_version).toBe(before + 1);

    const text = '{"sessions":[],"generated_at":1700002000,"scan_version":7}';
    await fake.setPayloadText(text);
    expect(fake.scanVersion).toBe(before + 2);
    const r2 = await get('/api/sessions');
    expect(r2.headers.etag).toBe(`"${before + 2}"`);
    expect(await r2.body.text()).toBe(text);
    const sv: unknown = await (await get('/api/scan-version')).body.json();
    expect(sv).toMatchObject({ scan_version: before + 2 });
    await fake.setData({ sessions: N, seed: 11 });
  });

  it('status faults, with `times`', async () => {
    for (const [mode, code] of [
      ['status-500', 500],
      ['status-503', 503],
      ['status-404', 404],
    ] as const) {
      fake.setFault(mode, { times: 2 });
      for (let i = 0; i < 2; i++) {
        const r = await get('/api/sessions');
        expect(r.statusCode, mode).toBe(code);
        await r.body.dump();
      }
      const ok = await get('/api/sessions');
      expect(ok.statusCode, `${mode} cleared after 2`).toBe(200);
      await ok.body.dump();
    }
    // faults touch /api/sessions only
    fake.setFault('status-500');
    const sv = await get('/api/scan-version');
    expect(sv.statusCode).toBe(200);
    await sv.body.dump();
  });

  it('hang: accepted, never answered', async () => {
    fake.setFault('hang', { times: 1 });
    const asked = fake.requests.length;
    const abort = new AbortController();
    const hung = get('/api/sessions', { signal: abort.signal });
    // It did arrive, and it is still unanswered: give up on it.
    await eventually(() => (fake.requests.slice(asked).some((r) => r.path === '/api/sessions') ? true : undefined), 'the request to arrive');
    abort.abort();
    await expect(hung).rejects.toThrow();
    const ok = await get('/api/sessions');
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
  });

  it('truncate: full Content-Length, half the body, then the socket closes', async () => {
    fake.setFault('truncate', { times: 1 });
    const r = await get('/api/sessions');
    // Read the body before awaiting anything else: once the socket closes, what the stream had
    // buffered but nobody had read yet is discarded with it.
    let received = 0;
    await expect(
      (async () => {
        for await (const chunk of r.body) received += (chunk as Buffer).length;
      })(),
    ).rejects.toThrow();
    expect(r.statusCode).toBe(200);
    const size = (await stat(fake.payloadPath)).size;
    expect(Number(r.headers['content-length'])).toBe(size);
    expect(received).toBe(Math.floor(size / 2));
  });

  it('malformed-json: 200 with an ETag and a body JSON.parse rejects', async () => {
    fake.setFault('malformed-json', { times: 1 });
    const r = await get('/api/sessions');
    expect(r.statusCode).toBe(200);
    expect(r.headers.etag).toBe(`"${fake.scanVersion}"`);
    const text = await r.body.text();
    expect(text.startsWith('{"sessions":[')).toBe(true);
    expect(() => JSON.parse(text) as unknown).toThrow(SyntaxError);
  });

  it('wrong-shape: valid JSON, never a sessions array (alternating shapes)', async () => {
    fake.setFault('wrong-shape');
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await get('/api/sessions');
      expect(r.statusCode).toBe(200);
      const v: unknown = await r.body.json();
      expect(isRecord(v) && Array.isArray(v.sessions)).toBe(false);
      seen.push(Array.isArray(v) ? 'array' : Object.keys(v as object).join(','));
    }
    expect(new Set(seen).size).toBe(4);
    fake.setFault('wrong-shape', { shape: 'array', times: 1 });
    expect(Array.isArray(await (await get('/api/sessions')).body.json())).toBe(true);
  });

  it('oversized: exactly oversizeBytes of valid-looking JSON, with or without Content-Length', async () => {
    const bytes = 3 * 1024 * 1024 + 17;
    for (const chunked of [false, true]) {
      fake.setFault('oversized', { times: 1, oversizeBytes: bytes, oversizeChunked: chunked });
      const r = await get('/api/sessions');
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-length']).toBe(chunked ? undefined : String(bytes));
      const buf = Buffer.from(await r.body.arrayBuffer());
      expect(buf.length).toBe(bytes);
      expect(parsePayload(buf.toString('utf8')).sessions.length).toBeGreaterThan(1000);
    }
  });

  it('slow: the real body, dripped', async () => {
    await fake.setData({ sessions: 60, seed: 4 });
    const size = (await stat(fake.payloadPath)).size;
    const chunk = Math.ceil(size / 5);
    fake.setFault('slow', { times: 1, slowChunkBytes: chunk, slowIntervalMs: 60 });
    const t0 = performance.now();
    const r = await get('/api/sessions');
    const buf = Buffer.from(await r.body.arrayBuffer());
    const elapsed = performance.now() - t0;
    expect(buf.equals(await readFile(fake.payloadPath))).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(4 * 60 - 20);
    await fake.setData({ sessions: N, seed: 11 });
  });

  it('a download in flight finishes with the old payload when setData replaces it', async () => {
    await fake.setData({ sessions: 60, seed: 5 });
    const oldPath = fake.payloadPath;
    const oldBytes = await readFile(oldPath);
    const oldEtag = fake.etag;
    fake.setFault('slow', { times: 1, slowChunkBytes: Math.ceil(oldBytes.length / 4), slowIntervalMs: 40 });
    const r = await get('/api/sessions');
    expect(r.headers.etag).toBe(oldEtag);
    await fake.setData({ sessions: 70, seed: 5 });
    expect(fake.etag).not.toBe(oldEtag);
    const buf = Buffer.from(await r.body.arrayBuffer());
    expect(buf.equals(oldBytes)).toBe(true);
    // The superseded file is removed once nobody reads it.
    await eventually(() => (existsSync(oldPath) ? undefined : true), 'the superseded payload file to be removed');
    await fake.setData({ sessions: N, seed: 11 });
  });

  it('reset: the socket dies before any response', async () => {
    fake.setFault('reset', { times: 1 });
    await expect(get('/api/sessions')).rejects.toThrow();
    const ok = await get('/api/sessions');
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
  });

  it('status-429 and status-503 send Retry-After: "1" by default, the one asked for, or none', async () => {
    const date = new Date(Date.now() + 120_000).toUTCString();
    for (const [mode, code] of [
      ['status-429', 429],
      ['status-503', 503],
    ] as const) {
      for (const [retryAfter, expected] of [
        [undefined, '1'],
        ['7', '7'],
        [date, date],
        [null, undefined],
      ] as const) {
        fake.setFault(mode, { times: 1, ...(retryAfter !== undefined && { retryAfter }) });
        const r = await get('/api/sessions');
        expect(r.statusCode, mode).toBe(code);
        expect(r.headers['retry-after'], `${mode} ${String(retryAfter)}`).toBe(expected);
        await r.body.dump();
      }
    }
  });

  it('endless-error: a 500 whose body never ends, first line first', async () => {
    fake.setFault('endless-error', { times: 1 });
    const r = await get('/api/sessions');
    expect(r.statusCode).toBe(500);
    expect(r.headers['content-length']).toBeUndefined();
    let received = Buffer.alloc(0);
    // Far more than any sane error body; the fake would go on for ever.
    for await (const chunk of r.body as AsyncIterable<Buffer>) {
      received = Buffer.concat([received, chunk]);
      if (received.length > 4 * 1024 * 1024) break;
    }
    expect(received.length).toBeGreaterThan(4 * 1024 * 1024);
    expect(received.toString('utf8').split('\n')[0]).toBe('Internal Server Error: the scanner crashed and is dumping its state');
  });

  it('drip: the real body at one byte per drip', async () => {
    fake.setFault('drip', { times: 1 });
    const r = await get('/api/sessions');
    expect(r.statusCode).toBe(200);
    expect(Number(r.headers['content-length'])).toBe((await stat(fake.payloadPath)).size);
    const first: Buffer[] = [];
    for await (const chunk of r.body as AsyncIterable<Buffer>) {
      first.push(chunk);
      if (first.length === 2) break;
    }
    expect(first.map((c) => c.length)).toEqual([1, 1]);
    expect(Buffer.concat(first).toString()).toBe('{"');
  });

  it('no-304 answers 200 with the unchanged payload whatever If-None-Match says; always-304 answers 304 even without one', async () => {
    fake.setFault('no-304');
    const r = await get('/api/sessions', { headers: { 'if-none-match': fake.etag } });
    expect(r.statusCode).toBe(200);
    expect(r.headers.etag).toBe(fake.etag);
    expect(Buffer.from(await r.body.arrayBuffer()).equals(await readFile(fake.payloadPath))).toBe(true);
    fake.setFault('always-304');
    const r304 = await get('/api/sessions');
    expect(r304.statusCode).toBe(304);
    await r304.body.dump();
  });

  it('invalid-etag: the payload with an ETag that is not an entity tag', async () => {
    for (const [etag, expected] of [
      [undefined, `unquoted-${fake.scanVersion}`],
      ['"a"b"', '"a"b"'],
    ] as const) {
      fake.setFault('invalid-etag', { times: 1, ...(etag !== undefined && { etag }) });
      const r = await get('/api/sessions');
      expect(r.statusCode).toBe(200);
      expect(r.headers.etag).toBe(expected);
      expect(parsePayload(await r.body.text()).sessions).toHaveLength(N);
    }
  });

  it('setData with a lower scanVersion goes backwards, as a repo-recall on a fresh database would', async () => {
    const before = fake.scanVersion;
    await fake.setData({ sessions: 15, seed: 3, scanVersion: 1 });
    expect(fake.scanVersion).toBe(1);
    const r = await get('/api/sessions');
    expect(r.headers.etag).toBe('"1"');
    const p = parsePayload(await r.body.text());
    expect(p.scan_version).toBe(1);
    expect(p.sessions).toHaveLength(15);
    await fake.setData({ sessions: 16, seed: 3 });
    expect(fake.scanVersion).toBe(2);
    await fake.setData({ sessions: N, seed: 11, scanVersion: before + 1 });
  });

  it('every fault mode is covered above', () => {
    expect([...FAULT_MODES].sort()).toEqual(
      [
        'hang',
        'malformed-json',
        'oversized',
        'reset',
        'slow',
        'drip',
        'status-404',
        'status-500',
        'status-503',
        'status-429',
        'endless-error',
        'truncate',
        'wrong-shape',
        'no-304',
        'always-304',
        'invalid-etag',
      ].sort(),
    );
  });

  it('control endpoints over HTTP, not recorded in `requests`', async () => {
    const before = fake.requests.length;
    const post = (path: string, body: unknown): Promise<Response> =>
      get(path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

    const d = await post('/_control/data', { sessions: 12, seed: 9, messy: false });
    expect(d.statusCode).toBe(200);
    expect(await d.body.json()).toMatchObject({ scanVersion: fake.scanVersion, data: { sessions: 12, seed: 9, messy: false } });
    const payload = parsePayload(await (await get('/api/sessions')).body.text());
    expect(payload.sessions).toHaveLength(12);

    const f = await post('/_control/fault', { mode: 'status-503', times: 1 });
    expect(await f.body.json()).toMatchObject({ fault: { mode: 'status-503', remaining: 1 } });
    const r503 = await get('/api/sessions');
    expect(r503.statusCode).toBe(503);
    await r503.body.dump();
    const st = await get('/_control/state');
    expect(await st.body.json()).toMatchObject({ fault: null, url: fake.url });

    const f429 = await post('/_control/fault', { mode: 'status-429', times: 1, retryAfter: '3' });
    expect(await f429.body.json()).toMatchObject({ fault: { mode: 'status-429', options: { retryAfter: '3' } } });
    const fe = await post('/_control/fault', { mode: 'invalid-etag', times: 1, etag: 'bare' });
    expect(await fe.body.json()).toMatchObject({ fault: { mode: 'invalid-etag', options: { etag: 'bare' } } });
    fake.setFault(null);
    const back = await post('/_control/data', { sessions: 12, seed: 9, scanVersion: 1 });
    expect(await back.body.json()).toMatchObject({ scanVersion: 1 });

    const bad = await post('/_control/fault', { mode: 'explode' });
    expect(bad.statusCode).toBe(400);
    expect(await bad.body.json()).toMatchObject({ error: expect.stringContaining('mode') });
    const bad2 = await post('/_control/data', { sessions: 'lots' });
    expect(bad2.statusCode).toBe(400);
    await bad2.body.dump();

    const text = '{"sessions":[],"generated_at":1,"scan_version":1}';
    const pt = await get('/_control/payload', { method: 'POST', body: text });
    expect(pt.statusCode).toBe(200);
    await pt.body.dump();
    expect(await (await get('/api/sessions')).body.text()).toBe(text);

    expect(fake.requests.slice(before).every((r) => !r.path.startsWith('/_control/'))).toBe(true);
    await fake.setData({ sessions: N, seed: 11, messy: true });
  });
});

describe('lifecycle', () => {
  // A close() that waited for the hung request would never return: the test would time out.
  it('close() ends hung and slow requests and removes the temp dir', async () => {
    const fake = await startFakeRecall({ sessions: 50 });
    const dir = fake.dataDir;
    expect(existsSync(dir)).toBe(true);
    fake.setFault('hang');
    const hung = request(`${fake.url}/api/sessions`).then(
      () => 'answered',
      () => 'failed',
    );
    await eventually(() => (fake.requests.some((r) => r.path === '/api/sessions') ? true : undefined), 'the request to hang');
    await fake.close();
    expect(await hung).toBe('failed');
    expect(existsSync(dir)).toBe(false);
  });

  it('keeps a caller-provided dataDir but removes its payload files', async () => {
    const dir = (await tempHome('fake-recall-test-')).dir;
    const fake = await startFakeRecall({ sessions: 10, dataDir: dir });
    await fake.setData({ sessions: 11 });
    await fake.close();
    expect(existsSync(dir)).toBe(true);
    expect(existsSync(join(dir, 'payload-1.json'))).toBe(false);
    expect(existsSync(join(dir, 'payload-2.json'))).toBe(false);
  });

  it('refuses a non-loopback host', async () => {
    await expect(startFakeRecall({ host: '0.0.0.0', sessions: 1 })).rejects.toThrow(/loopback/);
  });

  // The CLI runs from the build output (npm test builds first; FAKE_RECALL_CLI overrides the path);
  // skipped when there is no build.
  const here = dirname(fileURLToPath(import.meta.url));
  const cli = process.env.FAKE_RECALL_CLI ?? resolve(here, '../dist/test/fake-recall/main.js');
  it.skipIf(!existsSync(cli))('CLI prints {"url"}, serves, and stops on SIGTERM; a bad flag exits 2', async () => {
    const child = spawn(process.execPath, [cli, '--port', '0', '--sessions', '30', '--seed', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child);
    const line = await new Promise<string>((res, rej) => {
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        const nl = out.indexOf('\n');
        if (nl >= 0) res(out.slice(0, nl));
      });
      child.once('exit', (code) => rej(new Error(`exited ${String(code)}`)));
    });
    const { url } = JSON.parse(line) as { url: string };
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await request(`${url}/api/sessions`);
    expect(parsePayload(await r.body.text()).sessions).toHaveLength(30);
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    const bad = spawn(process.execPath, [cli, '--sessoins', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(bad);
    let err = '';
    bad.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((res) => bad.once('exit', (c) => res(c)));
    expect(code).toBe(2);
    expect(err).toContain('--sessoins');
  });
});
