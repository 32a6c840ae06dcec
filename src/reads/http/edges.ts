import { STATUS_CODES, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../../shared/logger.js';
import { requestId } from './request-trace.js';
import { errorBody, methodNotAllowed, statusOf, type ErrorAnswer, type ErrorCode, type StatusOf } from '../contract/error-codes.js';

/**
 * The edges of the HTTP server below Fastify's routes: how long a client may take to send a
 * request, how many connections it may hold, and the answers Node's http server would otherwise
 * write by itself (an empty 400 for a missing Host, an empty 417, a dropped CONNECT, an HTML-less
 * 400 for a request it cannot parse). Each of those is a JSON error body of the registry
 * (error-codes.ts), written on the socket where no request object exists.
 */

export interface HttpLimits {
  /** A whole request (headers and body) must arrive within this (ms), or it is answered 408. */
  requestTimeoutMs: number;
  /** Connections held at once; one more is answered 503 and closed. */
  maxConnections: number;
}

/**
 * The fixed numbers, with why. The two a deployment may need to change (a slow network with
 * --allowed-hosts, many dashboards) are settings: SESSION_LATTICE_REQUEST_TIMEOUT_SECONDS (30 s:
 * a request on loopback arrives in well under a second, a drip-fed one is cut in half a minute)
 * and SESSION_LATTICE_MAX_CONNECTIONS (512: a laptop's few dashboards and agents, and the
 * benchmarks' 32-64 connections, stay far below it; a flood of connections is refused long before
 * file descriptors or memory run out).
 */
const HTTP_EDGES = {
  /**
   * How often Node checks the request deadline (its default, 30 s, would let a request run up to
   * 30 s past it). Once a second walks the open connections: cheap at the connection cap.
   */
  checkIntervalMs: 1000,
  /**
   * An idle keep-alive connection is closed after this. Fastify's 72 s suits a cloud load
   * balancer; a local client reconnects in well under a millisecond, and idle connections must
   * not hold the connection cap. undici and browsers read the Keep-Alive hint and stop reusing a
   * connection before it expires.
   */
  keepAliveMs: 10_000,
  /**
   * A connection with no traffic either way for this long is closed: a client that stops reading
   * a streamed response would otherwise hold a DuckDB query slot for ever. It must exceed the
   * longest silence of a legitimate answer (a query waiting for a slot, then an MCP `query` of up
   * to 30 s): 120 s.
   */
  idleMs: 120_000,
  /**
   * A connection refused over the cap is kept this long after its answer, its input discarded, so
   * that closing it does not reset the connection before the client has read the 503.
   */
  lingerMs: 2000,
} as const;

/**
 * The idle timeout of a long-lived stream (GET /events) that writes a heartbeat every
 * `heartbeatMs`: the usual one, or two heartbeats when that is longer, so a quiet stream is never
 * cut while its client reads. A client that stops reading still is: once the socket's buffers are
 * full nothing more leaves, and the connection goes idle.
 */
export function streamIdleMs(heartbeatMs: number): number {
  return Math.max(HTTP_EDGES.idleMs, 2 * heartbeatMs);
}

/** A complete HTTP/1.1 response with a JSON error body, for writing straight on a socket. */
function rawErrorResponse<C extends ErrorCode>(code: C, message: string, headers: Record<string, string> = {}, status?: StatusOf<C>): string {
  return rawAnswer({ status: status ?? statusOf(code), headers, body: errorBody(code, message) });
}

function rawAnswer({ status, headers, body: error }: ErrorAnswer): string {
  const body = JSON.stringify(error);
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-store',
    // No request was parsed, so no client id to echo: a fresh one, so every response has one.
    `X-Request-Id: ${requestId(undefined)}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    'Connection: close',
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** Fastify's server options for the limits: its own timeouts and Node's, and the parse-error answer. */
export function edgeServerOptions(limits: HttpLimits): {
  requestTimeout: number;
  connectionTimeout: number;
  keepAliveTimeout: number;
  http: ServerOptions;
  clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) => void;
} {
  return {
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: HTTP_EDGES.idleMs,
    keepAliveTimeout: HTTP_EDGES.keepAliveMs,
    http: {
      // Node would answer a request without Host with an empty 400 before any hook runs; the Host
      // guard (guard.ts) answers it in JSON instead.
      requireHostHeader: false,
      // Node checks headersTimeout <= requestTimeout when it creates the server, before Fastify
      // sets the request timeout: both are given here. The headers are part of the request: the
      // same bound.
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(HTTP_EDGES.checkIntervalMs, limits.requestTimeoutMs),
    },
    clientErrorHandler: (err, socket) => answerClientError(err, socket, limits),
  };
}

/** `METHOD target HTTP/x.y`, the method a token (RFC 9110). */
const REQUEST_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ \S+ HTTP\/\d\.\d\r?\n/;

/** What the peer gets for a request Node could not parse or that did not arrive in time. */
function answerClientError(err: NodeJS.ErrnoException & { reason?: string; rawPacket?: Buffer }, socket: Socket, limits: HttpLimits): void {
  // A response already started on this socket cannot be replaced: cut it (Node's own rule).
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  let answer: string;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    const seconds = limits.requestTimeoutMs / 1000;
    answer = rawErrorResponse(
      'request_timeout',
      `the request (headers and body) did not arrive within ${seconds} s; send it whole (SESSION_LATTICE_REQUEST_TIMEOUT_SECONDS sets the bound)`,
    );
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    answer = rawErrorResponse('bad_request', 'the request line and headers are too large (over 16 KB); shorten the query string', {}, 431);
  } else if (err.code === 'HPE_INVALID_METHOD' && REQUEST_LINE.test(err.rawPacket?.toString('latin1', 0, 2048) ?? '')) {
    // A well-formed request line whose method Node does not know (not garbage): 405, like any
    // other method the read API does not take.
    const method = (err.rawPacket?.toString('latin1', 0, 64) ?? '').split(' ')[0]!.slice(0, 40);
    answer = rawAnswer(methodNotAllowed(method));
  } else {
    answer = rawErrorResponse('bad_request', `malformed HTTP request${err.reason ? `: ${err.reason}` : ''}`);
  }
  socket.end(answer);
}

/** Answers on a socket Node handed over (CONNECT) or that was refused, then lets it close cleanly. */
function refuseOnSocket(socket: Socket, response: string): void {
  socket.on('error', () => socket.destroy());
  // Reading what the client still sends keeps the kernel from resetting the connection (which
  // would discard our answer unread); the timer ends a client that neither reads nor closes (an
  // absolute one: a socket idle timer would be reset by a client that keeps sending).
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), HTTP_EDGES.lingerMs).unref();
  socket.once('close', () => clearTimeout(timer));
  socket.end(response);
}

export interface ServerGuard {
  /**
   * At shutdown: answers 503 on every connection whose request has not arrived whole and closes
   * it, and closes idle ones. Node stops enforcing the request
   * deadline once the server closes, so a drip-fed request would otherwise hold the shutdown
   * until the stop deadline; a request that arrived whole is answered as usual.
   */
  closeUnfinished(): void;
}

type HttpSocket = Socket & { _httpMessage?: ServerResponse | null };

/**
 * Installs the socket-level answers on the server Fastify created: CONNECT (405), an Expect other
 * than 100-continue (417), and the connection cap (503). An `Upgrade:` request needs nothing: with
 * no 'upgrade' listener Node hands it to the routes as an ordinary request.
 */
export function guardServer(server: Server, limits: HttpLimits, logger: Logger): ServerGuard {
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    refuseOnSocket(socket, rawAnswer(methodNotAllowed('CONNECT', 'this is not a proxy')));
  });

  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify(errorBody('bad_request', `Expect: ${String(req.headers.expect).slice(0, 100)} is not supported (only 100-continue)`));
    res.writeHead(417 satisfies StatusOf<'bad_request'>, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      'x-request-id': requestId(req.headers['x-request-id']),
      connection: 'close',
    });
    res.end(body);
  });

  const sockets = capConnections(server, limits.maxConnections, logger);
  // The request each connection is on (the last one: a complete one stays until the next).
  const requests = new WeakMap<Socket, IncomingMessage>();
  server.on('request', (req: IncomingMessage) => requests.set(req.socket, req));

  return {
    closeUnfinished() {
      for (const socket of sockets as Set<HttpSocket>) {
        const res = socket._httpMessage;
        const req = requests.get(socket);
        if (res && req?.complete) continue;
        // Headers still arriving (bytes but no request yet), or a body still arriving.
        const arriving = res ? !res.headersSent : req === undefined && socket.bytesRead > 0;
        if (arriving && socket.writable) {
          refuseOnSocket(
            socket,
            rawErrorResponse('busy', 'the server is shutting down and the request had not arrived whole; retry in a moment', { 'Retry-After': '1' }),
          );
        } else {
          socket.destroy();
        }
      }
    },
  };
}

/**
 * Holds at most `max` connections, and returns the open ones. Node's own `maxConnections` closes
 * an extra connection without a word; here it gets a 503 it can read (with Retry-After) before it
 * is closed, and never reaches the HTTP parser or the routes. Node's connection listener (the HTTP
 * parser) is wrapped, so an accepted connection is handled exactly as before.
 */
function capConnections(server: Server, max: number, logger: Logger): ReadonlySet<Socket> {
  const handlers = server.listeners('connection') as Array<(this: Server, socket: Socket) => void>;
  server.removeAllListeners('connection');
  const open = new Set<Socket>();
  let refused = 0;
  let lastWarn = 0;
  server.on('connection', (socket: Socket) => {
    if (open.size >= max) {
      refused++;
      // One line a minute at most: a flood of connections must not become a flood of log lines.
      if (Date.now() - lastWarn >= 60_000) {
        logger.warn({ open: open.size, max, refused }, 'connection cap reached: refusing new connections with 503 (SESSION_LATTICE_MAX_CONNECTIONS)');
        lastWarn = Date.now();
        refused = 0;
      }
      refuseOnSocket(
        socket,
        rawErrorResponse('busy', `too many open connections (${max}); retry shortly, or reuse a keep-alive connection`, { 'Retry-After': '1' }),
      );
      return;
    }
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    for (const handler of handlers) handler.call(server, socket);
  });
  return open;
}
