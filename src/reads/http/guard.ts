import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../../shared/logger.js';
import { accessLog, type AccessLog } from './access-log.js';
import { guardServer, type HttpLimits } from './edges.js';
import { memoized } from '../data/memo.js';
import type { RequestObserver } from '../metrics/requests.js';
import { newTrace, now, serverTiming, type RequestTrace } from './request-trace.js';
import { sendError } from './routes/errors.js';

/**
 * What runs around every route: the request id, Server-Timing and the access log line; a closing
 * server answers 503; the DNS-rebinding guard checks Host and Origin. (The socket-level limits
 * below Fastify are installed from here as well: http-edges.ts.)
 */

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1', '[::1]'];

/** The host name of a Host header or an Origin URL, lower-cased, without port; null if unparseable. Remembered: a client sends the same one every time. */
const hostOf = memoized((value) => parseHost(value, false), 256);
const originHostOf = memoized((value) => parseHost(value, true), 256);

function parseHost(value: string, isOrigin: boolean): string | null {
  try {
    const url = new URL(isOrigin ? value : `http://${value}`);
    if (isOrigin && url.origin === 'null') return null;
    return url.hostname.toLowerCase();
  } catch {
    return null;
  }
}

function isAllowedHost(name: string | null, extra: readonly string[]): boolean {
  if (name === null) return false;
  const bare = name.startsWith('[') ? name.slice(1, -1) : name;
  return LOOPBACK_HOSTS.includes(name) || LOOPBACK_HOSTS.includes(bare) || extra.includes(name) || extra.includes(bare);
}

export interface GuardOptions {
  logger: Logger;
  /** Extra Host/Origin names accepted besides loopback, lower-cased. */
  allowedHosts: readonly string[];
  limits: HttpLimits;
  observers: Observers;
}

/** Who hears of each finished request, made once per app (see `observe`). */
export interface Observers {
  logger: Logger;
  /** Writes the access line (access-log.ts). */
  log: AccessLog;
  /** /metrics' request counts; null when the app is built without metrics. */
  requests: RequestObserver | null;
}

export function requestObservers(logger: Logger, requests: RequestObserver | null): Observers {
  return { logger, log: accessLog(logger), requests };
}

/**
 * A server that is closing answers 503 (Fastify's own answer is not in our format). Then Host (and
 * Origin, when sent) must be a loopback name or an allowed one; a missing Host is a bad request
 * (Node's own check, an empty 400, is off: http-edges.ts).
 */
function checkRequest(allowed: readonly string[], closing: () => boolean) {
  // A callback hook, not an async one: no promise per request.
  return (req: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    if (closing()) {
      reply.header('retry-after', '1').header('connection', 'close');
      sendError(reply, 'busy', 'the server is shutting down; retry in a moment');
      return;
    }
    const host = req.headers.host;
    if (host === undefined || host === '') {
      sendError(
        reply,
        'bad_request',
        'the Host header is missing: send Host: 127.0.0.1:<port> (HTTP/1.1 requires it, and it is checked against DNS rebinding)',
      );
      return;
    }
    if (!isAllowedHost(hostOf(host), allowed)) {
      sendError(
        reply,
        'forbidden_host',
        `Host ${JSON.stringify(host.slice(0, 100))} is not allowed: only loopback names (127.0.0.1, localhost, [::1]) or --allowed-hosts`,
      );
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !isAllowedHost(originHostOf(origin), allowed)) {
      sendError(reply, 'forbidden_host', `Origin ${JSON.stringify(origin.slice(0, 100))} is not allowed: only loopback origins or --allowed-hosts`);
      return;
    }
    done();
  };
}

/**
 * Installs the guard on the app at once rather than as a registered plugin: its preClose hook must
 * run before any added later (by `extend`, say), which a plugin loaded at `ready` would not.
 */
export function installGuard(app: FastifyInstance, opts: GuardOptions): void {
  app.decorateRequest('trace', null as unknown as FastifyRequest['trace']);
  // First, so that even a refused request has an id, a Server-Timing and its log line.
  app.addHook('onRequest', (req, reply, done) => {
    observe(req, reply, opts.observers);
    done();
  });
  app.addHook('onSend', (req, reply, payload, done) => {
    if (!reply.hasHeader('server-timing')) reply.header('server-timing', serverTiming(req.trace));
    done(null, payload);
  });
  const edges = guardServer(app.server, opts.limits, opts.logger);
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    edges.closeUnfinished();
  });
  app.addHook(
    'onRequest',
    checkRequest(opts.allowedHosts, () => closing),
  );
}

/** Bytes written on each connection up to the end of its last response (see `observe`). */
const writtenBefore = new WeakMap<Socket, number>();

/**
 * Starts a request's trace, echoes its id, and when its response is over (finished or cut off:
 * 'close' fires either way, also for a hijacked reply, where Fastify's onResponse would miss a
 * client that went away) counts it for /metrics and logs one access line.
 *
 * The route is Fastify's pattern (`/views/:name`), undefined when no route took the request; the
 * metrics turn that and an unknown method into fixed words, so no label value comes from the URL.
 *
 * `bytes` is what the response put on the connection (status line, headers, body, chunk framing),
 * counted on the socket: exact for a streamed body and a HEAD alike. Node writes the responses of
 * one connection in order, so the bytes since the previous response ended are this one's.
 */
function observe(req: FastifyRequest, reply: FastifyReply, observers: Observers): void {
  if (req.trace) return;
  const trace = newTrace();
  req.trace = trace;
  reply.header('x-request-id', req.id);
  const log = observers.logger.isLevelEnabled('info');
  if (!log && !observers.requests) return;
  // One small object on the response and one shared listener, rather than a closure and the
  // wrapper once() binds for every request: this runs for every answer, cached ones included.
  (reply.raw as WatchedResponse)[WATCH] = { req, trace, observers, log };
  reply.raw.on('close', onClose);
}

/** What the close listener needs about its request (see `observe`). */
interface Watch {
  req: FastifyRequest;
  trace: RequestTrace;
  observers: Observers;
  log: boolean;
}

const WATCH = Symbol('lattice.watch');
type WatchedResponse = ServerResponse & { [WATCH]?: Watch };

/** A response is over ('close' is emitted once, finished or not): count it, log it. */
function onClose(this: WatchedResponse): void {
  const w = this[WATCH];
  if (!w) return;
  this[WATCH] = undefined;
  const { req, trace, observers, log } = w;
  const ms = now() - trace.start;
  observers.requests?.observe(req.routeOptions.url, req.raw.method ?? '', this.statusCode, ms / 1000);
  if (!log) return;
  const socket = req.raw.socket;
  const written = socket.bytesWritten;
  const bytes = written - (writtenBefore.get(socket) ?? 0);
  writtenBefore.set(socket, written);
  const url = req.raw.url ?? '';
  observers.log({
    req_id: req.id,
    method: req.raw.method,
    path: url.length > 500 ? url.slice(0, 500) : url,
    status: this.statusCode,
    ms: Math.round(ms * 100) / 100,
    bytes,
    generation: trace.generation,
    cache: trace.cache,
    aborted: !this.writableFinished,
  });
}

/**
 * Fastify's `frameworkErrors` (a malformed URL) is answered before any hook runs: the handler is
 * wrapped so that such a request is traced and logged like any other.
 */
export function observeFrameworkErrors(
  observers: Observers,
  handler: (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => void,
): (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => void {
  return (err, req, reply) => {
    observe(req, reply, observers);
    reply.header('server-timing', serverTiming(req.trace));
    handler(err, req, reply);
  };
}
