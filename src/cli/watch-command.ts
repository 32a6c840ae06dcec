import { Agent, request, type Dispatcher } from 'undici';
import type { Config, FlagValues } from '../shared/config.js';
import { ConfigError, errorMessage } from '../shared/errors.js';
import { decimal, httpUrl, integer } from '../shared/setting-parsers.js';
import { paintFor, PLAIN, type Paint } from './colour.js';
import { SseParser } from './sse.js';
import { renderEventJson, renderEventLine } from './watch-format.js';

/**
 * `session-lattice watch`: follows GET /events of a reads server and prints one line per event
 * (watch-format.ts). A lost connection is resumed with Last-Event-ID, so nothing is missed or
 * printed twice across it (the server replays what the log still holds; a `gap` line says when it
 * no longer does). Exit 1 when no connection is made, or none is back, within --reconnect-seconds;
 * exit 0 on SIGINT or SIGTERM.
 *
 * A small SSE parser (sse.ts) over undici's `request`, not undici's EventSource: that one stops
 * for good on a 503 (what a server that is stopping answers), cannot say why, and has no deadline.
 */

const DEFAULT_RECONNECT_SECONDS = 30;
/** Until the stream says otherwise (`retry:`), the wait between two attempts. */
const DEFAULT_RETRY_MS = 1000;

interface WatchOptions {
  /** The events URL, e.g. http://127.0.0.1:7778/events. */
  url: string;
  json: boolean;
  /** Events to show first (the first connection's `tail`); null: live only. */
  tail: number | null;
  reconnectMs: number;
}

function flag<T>(name: string, raw: unknown, parse: (raw: string) => T): T | undefined {
  if (raw === undefined) return undefined;
  try {
    return parse(String(raw));
  } catch (err) {
    throw new ConfigError(`--${name}=${JSON.stringify(raw)} is not valid: expected ${errorMessage(err)}`);
  }
}

/** The reads server's address for a client: a wildcard bind address is reached on loopback. */
function defaultBase(config: Pick<Config, 'host' | 'port'>): string {
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host === '::' ? '::1' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
}

function watchOptions(config: Pick<Config, 'host' | 'port'>, flags: FlagValues): WatchOptions {
  const f = flags as Record<string, unknown>;
  const base = flag('url', f.url, httpUrl) ?? defaultBase(config);
  return {
    url: base.endsWith('/events') ? base : `${base}/events`,
    json: f.json === true,
    tail: flag('tail', f.tail, integer(0, 1000)) ?? null,
    reconnectMs: Math.round((flag('reconnect-seconds', f.reconnectSeconds, decimal(0, 86400)) ?? DEFAULT_RECONNECT_SECONDS) * 1000),
  };
}

type Attempt =
  | { kind: 'stream'; body: Dispatcher.ResponseData['body'] }
  /** Worth trying again: no connection, or a 5xx (a server starting or stopping). */
  | { kind: 'refused'; why: string }
  /** Not worth it: a 4xx, or not an event stream. */
  | { kind: 'fatal'; why: string };

/** The message of a JSON error body (the read API's format), or the status alone. */
async function why(res: Dispatcher.ResponseData): Promise<string> {
  const text = await res.body.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error?.message) return `${res.statusCode} ${body.error.code ?? ''}: ${body.error.message}`;
  } catch {
    // not JSON
  }
  return `HTTP ${res.statusCode}`;
}

/**
 * A stream silent this long (no event and no heartbeat, which comes every 15 s by default) is a
 * server that froze without closing the connection: treated as lost, then resumed. undici's own
 * default, 300 s, would leave the terminal quietly stale for five minutes.
 */
const SILENT_STREAM_MS = 60_000;

/** One connection attempt; gives up on the headers after `timeoutMs`. */
async function connect(opts: WatchOptions, lastEventId: string | null, timeoutMs: number, stop: AbortSignal, agent: Agent): Promise<Attempt> {
  const url = new URL(opts.url);
  if (lastEventId === null && opts.tail !== null) url.searchParams.set('tail', String(opts.tail));
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (lastEventId !== null) headers['last-event-id'] = lastEventId;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new Error(`no answer within ${Math.round(timeoutMs / 100) / 10} s`)), timeoutMs);
  try {
    const res = await request(url, { dispatcher: agent, headers, bodyTimeout: SILENT_STREAM_MS, signal: AbortSignal.any([stop, deadline.signal]) });
    if (res.statusCode >= 500) return { kind: 'refused', why: await why(res) };
    if (res.statusCode !== 200) return { kind: 'fatal', why: `${url.origin}${url.pathname} answered ${await why(res)}` };
    if (!String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
      await res.body.dump().catch(() => undefined);
      return { kind: 'fatal', why: `${url.origin}${url.pathname} is not an event stream (a session-lattice reads server of this version serves one)` };
    }
    return { kind: 'stream', body: res.body };
  } catch (err) {
    const e = err as { code?: string; cause?: { code?: string; message?: string } };
    if (deadline.signal.aborted) return { kind: 'refused', why: errorMessage(deadline.signal.reason) };
    return { kind: 'refused', why: e.cause?.code ?? e.code ?? errorMessage(err) };
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      stop.removeEventListener('abort', done);
      resolve();
    }
    stop.addEventListener('abort', done, { once: true });
  });
}

interface Output {
  line(text: string): void;
  note(text: string): void;
}

const MIN_ANSWER_MS = 5000;

/** Follows the stream until `stop` (0) or the reconnection deadline passes (1). */
async function follow(opts: WatchOptions, stop: AbortSignal, out: Output, paint: Paint): Promise<number> {
  const agent = new Agent({ connect: { timeout: 10_000 } });
  const seconds = `${opts.reconnectMs / 1000} s`;
  let lastEventId: string | null = null;
  let retryMs = DEFAULT_RETRY_MS;
  let lostAt = Date.now();
  let connected = false;
  let lastRefusal: string | null = null;
  try {
    for (;;) {
      const left = lostAt + opts.reconnectMs - Date.now();
      if (stop.aborted) return 0;
      if (left <= 0 && lastRefusal !== null) {
        out.note(
          connected
            ? `gave up: the connection to ${opts.url} was not back within ${seconds} (${lastRefusal})`
            : `gave up: could not connect to ${opts.url} within ${seconds} (${lastRefusal})`,
        );
        return 1;
      }
      // Every attempt gets a few seconds for its answer, even with --reconnect-seconds 0 (give up
      // at the first loss): a server under load still answers the first one.
      const attempt = await connect(opts, lastEventId, Math.max(left, MIN_ANSWER_MS), stop, agent);
      if (stop.aborted) return 0;
      if (attempt.kind === 'fatal') {
        out.note(attempt.why);
        return 1;
      }
      if (attempt.kind === 'refused') {
        if (attempt.why !== lastRefusal) out.note(`cannot reach ${opts.url}: ${attempt.why}; retrying for up to ${seconds}`);
        lastRefusal = attempt.why;
        await sleep(Math.min(retryMs, Math.max(0, lostAt + opts.reconnectMs - Date.now())), stop);
        continue;
      }
      // Said on stderr, so that a person knows it is listening and a pipe gets events only.
      out.note(connected ? `reconnected to ${opts.url}${lastEventId ? `, resuming after event ${lastEventId}` : ''}` : `following ${opts.url}`);
      connected = true;
      lastRefusal = null;
      const parser: SseParser = new SseParser(lastEventId ?? '');
      const decoder = new TextDecoder();
      let ended = 'the server ended the stream';
      try {
        for await (const chunk of attempt.body) {
          for (const item of parser.feed(decoder.decode(chunk as Buffer, { stream: true }))) {
            if (item.kind !== 'event') continue;
            out.line(opts.json ? renderEventJson(item.type, item.data) : renderEventLine(item.type, item.data, Date.now(), paint));
          }
          if (parser.lastEventId !== '') lastEventId = parser.lastEventId;
        }
      } catch (err) {
        if (stop.aborted) return 0;
        const e = err as { code?: string };
        ended = e.code ?? errorMessage(err);
      }
      if (parser.lastEventId !== '') lastEventId = parser.lastEventId;
      retryMs = parser.retryMs ?? retryMs;
      if (stop.aborted) return 0;
      lostAt = Date.now();
      lastRefusal = ended;
      out.note(`lost the connection to ${opts.url} (${ended}); reconnecting for up to ${seconds}`);
      await sleep(Math.min(retryMs, opts.reconnectMs), stop);
    }
  } finally {
    await agent.destroy().catch(() => undefined);
  }
}

/** `session-lattice watch`. */
export async function watchCommand(config: Config, flags: FlagValues): Promise<number> {
  const opts = watchOptions(config, flags);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // A reader that went away (`watch | head`) ends the watch, quietly.
  process.stdout.on('error', onSignal);
  const out: Output = {
    line: (text) => void process.stdout.write(`${text}\n`),
    note: (text) => void process.stderr.write(`session-lattice watch: ${text}\n`),
  };
  try {
    return await follow(opts, stop.signal, out, opts.json ? PLAIN : paintFor(process.stdout));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
