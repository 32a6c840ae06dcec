import { createHash } from 'node:crypto';
import type { PassThrough } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorResponse, Freshness } from './api-types.js';
import { errorBody } from './error-codes.js';
import { BadParameterError } from './errors.js';
import { MAX_LIMIT, type ReadViewParams } from './params.js';
import type { Format } from './render.js';

/**
 * The HTTP mechanics of the read surface, apart from the routes: the one error format, the
 * Host/Origin guard, ETags, content negotiation, the rows query-string syntax, freshness headers.
 */

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1', '[::1]'];
export const READ_METHODS = new Set(['GET', 'HEAD']);
const ROW_PARAMS = new Set(['limit', 'offset', 'order_by', 'format']);
const FILTER_PARAM = /^filter\[(.+)\]$/s;

export function sendError(reply: FastifyReply, status: number, body: ErrorResponse): FastifyReply {
  // Set for a successful answer before it failed: an error must not carry them.
  reply.removeHeader('etag');
  reply.removeHeader('x-lattice-total');
  return reply.code(status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(JSON.stringify(body));
}

/** The host name of a Host header or an Origin URL, lower-cased, without port; null if unparseable. */
export function hostOf(value: string, isOrigin: boolean): string | null {
  try {
    const url = new URL(isOrigin ? value : `http://${value}`);
    if (isOrigin && url.origin === 'null') return null;
    return url.hostname.toLowerCase();
  } catch {
    return null;
  }
}

export function isAllowedHost(name: string | null, extra: readonly string[]): boolean {
  if (name === null) return false;
  const bare = name.startsWith('[') ? name.slice(1, -1) : name;
  return LOOPBACK_HOSTS.includes(name) || LOOPBACK_HOSTS.includes(bare) || extra.includes(name) || extra.includes(bare);
}

/**
 * The first hook of every route. A server that is closing answers 503 (Fastify's own answer is
 * not in our format). Then the DNS-rebinding guard: Host (and Origin, when sent) must be a
 * loopback name or an allowed one; a missing Host is a bad request (Node's own check, an empty
 * 400, is off: http-edges.ts).
 */
export function requestGuard(allowed: readonly string[], closing: () => boolean) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (closing()) {
      reply.header('retry-after', '1').header('connection', 'close');
      return sendError(reply, 503, errorBody('busy', 'the server is shutting down; retry in a moment'));
    }
    const host = req.headers.host;
    if (host === undefined || host === '') {
      return sendError(reply, 400, errorBody('bad_request', 'the Host header is missing: send Host: 127.0.0.1:<port> (HTTP/1.1 requires it, and it is checked against DNS rebinding)'));
    }
    if (!isAllowedHost(hostOf(host, false), allowed)) {
      return sendError(reply, 403, errorBody('forbidden_host', `Host ${JSON.stringify(host.slice(0, 100))} is not allowed: only loopback names (127.0.0.1, localhost, [::1]) or --allowed-hosts`));
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !isAllowedHost(hostOf(origin, true), allowed)) {
      return sendError(reply, 403, errorBody('forbidden_host', `Origin ${JSON.stringify(origin.slice(0, 100))} is not allowed: only loopback origins or --allowed-hosts`));
    }
    return undefined;
  };
}

/**
 * The ETag of an answer: its generation and query, plus the generation's publish time, so that a
 * home rebuilt from scratch (generations counting from 1 again) never matches an old client's tag.
 */
export function etagFor(generation: number, publishedAt: string, key: string): string {
  const digest = createHash('sha1').update(`${publishedAt}\n${key}`).digest('base64url').slice(0, 20);
  return `W/"g${generation}-${digest}"`;
}

export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const strip = (t: string) => t.trim().replace(/^W\//, '');
  const want = strip(etag);
  return header.split(',').some((t) => t.trim() === '*' || strip(t) === want);
}

/** The format from ?format= (wins) or Accept; null when nothing acceptable is offered. */
export function negotiate(format: string | undefined, accept: string | undefined): Format | null {
  if (format !== undefined) {
    if (format === 'json' || format === 'ndjson' || format === 'csv') return format;
    throw new BadParameterError('format', `expected json, ndjson or csv, got ${JSON.stringify(format.slice(0, 40))}`);
  }
  if (!accept || accept.trim() === '') return 'json';
  const ranges = accept
    .split(',')
    .map((part) => {
      const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
      const q = params.find((p) => p.startsWith('q='));
      return { type, q: q ? Number(q.slice(2)) : 1 };
    })
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q);
  for (const { type } of ranges) {
    if (type === 'application/json' || type === 'application/*' || type === '*/*') return 'json';
    if (type === 'application/x-ndjson' || type === 'application/ndjson' || type === 'application/jsonl' || type === 'application/x-jsonlines') return 'ndjson';
    if (type === 'text/csv' || type === 'text/*') return 'csv';
  }
  return null;
}

/** Splits the query string of GET /views/:name into read parameters; unknown or repeated keys are 400. */
export function parseRowsQuery(query: unknown): { params: ReadViewParams; format: string | undefined } {
  const params: ReadViewParams = {};
  // No prototype: `filter[__proto__]=x` must be an own key (an unknown column), not a prototype set.
  const filters: Record<string, string> = Object.create(null) as Record<string, string>;
  let format: string | undefined;
  for (const [key, raw] of Object.entries((query ?? {}) as Record<string, string | string[]>)) {
    const shown = key.length > 64 ? `${key.slice(0, 64)}...` : key;
    if (Array.isArray(raw)) throw new BadParameterError(shown, 'given more than once');
    const filter = FILTER_PARAM.exec(key);
    if (filter) {
      filters[filter[1]!] = raw;
      continue;
    }
    if (!ROW_PARAMS.has(key)) {
      throw new BadParameterError(
        shown,
        `unknown parameter; known: limit (0..${MAX_LIMIT}), offset, order_by (col,-col), format (json, ndjson, csv), filter[<column>]=<value>` +
          (/^[a-z_][a-z0-9_]*$/.test(key) ? ` (to filter on a column named ${key}, write filter[${key}]=...)` : ''),
      );
    }
    if (key === 'limit') params.limit = raw;
    else if (key === 'offset') params.offset = raw;
    else if (key === 'order_by') params.order_by = raw;
    else format = raw;
  }
  if (Object.keys(filters).length > 0) params.filters = filters;
  return { params, format };
}

export function setFreshnessHeaders(reply: FastifyReply, f: Freshness): void {
  reply.header('x-lattice-generation', String(f.generation));
  reply.header('x-lattice-published-at', f.published_at);
  if (f.materialized_at) reply.header('x-lattice-materialized-at', f.materialized_at);
  if (f.scan_version !== null) reply.header('x-lattice-scan-version', String(f.scan_version));
  if (f.timezone !== null) reply.header('x-lattice-timezone', f.timezone);
  reply.header('x-lattice-age-seconds', String(f.age_seconds));
}

/** Waits for a stream to drain, or rejects if it closes first (the client went away). */
export function drained(stream: PassThrough): Promise<void> {
  // Destroyed already (the client left while a chunk was being fetched): 'close' has fired and
  // will not fire again, so waiting would hold the query slot until the query timeout.
  if (stream.destroyed) return Promise.reject(new Error('the client went away'));
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onClose = () => {
      cleanup();
      reject(new Error('the client went away'));
    };
    const cleanup = () => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
    };
    stream.on('drain', onDrain);
    stream.on('close', onClose);
  });
}

