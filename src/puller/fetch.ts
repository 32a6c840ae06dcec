import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, errors as undiciErrors, request } from 'undici';
import { SETTINGS } from '../shared/config.js';
import { LatticeError, errorMessage } from '../shared/errors.js';
import { PayloadSplitter, type PayloadHeader } from './payload-splitter.js';
import { portOf } from './reachability.js';

/**
 * What kind of upstream failure it was: `unreachable` (nothing answers at the address: refused,
 * unknown host, no route, connect timeout), `timeout` (connected, then no answer or the body
 * stalled), `status` (an HTTP error status), `body` (a payload we refuse: too large, broken).
 */
export type UpstreamErrorClass = 'unreachable' | 'timeout' | 'status' | 'body' | 'network';

/** Upstream could not be reached, answered with an error, or sent a broken body. */
export class UpstreamError extends LatticeError {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly errorClass: UpstreamErrorClass,
    options?: { cause?: unknown; brief?: string },
  ) {
    super('upstream', message, options);
    this.brief = options?.brief ?? message;
  }

  /** The failure without the advice, for the lines that repeat it (retries). */
  readonly brief: string;
}

export interface FetchOptions {
  /** repo-recall's base URL. */
  baseUrl: string;
  /** The ETag of the data we hold, sent as If-None-Match. */
  etag: string | null;
  /** Where the sessions are written, one JSON element per line. */
  dest: string;
  maxBytes: number;
  retries: number;
  signal?: AbortSignal;
  /** Called as body bytes arrive (for progress in a terminal). */
  onProgress?: (progress: FetchProgress) => void;
  /** Called before a retry, with the reason and the wait. */
  onRetry?: (attempt: number, reason: string, delayMs: number) => void;
}

export interface FetchProgress {
  bytes: number;
  /** Content-Length, when upstream sent one. */
  totalBytes: number | null;
  /** Sessions received so far. */
  sessions: number;
}

export type FetchResult =
  | { kind: 'not-modified'; attempts: number }
  | {
      kind: 'payload';
      etag: string | null;
      header: PayloadHeader;
      elements: number;
      repairedSurrogates: number;
      bytes: number;
      attempts: number;
    };

/** Backoff before retry `attempt` (1-based): exponential, capped, with full jitter. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(10_000, 250 * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** An undici agent with the connect, header and body-idle timeouts applied. */
export function upstreamAgent(timeoutSeconds: number): Agent {
  const ms = Math.round(timeoutSeconds * 1000);
  return new Agent({ connectTimeout: ms, headersTimeout: ms, bodyTimeout: ms, keepAliveTimeout: 4_000 });
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/** Socket errors that mean nothing answers at the address, in the words a person reads. */
const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/**
 * The one sentence a person reads when repo-recall is not there (the daemon's log, `pull`,
 * status.json and so `status`, `/healthz` and `/views`): where we looked and the three ways out.
 */
function unreachableMessage(baseUrl: string, why: string): string {
  const port = portOf(new URL(baseUrl));
  const setting = SETTINGS.repoRecallUrl;
  return (
    `cannot reach repo-recall at ${baseUrl} (${why}): start repo-recall there, ` +
    `or run the bundled fake from a session-lattice checkout (npm run fake-recall -- --port ${port}), ` +
    `or point ${setting.env} (--${setting.flag}) at where it runs`
  );
}

function unreachableError(url: string, why: string, retryable: boolean, cause: unknown): UpstreamError {
  return new UpstreamError(unreachableMessage(url, why), retryable, 'unreachable', { cause, brief: `cannot reach repo-recall at ${url} (${why})` });
}

function describeNetworkError(err: unknown, url: string): LatticeError {
  if (err instanceof LatticeError) return err;
  if (err instanceof undiciErrors.HeadersTimeoutError) {
    return new UpstreamError(`repo-recall at ${url} did not answer in time (headers timeout)`, false, 'timeout', { cause: err });
  }
  if (err instanceof undiciErrors.BodyTimeoutError) {
    return new UpstreamError(`repo-recall at ${url} stopped sending the body (body timeout)`, false, 'timeout', { cause: err });
  }
  if (err instanceof undiciErrors.ConnectTimeoutError) {
    return unreachableError(url, 'the connection timed out', true, err);
  }
  const code = (err as { code?: string }).code ?? '';
  const cause = (err as { cause?: { code?: string } }).cause?.code ?? '';
  const retryable = RETRYABLE_CODES.has(code) || RETRYABLE_CODES.has(cause);
  const unreachable = UNREACHABLE[code] ?? UNREACHABLE[cause];
  if (unreachable) return unreachableError(url, unreachable, retryable, err);
  return new UpstreamError(`repo-recall request failed: ${errorMessage(err)}`, retryable, 'network', { cause: err });
}

/** Splits the body into NDJSON on its way to disk, refusing it past the size cap. */
class SplitToLines extends Transform {
  readonly splitter = new PayloadSplitter();
  constructor(
    private readonly maxBytes: number,
    private readonly onProgress?: (bytes: number, sessions: number) => void,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      if (this.splitter.bytesIn + chunk.length > this.maxBytes) {
        throw new UpstreamError(tooLarge(this.maxBytes), false, 'body');
      }
      const out = this.splitter.push(chunk);
      this.onProgress?.(this.splitter.bytesIn, this.splitter.elements);
      done(null, out.length > 0 ? out : undefined);
    } catch (err) {
      done(err as Error);
    }
  }
  override _flush(done: TransformCallback): void {
    try {
      const out = this.splitter.end();
      done(null, out.length > 0 ? out : undefined);
    } catch (err) {
      done(err as Error);
    }
  }
}

function tooLarge(maxBytes: number): string {
  return `upstream payload is larger than the ${(maxBytes / 1048576).toFixed(0)} MiB cap (raise --max-payload-mb / SESSION_LATTICE_MAX_PAYLOAD_MB)`;
}

async function attempt(agent: Agent, opts: FetchOptions): Promise<Omit<Extract<FetchResult, { kind: 'payload' }>, 'attempts'> | 'not-modified'> {
  const url = `${opts.baseUrl}/api/sessions`;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.etag) headers['if-none-match'] = opts.etag;
  let response;
  try {
    response = await request(url, { method: 'GET', headers, dispatcher: agent, signal: opts.signal });
  } catch (err) {
    throw describeNetworkError(err, opts.baseUrl);
  }
  const { statusCode, body } = response;
  if (statusCode === 304) {
    await body.dump();
    return 'not-modified';
  }
  if (statusCode !== 200) {
    const text = (await body.text().catch(() => '')).slice(0, 200);
    throw new UpstreamError(
      `repo-recall answered ${statusCode} for GET /api/sessions${text ? `: ${text}` : ''}`,
      statusCode >= 500,
      'status',
    );
  }
  const length = Number(response.headers['content-length'] ?? NaN);
  if (Number.isFinite(length) && length > opts.maxBytes) {
    body.destroy();
    throw new UpstreamError(tooLarge(opts.maxBytes), false, 'body');
  }
  const etagHeader = response.headers.etag;
  const etag = typeof etagHeader === 'string' ? etagHeader : null;
  const total = Number.isFinite(length) ? length : null;
  const report = opts.onProgress;
  const split = new SplitToLines(opts.maxBytes, report ? (bytes, sessions) => report({ bytes, totalBytes: total, sessions }) : undefined);
  try {
    await pipeline(body, split, createWriteStream(opts.dest));
  } catch (err) {
    await rm(opts.dest, { force: true });
    throw describeNetworkError(err, opts.baseUrl);
  }
  return {
    kind: 'payload',
    etag,
    header: split.splitter.header,
    elements: split.splitter.elements,
    repairedSurrogates: split.splitter.repairedSurrogates,
    bytes: split.splitter.bytesIn,
  };
}

/**
 * GET /api/sessions with If-None-Match, streamed to `dest` as NDJSON. Retries connection errors
 * (a connect timeout included) and 5xx with backoff; never a 4xx, a header or body timeout (a
 * wedged upstream stays wedged) or a bad body.
 * Our own loop rather than undici's retry interceptor: a retry must restart the whole streamed
 * body into a fresh file, where the interceptor resumes a broken body with Range requests.
 */
export async function fetchSessions(agent: Agent, opts: FetchOptions): Promise<FetchResult> {
  for (let n = 1; ; n++) {
    try {
      const result = await attempt(agent, opts);
      return result === 'not-modified' ? { kind: 'not-modified', attempts: n } : { ...result, attempts: n };
    } catch (err) {
      const retryable = err instanceof UpstreamError && err.retryable && !opts.signal?.aborted;
      if (!retryable || n > opts.retries) throw err;
      const delay = backoffMs(n);
      opts.onRetry?.(n, err instanceof UpstreamError ? err.brief : errorMessage(err), delay);
      await sleep(delay, undefined, { signal: opts.signal });
    }
  }
}
