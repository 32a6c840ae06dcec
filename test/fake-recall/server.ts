/**
 * A fake repo-recall: a real HTTP server on loopback that serves generated (or hand-made) payloads
 * with repo-recall's wire format, ETag/304 semantics, and injectable faults.
 *
 * Upstream surface (DESIGN.md, "Upstream: repo-recall"):
 *   GET /api/sessions         the payload, streamed from a file, `ETag: "<scan_version>"`, 304 on If-None-Match
 *   GET /api/scan-version     {"scan_version": N, "last_scan": ts}
 *   GET /api/milestones       []
 *   GET /api/action-required  []
 * Anything else is a 404 JSON; a non-GET on /api/* is a 405.
 *
 * The fake's own hooks, for another process (the soak test) or a person, live under /_control/ only:
 *   GET  /_control/state
 *   POST /_control/data     {"sessions": N, "seed": N, "messy": bool, "generatedAt": N, "scanVersion": N, "revision": N, "revisedPercent": N}
 *   POST /_control/fault    {"mode": "hang" | ... | null, "times": N, ...FaultOptions}
 *   POST /_control/payload  raw body: the exact JSON text to serve
 * Requests to /_control/ are not recorded in `requests` (which holds what a client of repo-recall sent).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import { drained, retryAfterHeader, serveEndlessError } from './faults.js';
import { CHUNK_SESSIONS, DEFAULT_GENERATED_AT, generatePayloadText, payloadChunks, writePayloadFile } from './generate.js';

export const FAULT_MODES = [
  'status-500',
  'status-503',
  'status-429',
  'status-404',
  'endless-error',
  'hang',
  'truncate',
  'malformed-json',
  'wrong-shape',
  'oversized',
  'slow',
  'drip',
  'reset',
  'no-304',
  'always-304',
  'invalid-etag',
] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

/** Shapes served by the 'wrong-shape' fault; 'alternate' (default) cycles through the others per request. */
const WRONG_SHAPES = ['items', 'array', 'sessions-not-array', 'error-object'] as const;
type WrongShape = (typeof WRONG_SHAPES)[number] | 'alternate';

export interface FaultOptions {
  /** How many /api/sessions requests get the fault before it clears itself; default: until setFault(null). */
  times?: number;
  /** 'wrong-shape': which wrong shape; default 'alternate'. */
  shape?: WrongShape;
  /** 'oversized': body size in bytes; default 64 MiB. */
  oversizeBytes?: number;
  /** 'oversized': send no Content-Length (chunked), so a client must count bytes itself; default false. */
  oversizeChunked?: boolean;
  /** 'slow': bytes per drip; default 64 KiB. */
  slowChunkBytes?: number;
  /** 'slow': pause between drips; default 100 ms. */
  slowIntervalMs?: number;
  /** 'status-429' / 'status-503': the Retry-After header (seconds or an HTTP date); default "1", null sends none. */
  retryAfter?: string | null;
  /** 'invalid-etag': the ETag header sent; default `unquoted-<scan_version>` (no quotes: not an entity tag). */
  etag?: string;
}

interface SetDataOptions {
  sessions: number;
  /** default: the current seed */
  seed?: number;
  /** default: the current setting (initially true) */
  messy?: boolean;
  /** default: the current setting (initially 1767225600) */
  generatedAt?: number;
  /** default: one more than the current; lower goes backwards, as a repo-recall restarted on a fresh database would */
  scanVersion?: number;
  /** default 0: a revision of the same sessions with about `revisedPercent` (default 1) of them changed (GenerateOptions.revision) */
  revision?: number;
  revisedPercent?: number;
}

export interface StartOptions {
  /** default 0 (an ephemeral port) */
  port?: number;
  /** default 127.0.0.1; only loopback addresses are accepted */
  host?: string;
  /** default 100 */
  sessions?: number;
  /** default 1 */
  seed?: number;
  /** default true */
  messy?: boolean;
  generatedAt?: number;
  /** where payload files live; default a fresh temp dir, removed on close() */
  dataDir?: string;
}

interface RecordedRequest {
  method: string;
  /** path and query string as sent */
  path: string;
  headers: IncomingHttpHeaders;
  /** Date.now() on arrival */
  at: number;
}

interface FakeRecallState {
  url: string;
  scanVersion: number;
  etag: string;
  lastScan: number;
  /** null after setPayloadText */
  data: { sessions: number; seed: number; messy: boolean; generatedAt: number } | null;
  payloadBytes: number;
  fault: { mode: FaultMode; remaining: number | null; options: FaultOptions } | null;
  requestCount: number;
  requestsByPath: Record<string, number>;
}

export interface FakeRecall {
  readonly url: string;
  readonly port: number;
  readonly scanVersion: number;
  /** the current ETag, quoted: "\"<scan_version>\"" */
  readonly etag: string;
  readonly dataDir: string;
  /** file currently served by GET /api/sessions */
  readonly payloadPath: string;
  /** requests received (except /_control/), oldest first */
  readonly requests: RecordedRequest[];
  /** Regenerates the payload and bumps scan_version (or sets it: `scanVersion`). */
  setData(opts: SetDataOptions): Promise<void>;
  /** Serves exactly `text` from now on and bumps scan_version (the text's own scan_version is not checked). */
  setPayloadText(text: string): Promise<void>;
  setFault(mode: FaultMode | null, opts?: FaultOptions): void;
  state(): FakeRecallState;
  /** Closes the server and every socket (hung ones included) and removes the files it wrote. */
  close(): Promise<void>;
}

const DEFAULT_OVERSIZE_BYTES = 64 * 1024 * 1024;
const DEFAULT_SLOW_CHUNK = 64 * 1024;
const DEFAULT_SLOW_INTERVAL_MS = 100;
const MAX_RECORDED = 50_000;
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

interface Payload {
  version: number;
  path: string;
  size: number;
  etag: string;
  readers: number;
  superseded: boolean;
}

interface ActiveFault {
  mode: FaultMode;
  remaining: number | null;
  options: FaultOptions;
  shapeCursor: number;
}

/** True if an If-None-Match header value matches `etag` (weak comparison, comma lists, `*`). */
export function ifNoneMatchMatches(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const values = Array.isArray(header) ? header.join(',') : header;
  const want = etag.replace(/^W\//, '');
  for (const raw of values.split(',')) {
    const tag = raw.trim();
    if (tag === '*') return true;
    if (tag.replace(/^W\//, '') === want) return true;
  }
  return false;
}

function jsonHeaders(body: string, extra: Record<string, string> = {}): Record<string, string | number> {
  return { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...extra };
}

function sendJson(res: ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, jsonHeaders(body, extra));
  res.end(body);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class BadRequest extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (b: Buffer) => {
      size += b.length;
      if (size > limit) {
        reject(new BadRequest(`body larger than ${limit} bytes`));
        req.destroy();
        return;
      }
      parts.push(b);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function optInt(body: Record<string, unknown>, key: string, min: number): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new BadRequest(`"${key}" must be an integer >= ${min}`);
  return v;
}

function optBool(body: Record<string, unknown>, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new BadRequest(`"${key}" must be a boolean`);
  return v;
}

function isFaultMode(v: unknown): v is FaultMode {
  return typeof v === 'string' && (FAULT_MODES as readonly string[]).includes(v);
}

function isWrongShape(v: unknown): v is WrongShape {
  return v === 'alternate' || (typeof v === 'string' && (WRONG_SHAPES as readonly string[]).includes(v));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

class FakeRecallServer implements FakeRecall {
  readonly requests: RecordedRequest[] = [];
  private server: Server;
  private readonly sockets = new Set<Socket>();
  private current: Payload | null = null;
  private readonly payloads = new Set<Payload>();
  /** Files of superseded payloads being removed (close() waits for them). */
  private readonly removals = new Set<Promise<void>>();
  private version = 0;
  /** Names payload files: scan versions can repeat (SetDataOptions.scanVersion), file names must not. */
  private serial = 0;
  private lastScanAt = 0;
  private data: FakeRecallState['data'] = null;
  private fault: ActiveFault | null = null;
  private queue: Promise<void> = Promise.resolve();
  private requestCount = 0;
  private readonly byPath: Record<string, number> = {};
  private closing: Promise<void> | null = null;
  private listenPort = 0;
  private host = '127.0.0.1';

  constructor(
    readonly dataDir: string,
    private readonly ownsDataDir: boolean,
    private settings: { seed: number; messy: boolean; generatedAt: number },
  ) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: `fake-recall internal error: ${String(err)}` });
        else res.destroy();
      });
    });
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async listen(port: number, host: string): Promise<void> {
    this.host = host;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('fake-recall: unexpected server address');
    this.listenPort = addr.port;
  }

  get port(): number {
    return this.listenPort;
  }
  get url(): string {
    const h = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${h}:${this.listenPort}`;
  }
  get scanVersion(): number {
    return this.version;
  }
  get etag(): string {
    return `"${this.version}"`;
  }
  get payloadPath(): string {
    return this.current?.path ?? '';
  }

  state(): FakeRecallState {
    return {
      url: this.url,
      scanVersion: this.version,
      etag: this.etag,
      lastScan: this.lastScanAt,
      data: this.data,
      payloadBytes: this.current?.size ?? 0,
      fault: this.fault && { mode: this.fault.mode, remaining: this.fault.remaining, options: this.fault.options },
      requestCount: this.requestCount,
      requestsByPath: { ...this.byPath },
    };
  }

  setData(opts: SetDataOptions): Promise<void> {
    if (!Number.isInteger(opts.sessions) || opts.sessions < 0) {
      return Promise.reject(new RangeError(`sessions must be a non-negative integer, got ${String(opts.sessions)}`));
    }
    if (opts.scanVersion !== undefined && (!Number.isInteger(opts.scanVersion) || opts.scanVersion < 0)) {
      return Promise.reject(new RangeError(`scanVersion must be a non-negative integer, got ${String(opts.scanVersion)}`));
    }
    return this.enqueue(async () => {
      const seed = opts.seed ?? this.settings.seed;
      const messy = opts.messy ?? this.settings.messy;
      const generatedAt = opts.generatedAt ?? this.settings.generatedAt;
      const version = opts.scanVersion ?? this.version + 1;
      const path = join(this.dataDir, `payload-${++this.serial}.json`);
      const revision = { revision: opts.revision, revisedPercent: opts.revisedPercent };
      const { bytes } = await writePayloadFile({ sessions: opts.sessions, seed, messy, generatedAt, scanVersion: version, ...revision }, path);
      this.settings = { seed, messy, generatedAt };
      this.install(version, path, bytes);
      this.data = { sessions: opts.sessions, seed, messy, generatedAt };
    });
  }

  setPayloadText(text: string): Promise<void> {
    return this.enqueue(async () => {
      const version = this.version + 1;
      const path = join(this.dataDir, `payload-${++this.serial}.json`);
      const buf = Buffer.from(text, 'utf8');
      await writeFile(path, buf);
      this.install(version, path, buf.length);
      this.data = null;
    });
  }

  setFault(mode: FaultMode | null, opts: FaultOptions = {}): void {
    if (mode === null) {
      this.fault = null;
      return;
    }
    if (!isFaultMode(mode)) throw new TypeError(`unknown fault mode ${String(mode)}; expected one of ${FAULT_MODES.join(', ')}`);
    const times = opts.times;
    if (times !== undefined && (!Number.isInteger(times) || times < 0)) throw new RangeError('times must be a non-negative integer');
    if (opts.shape !== undefined && !isWrongShape(opts.shape)) throw new TypeError(`unknown shape ${String(opts.shape)}`);
    this.fault = times === 0 ? null : { mode, remaining: times ?? null, options: { ...opts }, shapeCursor: 0 };
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.fault = null;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await closed;
    await this.queue.catch(() => undefined);
    await Promise.all(this.removals);
    if (this.ownsDataDir) {
      await rm(this.dataDir, { recursive: true, force: true });
    } else {
      for (const p of this.payloads) await unlink(p.path).catch(() => undefined);
    }
    this.payloads.clear();
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    if (this.closing) return Promise.reject(new Error('fake-recall is closed'));
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private install(version: number, path: string, size: number): void {
    const payload: Payload = { version, path, size, etag: `"${version}"`, readers: 0, superseded: false };
    const old = this.current;
    this.current = payload;
    this.payloads.add(payload);
    this.version = version;
    this.lastScanAt = Math.floor(Date.now() / 1000);
    if (old) {
      old.superseded = true;
      this.release(old, 0);
    }
  }

  /** Drops a reader; a superseded payload's file is removed once nobody reads it. */
  private release(p: Payload, n = 1): void {
    p.readers -= n;
    if (p.superseded && p.readers === 0 && this.payloads.has(p)) {
      this.payloads.delete(p);
      // close() waits for it: a caller that closed the fake may check the file is gone.
      const removal: Promise<void> = unlink(p.path)
        .catch(() => undefined)
        .finally(() => this.removals.delete(removal));
      this.removals.add(removal);
    }
  }

  private acquire(res: ServerResponse): Payload {
    const p = this.current;
    if (!p) throw new Error('no payload installed');
    p.readers += 1;
    res.once('close', () => this.release(p));
    return p;
  }

  private record(req: IncomingMessage, path: string): void {
    this.requestCount += 1;
    const pathname = path.split('?')[0] ?? path;
    this.byPath[pathname] = (this.byPath[pathname] ?? 0) + 1;
    this.requests.push({ method: req.method ?? '', path, headers: { ...req.headers }, at: Date.now() });
    if (this.requests.length > MAX_RECORDED) this.requests.splice(0, this.requests.length - MAX_RECORDED);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawPath = req.url ?? '/';
    const pathname = new URL(rawPath, 'http://fake-recall.invalid').pathname;
    if (pathname.startsWith('/_control/')) return this.handleControl(req, res, pathname);
    this.record(req, rawPath);
    const method = req.method ?? 'GET';
    if (pathname.startsWith('/api/') && method !== 'GET') {
      sendJson(res, 405, { error: 'method not allowed', method, path: pathname }, { Allow: 'GET' });
      return;
    }
    if (method === 'GET') {
      switch (pathname) {
        case '/api/sessions':
          return this.serveSessions(req, res);
        case '/api/scan-version':
          return this.serveSmall(req, res, { scan_version: this.version, last_scan: this.lastScanAt });
        case '/api/milestones':
        case '/api/action-required':
          return this.serveSmall(req, res, []);
      }
    }
    sendJson(res, 404, { error: 'not found', path: pathname });
  }

  private serveSmall(req: IncomingMessage, res: ServerResponse, value: unknown): void {
    const etag = this.etag;
    if (ifNoneMatchMatches(req.headers['if-none-match'], etag)) {
      res.writeHead(304, { ETag: etag });
      res.end();
      return;
    }
    sendJson(res, 200, value, { ETag: etag });
  }

  private serveSessions(req: IncomingMessage, res: ServerResponse): Promise<void> | void {
    const fault = this.fault;
    if (fault) {
      if (fault.remaining !== null) {
        fault.remaining -= 1;
        if (fault.remaining <= 0) this.fault = null;
      }
      return this.serveFault(fault, req, res);
    }
    const p = this.acquire(res);
    if (ifNoneMatchMatches(req.headers['if-none-match'], p.etag)) {
      res.writeHead(304, { ETag: p.etag });
      res.end();
      return;
    }
    this.servePayload(res, p.etag);
  }

  /** The current payload, 200, with the given ETag header (a reference on it is already held: acquire()). */
  private servePayload(res: ServerResponse, etag: string): void {
    const p = this.current;
    if (!p) throw new Error('no payload installed');
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': p.size, ETag: etag });
    pipeline(createReadStream(p.path), res, () => undefined);
  }

  private async serveFault(fault: ActiveFault, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const etag = this.etag;
    switch (fault.mode) {
      case 'status-500':
        return sendJson(res, 500, { error: 'Internal Server Error', detail: 'database is locked' });
      case 'status-503':
        return sendJson(res, 503, { error: 'Service Unavailable', detail: 'scan in progress' }, retryAfterHeader(fault.options));
      case 'status-429':
        return sendJson(res, 429, { error: 'Too Many Requests' }, retryAfterHeader(fault.options));
      case 'endless-error':
        return serveEndlessError(res);
      case 'no-304':
        return this.servePayload(res, this.acquire(res).etag);
      case 'always-304':
        res.writeHead(304, { ETag: etag });
        res.end();
        return;
      case 'invalid-etag':
        this.acquire(res);
        return this.servePayload(res, fault.options.etag ?? `unquoted-${this.version}`);
      case 'status-404':
        return sendJson(res, 404, { error: 'not found', path: '/api/sessions' });
      case 'hang':
        // accept, never answer; close() destroys the socket
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'truncate': {
        const p = this.acquire(res);
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': p.size, ETag: p.etag });
        const half = Math.floor(p.size / 2);
        if (half === 0) {
          res.socket?.destroy();
          return;
        }
        const rs = createReadStream(p.path, { start: 0, end: half - 1 });
        rs.on('error', () => res.destroy());
        rs.on('end', () => {
          // let the written half reach the socket, then cut the connection
          const sock = res.socket;
          if (sock) sock.end(() => sock.destroy());
          else res.destroy();
        });
        rs.pipe(res, { end: false });
        return;
      }
      case 'malformed-json': {
        const p = this.acquire(res);
        const fh = await open(p.path, 'r');
        let prefix: Buffer;
        try {
          const want = Math.min(Math.floor(p.size / 2), 256 * 1024);
          const buf = Buffer.alloc(want);
          const { bytesRead } = await fh.read(buf, 0, want, 0);
          let end = bytesRead;
          while (end > 0 && ((buf[end - 1] as number) & 0x80) !== 0) end--; // cut on an ASCII byte
          prefix = buf.subarray(0, end);
        } finally {
          await fh.close();
        }
        const body = Buffer.concat([prefix, Buffer.from('<html><body><h1>502 Bad Gateway</h1></body></html>\n')]);
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length, ETag: etag });
        res.end(body);
        return;
      }
      case 'wrong-shape': {
        let shape = fault.options.shape ?? 'alternate';
        if (shape === 'alternate') {
          shape = WRONG_SHAPES[fault.shapeCursor % WRONG_SHAPES.length] as Exclude<WrongShape, 'alternate'>;
          fault.shapeCursor += 1;
        }
        return sendJson(res, 200, this.wrongShape(shape), { ETag: etag });
      }
      case 'oversized':
        return this.serveOversized(fault.options, res, etag);
      case 'slow':
        return this.serveSlow(fault.options, req, res);
      case 'drip':
        return this.serveSlow({ slowChunkBytes: 1, slowIntervalMs: 1000 }, req, res);
    }
  }

  private wrongShape(shape: Exclude<WrongShape, 'alternate'>): unknown {
    const sample = JSON.parse(
      generatePayloadText({ sessions: 3, seed: this.settings.seed, messy: false, generatedAt: this.settings.generatedAt, scanVersion: this.version }),
    ) as { sessions: unknown[]; generated_at: number; scan_version: number };
    switch (shape) {
      case 'items':
        return { items: sample.sessions, total: sample.sessions.length, generated_at: sample.generated_at, scan_version: this.version };
      case 'array':
        return sample.sessions;
      case 'sessions-not-array':
        return { sessions: { count: sample.sessions.length }, generated_at: sample.generated_at, scan_version: this.version };
      case 'error-object':
        return { error: 'database is locked', retry: true };
    }
  }

  private async serveOversized(opts: FaultOptions, res: ServerResponse, etag: string): Promise<void> {
    const total = opts.oversizeBytes ?? DEFAULT_OVERSIZE_BYTES;
    const head = Buffer.from('{"sessions":[');
    const tail = Buffer.from(`],"generated_at":${this.settings.generatedAt},"scan_version":${this.version}}`);
    // One generated chunk of real-looking elements, repeated (ids repeat; it only has to look valid).
    const chunks = payloadChunks({ sessions: CHUNK_SESSIONS, seed: this.settings.seed, messy: false, generatedAt: this.settings.generatedAt });
    chunks.next();
    const unitText = chunks.next().value;
    const unit = Buffer.from(typeof unitText === 'string' ? unitText : '');
    const comma = Buffer.from(',');
    const headers: Record<string, string | number> = { 'Content-Type': 'application/json', ETag: etag };
    const chunked = opts.oversizeChunked === true;
    if (!chunked) headers['Content-Length'] = Math.max(total, head.length + tail.length);
    res.writeHead(200, headers);
    let budget = total - head.length - tail.length;
    const write = async (b: Buffer): Promise<boolean> => {
      if (res.destroyed || res.writableEnded) return false;
      if (!res.write(b)) return drained(res);
      return true;
    };
    if (!(await write(head))) return;
    let first = true;
    while (unit.length > 0 && budget >= unit.length + (first ? 0 : 1)) {
      if (!first && !(await write(comma))) return;
      if (!(await write(unit))) return;
      budget -= unit.length + (first ? 0 : 1);
      first = false;
    }
    const padBlock = Buffer.alloc(64 * 1024, 0x20);
    while (budget > 0) {
      const n = Math.min(budget, padBlock.length);
      if (!(await write(padBlock.subarray(0, n)))) return;
      budget -= n;
    }
    if (!res.destroyed) res.end(tail);
  }

  private async serveSlow(opts: FaultOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const p = this.acquire(res);
    const chunk = Math.max(1, opts.slowChunkBytes ?? DEFAULT_SLOW_CHUNK);
    const interval = Math.max(0, opts.slowIntervalMs ?? DEFAULT_SLOW_INTERVAL_MS);
    if (ifNoneMatchMatches(req.headers['if-none-match'], p.etag)) {
      res.writeHead(304, { ETag: p.etag });
      res.end();
      return;
    }
    const ac = new AbortController();
    res.once('close', () => ac.abort());
    const fh = await open(p.path, 'r');
    try {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': p.size, ETag: p.etag });
      const buf = Buffer.alloc(chunk);
      let offset = 0;
      while (offset < p.size && !ac.signal.aborted) {
        const { bytesRead } = await fh.read(buf, 0, chunk, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        if (!res.write(Buffer.from(buf.subarray(0, bytesRead)))) {
          if (!(await drained(res))) break;
        }
        if (offset < p.size) await sleep(interval, ac.signal);
      }
      if (!ac.signal.aborted) res.end();
    } finally {
      await fh.close();
    }
  }

  private async handleControl(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    const method = req.method ?? 'GET';
    const routes: Record<string, string> = { '/_control/state': 'GET', '/_control/data': 'POST', '/_control/fault': 'POST', '/_control/payload': 'POST' };
    const allowed = routes[pathname];
    if (allowed === undefined) return sendJson(res, 404, { error: 'not found', path: pathname });
    if (method !== allowed) return sendJson(res, 405, { error: 'method not allowed', method, path: pathname }, { Allow: allowed });
    try {
      if (pathname === '/_control/state') return sendJson(res, 200, this.state());
      if (pathname === '/_control/payload') {
        await this.setPayloadText(await readBody(req, 1024 * 1024 * 1024));
        return sendJson(res, 200, this.state());
      }
      const text = await readBody(req, 1024 * 1024);
      let body: unknown;
      try {
        body = text.trim() === '' ? {} : JSON.parse(text);
      } catch {
        throw new BadRequest('body is not valid JSON');
      }
      if (!isRecord(body)) throw new BadRequest('body must be a JSON object');
      if (pathname === '/_control/data') {
        const sessions = optInt(body, 'sessions', 0);
        if (sessions === undefined) throw new BadRequest('"sessions" is required');
        const seed = optInt(body, 'seed', 0);
        const messy = optBool(body, 'messy');
        const generatedAt = optInt(body, 'generatedAt', 0);
        const scanVersion = optInt(body, 'scanVersion', 0);
        const revision = optInt(body, 'revision', 0);
        const revisedPercent = typeof body.revisedPercent === 'number' ? body.revisedPercent : undefined;
        await this.setData({
          ...(revision !== undefined && { revision }),
          ...(revisedPercent !== undefined && { revisedPercent }),
          sessions,
          ...(seed !== undefined && { seed }),
          ...(messy !== undefined && { messy }),
          ...(generatedAt !== undefined && { generatedAt }),
          ...(scanVersion !== undefined && { scanVersion }),
        });
        return sendJson(res, 200, this.state());
      }
      // /_control/fault
      const mode = body.mode ?? null;
      if (mode !== null && !isFaultMode(mode)) throw new BadRequest(`"mode" must be null or one of ${FAULT_MODES.join(', ')}`);
      const shape = body.shape;
      if (shape !== undefined && !isWrongShape(shape)) throw new BadRequest(`"shape" must be one of alternate, ${WRONG_SHAPES.join(', ')}`);
      const opts: FaultOptions = {};
      const times = optInt(body, 'times', 0);
      if (times !== undefined) opts.times = times;
      if (shape !== undefined) opts.shape = shape;
      const oversizeBytes = optInt(body, 'oversizeBytes', 0);
      if (oversizeBytes !== undefined) opts.oversizeBytes = oversizeBytes;
      const oversizeChunked = optBool(body, 'oversizeChunked');
      if (oversizeChunked !== undefined) opts.oversizeChunked = oversizeChunked;
      const slowChunkBytes = optInt(body, 'slowChunkBytes', 1);
      if (slowChunkBytes !== undefined) opts.slowChunkBytes = slowChunkBytes;
      const slowIntervalMs = optInt(body, 'slowIntervalMs', 0);
      if (slowIntervalMs !== undefined) opts.slowIntervalMs = slowIntervalMs;
      if ('retryAfter' in body) {
        if (body.retryAfter !== null && typeof body.retryAfter !== 'string') throw new BadRequest('"retryAfter" must be a string or null');
        opts.retryAfter = body.retryAfter;
      }
      if (body.etag !== undefined) {
        if (typeof body.etag !== 'string') throw new BadRequest('"etag" must be a string');
        opts.etag = body.etag;
      }
      this.setFault(mode, opts);
      return sendJson(res, 200, this.state());
    } catch (err) {
      if (err instanceof BadRequest || err instanceof RangeError || err instanceof TypeError) {
        if (!res.headersSent) return sendJson(res, 400, { error: err.message });
        return;
      }
      throw err;
    }
  }
}

/** Starts a fake repo-recall on loopback and installs an initial generated payload (scan_version 1). */
export async function startFakeRecall(opts: StartOptions = {}): Promise<FakeRecall> {
  const host = opts.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) throw new Error(`fake-recall binds loopback only (127.0.0.1, ::1, localhost), got ${host}`);
  let dataDir: string;
  let owns: boolean;
  if (opts.dataDir !== undefined) {
    await mkdir(opts.dataDir, { recursive: true });
    if (!(await stat(opts.dataDir)).isDirectory()) throw new Error(`${opts.dataDir} is not a directory`);
    dataDir = opts.dataDir;
    owns = false;
  } else {
    dataDir = await mkdtemp(join(tmpdir(), 'fake-recall-'));
    owns = true;
  }
  const fake = new FakeRecallServer(dataDir, owns, {
    seed: opts.seed ?? 1,
    messy: opts.messy ?? true,
    generatedAt: opts.generatedAt ?? DEFAULT_GENERATED_AT,
  });
  try {
    await fake.setData({ sessions: opts.sessions ?? 100 });
    await fake.listen(opts.port ?? 0, host);
  } catch (err) {
    await fake.close().catch(() => undefined);
    throw err;
  }
  return fake;
}
