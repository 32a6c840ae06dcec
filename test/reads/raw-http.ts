import { connect as netConnect, type Socket } from 'node:net';
import { WAIT_MS } from '../helpers/processes.js';

/**
 * HTTP/1.1 over a bare TCP socket, for what fetch and undici cannot send: no Host header, CONNECT,
 * a body or headers dripped a byte at a time, an unknown method, a malformed request line.
 */

export interface RawResponse {
  status: number;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body: string;
}

/** The first response in `raw`, or null while it is incomplete (by Content-Length). */
function parseResponse(raw: string): RawResponse | null {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine = '', ...lines] = raw.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  if (!Number.isInteger(status)) throw new Error(`not an HTTP response: ${JSON.stringify(raw.slice(0, 200))}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = Buffer.from(raw.slice(end + 4), 'latin1');
  const length = Number(headers['content-length'] ?? NaN);
  if (!Number.isInteger(length) || rest.length < length) return null;
  return { status, headers, body: rest.subarray(0, length).toString('utf8') };
}

export class RawConnection {
  private data = '';
  private dripTimer: NodeJS.Timeout | null = null;
  private waiters: Array<() => void> = [];
  /** Resolves once the server has closed the connection (or it was destroyed here). */
  readonly closed: Promise<void>;
  isClosed = false;

  constructor(readonly socket: Socket) {
    // latin1 keeps one char per byte, so Content-Length can be counted on the text.
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.data += chunk;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.stopDrip();
        for (const w of this.waiters.splice(0)) w();
        resolve();
      }),
    );
  }

  /** Everything the server has written so far. */
  get received(): string {
    return this.data;
  }

  write(text: string): void {
    if (!this.socket.destroyed) this.socket.write(text);
  }

  /** Writes `byte` every `everyMs` until the connection closes. */
  drip(byte: string, everyMs: number): void {
    this.dripTimer = setInterval(() => this.write(byte), everyMs);
  }

  stopDrip(): void {
    if (this.dripTimer !== null) clearInterval(this.dripTimer);
    this.dripTimer = null;
  }

  /** The first complete response; fails if the connection closes without one, or at the deadline. */
  async response(what: string, timeoutMs = WAIT_MS): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = parseResponse(this.data);
      if (parsed !== null) return parsed;
      if (this.isClosed) throw new Error(`${what}: the connection closed without a complete response; received ${JSON.stringify(this.data.slice(0, 300))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: no complete response within ${timeoutMs} ms; received ${JSON.stringify(this.data.slice(0, 300))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits until what the server sent satisfies `done` (or it closed); fails at the deadline. */
  async until(what: string, done: (received: string) => boolean, timeoutMs = WAIT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.data) && !this.isClosed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: not within ${timeoutMs} ms; received ${JSON.stringify(this.data.slice(0, 300))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the server to close the connection; fails at the deadline. */
  async waitClosed(what: string, timeoutMs = WAIT_MS): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: still open after ${timeoutMs} ms; received ${JSON.stringify(this.data.slice(0, 300))}`)), timeoutMs);
    });
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  destroy(): void {
    this.stopDrip();
    this.socket.destroy();
  }
}

/** Opens a TCP connection to the host and port of `url`, optionally writing `first` at once. */
export async function rawConnect(url: string, first = ''): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  const socket = netConnect(Number(port), hostname);
  const conn = new RawConnection(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  if (first !== '') conn.write(first);
  return conn;
}

/** Sends `request` on a fresh connection and returns the first response, closing the connection. */
export async function rawExchange(url: string, request: string): Promise<RawResponse & { closedByServer: boolean }> {
  const conn = await rawConnect(url, request);
  try {
    const res = await conn.response(JSON.stringify(request.slice(0, 60)));
    // A refusal that closes the connection does so right after its answer.
    if (res.headers.connection === 'close') await conn.waitClosed(JSON.stringify(request.slice(0, 60)));
    return { ...res, closedByServer: conn.isClosed };
  } finally {
    conn.destroy();
  }
}
