import { createHash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { settingName } from '../shared/config.js';
import { MIN_BODY_BYTES_PER_WINDOW, watchPace } from './body-pace.js';
import { PayloadSplitter, type PayloadHeader } from './payload-splitter.js';
import { describeNetworkError, UpstreamError, type UpstreamErrorClass } from './upstream-error.js';
import { errorBodyLine, retryAfterMs, validEntityTag } from './upstream-http.js';

/**
 * Where a body's NDJSON lines go, made when a body comes (a 304 never pays for it), fresh per
 * attempt. The fetch knows nothing of what the lines become: it pipes them through `streams` into
 * `sink`, and hands back `result()` once the body is all through.
 */
export interface BodyStage<S> {
  streams: Transform[];
  /** Settled (nothing of it running) before the fetch goes on after a failure. */
  sink: Writable & { settled(): Promise<void> };
  result(): S;
}

export interface FetchOptions<S> {
  /** repo-recall's base URL. */
  baseUrl: string;
  /** The ETag of the data we hold, sent as If-None-Match. */
  etag: string | null;
  /** How a body is staged (see BodyStage). */
  stage: () => Promise<BodyStage<S>>;
  maxBytes: number;
  retries: number;
  /** The whole fetch, every attempt and every wait between them, ends after this many ms. */
  deadlineMs: number;
  /** A body must bring MIN_BODY_BYTES_PER_WINDOW in every window this long (the upstream timeout). */
  paceWindowMs: number;
  signal?: AbortSignal;
  /** Called as body bytes arrive (for progress in a terminal). */
  onProgress?: (progress: FetchProgress) => void;
  /** Called before a retry, with the reason, the wait and the failed attempt's class (for the event log and metrics). */
  onRetry?: (attempt: number, reason: string, delayMs: number, errorClass: UpstreamErrorClass) => void;
}

export interface FetchProgress {
  bytes: number;
  /** Content-Length, when upstream sent one. */
  totalBytes: number | null;
  /** Sessions received so far. */
  sessions: number;
}

export type FetchResult<S> =
  | { kind: 'not-modified'; attempts: number }
  | {
      kind: 'payload';
      /** The ETag to send back next time: null when absent or not a valid entity tag. */
      etag: string | null;
      /** The ETag upstream sent when it was not a valid one (cut to 80 characters), for a warning. */
      rejectedEtag: string | null;
      /** sha256 of the body's bytes, as received: equal fingerprints are the same payload. */
      fingerprint: string;
      header: PayloadHeader;
      elements: number;
      /** What the stage made of the body's lines. */
      staged: S;
      repairedSurrogates: number;
      bytes: number;
      attempts: number;
    };

type Payload<S> = Omit<Extract<FetchResult<S>, { kind: 'payload' }>, 'attempts'>;

/** The longest Retry-After we honour: a longer one is waited this long instead. */
const MAX_RETRY_AFTER_MS = 60_000;

/** Backoff before retry `attempt` (1-based): exponential, capped, with full jitter. */
function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(10_000, 250 * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** An undici agent with the connect, header and body-idle timeouts applied. */
export function upstreamAgent(timeoutSeconds: number): Agent {
  const ms = Math.round(timeoutSeconds * 1000);
  return new Agent({ connectTimeout: ms, headersTimeout: ms, bodyTimeout: ms, keepAliveTimeout: 4_000 });
}

/** Splits the body into NDJSON on its way to disk, refusing it past the size cap, and hashes it. */
class SplitToLines extends Transform {
  readonly splitter = new PayloadSplitter();
  readonly hash = createHash('sha256');
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
      this.hash.update(chunk);
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
  return `upstream payload is larger than the ${(maxBytes / 1048576).toFixed(0)} MiB cap (raise ${settingName('maxPayloadBytes')})`;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** Where the fetch was when the deadline passed, for its message. */
interface Track {
  attempt: number;
  phase: 'asking' | 'receiving' | 'waiting';
  bytes: number;
  /** Why the last attempt failed, while waiting to retry. */
  lastFailure: string | null;
}

function deadlineError(opts: FetchOptions<unknown>, track: Track): UpstreamError {
  const where =
    track.phase === 'receiving'
      ? `${track.bytes} bytes of the body received on attempt ${track.attempt}`
      : track.phase === 'waiting'
        ? `waiting to retry after: ${track.lastFailure ?? 'a failed attempt'}`
        : `no answer to attempt ${track.attempt} yet`;
  const brief = `repo-recall at ${opts.baseUrl} did not finish sending the sessions within the ${seconds(opts.deadlineMs)} deadline`;
  return new UpstreamError(
    `${brief} (${where}); nothing was published. If a payload this large really takes longer, raise ${settingName('upstreamDeadlineSeconds')}`,
    false,
    'timeout',
    { brief },
  );
}

function tooSlowError(opts: FetchOptions<unknown>, bytesInWindow: number): UpstreamError {
  const window = seconds(opts.paceWindowMs);
  return new UpstreamError(
    `repo-recall at ${opts.baseUrl} is sending the sessions too slowly: ${bytesInWindow} bytes in the last ${window}, ` +
      `less than the ${MIN_BODY_BYTES_PER_WINDOW / 1024} KiB required in every ${window} (the span ${settingName('upstreamTimeoutSeconds')} sets); nothing was published`,
    false,
    'timeout',
  );
}

/** An answer other than 200 and 304: the first line of its body (the rest is dropped) and its Retry-After. */
async function statusError(statusCode: number, headers: Record<string, string | string[] | undefined>, body: Readable): Promise<UpstreamError> {
  const line = await errorBodyLine(body);
  const wait = statusCode === 429 || statusCode === 503 ? retryAfterMs(headers['retry-after']) : null;
  return new UpstreamError(
    `repo-recall answered ${statusCode} for GET /api/sessions${line ? `: ${line}` : ''}`,
    statusCode >= 500 || statusCode === 429,
    'status',
    wait === null ? undefined : { retryAfterMs: wait },
  );
}

async function attempt<S>(agent: Agent, opts: FetchOptions<S>, signal: AbortSignal, track: Track): Promise<Payload<S> | 'not-modified'> {
  const url = `${opts.baseUrl}/api/sessions`;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.etag) headers['if-none-match'] = opts.etag;
  let response;
  try {
    response = await request(url, { method: 'GET', headers, dispatcher: agent, signal });
  } catch (err) {
    throw describeNetworkError(err, opts.baseUrl);
  }
  const { statusCode, body } = response;
  if (statusCode === 304) {
    await body.dump();
    return 'not-modified';
  }
  if (statusCode !== 200) throw await statusError(statusCode, response.headers, body);
  const length = Number(response.headers['content-length'] ?? NaN);
  if (Number.isFinite(length) && length > opts.maxBytes) {
    body.destroy();
    throw new UpstreamError(tooLarge(opts.maxBytes), false, 'body');
  }
  const rawEtag = response.headers.etag;
  const etag = validEntityTag(rawEtag);
  const rejectedEtag = etag === null && rawEtag !== undefined ? String(rawEtag).slice(0, 80) : null;
  const total = Number.isFinite(length) ? length : null;
  let stage: BodyStage<S>;
  try {
    stage = await opts.stage();
  } catch (err) {
    body.destroy();
    throw err;
  }
  const report = opts.onProgress;
  track.phase = 'receiving';
  const split = new SplitToLines(opts.maxBytes, (bytes, sessions) => {
    track.bytes = bytes;
    report?.({ bytes, totalBytes: total, sessions });
  });
  const stopPace = watchPace({
    windowMs: opts.paceWindowMs,
    minBytes: MIN_BODY_BYTES_PER_WINDOW,
    received: () => split.splitter.bytesIn,
    onTooSlow: (got) => body.destroy(tooSlowError(opts, got)),
  });
  // Judged on whole windows of an unfinished body only: the last bytes are in, whatever the disk does.
  body.once('end', stopPace);
  const sink = stage.sink;
  try {
    await pipeline([body, split, ...stage.streams, sink]);
  } catch (err) {
    sink.destroy();
    await sink.settled();
    throw describeNetworkError(err, opts.baseUrl);
  } finally {
    stopPace();
  }
  return {
    kind: 'payload',
    etag,
    rejectedEtag,
    fingerprint: split.hash.digest('hex'),
    header: split.splitter.header,
    elements: split.splitter.elements,
    staged: stage.result(),
    repairedSurrogates: split.splitter.repairedSurrogates,
    bytes: split.splitter.bytesIn,
  };
}

/** The error a retry that cannot happen ends with: the failure, and why it was not tried again. */
function notRetried(err: UpstreamError, why: string): UpstreamError {
  return new UpstreamError(`${err.message} (${why})`, false, err.errorClass, { cause: err, brief: err.brief });
}

/**
 * GET /api/sessions with If-None-Match, streamed to `dest` as NDJSON. Retries connection errors
 * (a connect timeout included), 5xx and 429 with backoff, or after the Retry-After a 429 or 503
 * asks for (at most a minute); never another 4xx, a header or body timeout (a wedged upstream
 * stays wedged) or a bad body. Everything, waits included, ends at the deadline with an
 * UpstreamError of class `timeout`.
 * Our own loop rather than undici's retry interceptor: a retry must restart the whole streamed
 * body into a fresh file, where the interceptor resumes a broken body with Range requests.
 */
export async function fetchSessions<S>(agent: Agent, opts: FetchOptions<S>): Promise<FetchResult<S>> {
  // One signal for the request, the body and the waits: shutdown or the deadline, whichever comes
  // first. Forwarded by hand and unhooked after, not AbortSignal.any: combining a new signal per
  // tick with the puller's life-long one leaks in Node (nodejs/node#55351).
  const abort = new AbortController();
  const signal = abort.signal;
  const deadlineAt = Date.now() + opts.deadlineMs;
  let deadlinePassed = false;
  const timer = setTimeout(() => {
    deadlinePassed = true;
    abort.abort(new Error('the upstream deadline passed'));
  }, opts.deadlineMs);
  const onShutdown = () => abort.abort(opts.signal?.reason);
  if (opts.signal?.aborted) onShutdown();
  opts.signal?.addEventListener('abort', onShutdown, { once: true });
  const track: Track = { attempt: 0, phase: 'asking', bytes: 0, lastFailure: null };
  try {
    for (let n = 1; ; n++) {
      Object.assign(track, { attempt: n, phase: 'asking', bytes: 0 });
      try {
        const result = await attempt(agent, opts, signal, track);
        return result === 'not-modified' ? { kind: 'not-modified', attempts: n } : { ...result, attempts: n };
      } catch (err) {
        if (signal.aborted || !(err instanceof UpstreamError) || !err.retryable || n > opts.retries) throw err;
        const delay = err.retryAfterMs !== null ? Math.min(err.retryAfterMs, MAX_RETRY_AFTER_MS) : backoffMs(n);
        if (Date.now() + delay >= deadlineAt) {
          throw notRetried(
            err,
            `retry ${n} would start ${seconds(delay)} from now, after the ${seconds(opts.deadlineMs)} deadline of ${settingName('upstreamDeadlineSeconds')}`,
          );
        }
        opts.onRetry?.(n, err.brief, delay, err.errorClass);
        Object.assign(track, { phase: 'waiting', lastFailure: err.brief });
        await sleep(delay, undefined, { signal });
      }
    }
  } catch (err) {
    // The deadline's abort surfaces as whatever the request, the body or the wait threw.
    if (deadlinePassed && !opts.signal?.aborted) throw deadlineError(opts, track);
    throw err;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onShutdown);
  }
}
