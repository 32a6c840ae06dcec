import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

/**
 * What one HTTP request did, for its `Server-Timing` header and its access log line (guard.ts
 * writes both; the routes and the rows responder fill it in).
 */
export interface RequestTrace {
  /** performance.now() when the request reached the first hook. */
  readonly start: number;
  /** Milliseconds spent planning (service.plan, or the memo lookup). */
  plan: number | null;
  /** Milliseconds waiting for DuckDB (count, and reading the rows less the time spent rendering them). */
  query: number | null;
  /** Milliseconds rendering rows as JSON, NDJSON or CSV bytes. */
  render: number | null;
  /** Whether the rows came from the response cache; null where there is none (not a rows answer, a 304). */
  cache: 'hit' | 'miss' | null;
  /** The generation answered from; null when none was served. */
  generation: number | null;
  /** The body streams: its headers left before the query and render times were known. */
  streaming: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the guard's first hook on every request. */
    trace: RequestTrace;
  }
}

export function newTrace(): RequestTrace {
  return { start: performance.now(), plan: null, query: null, render: null, cache: null, generation: null, streaming: false };
}

export const now = (): number => performance.now();

const SANE_ID = /^[\x20-\x7e]{1,128}$/;

/**
 * The request id: the client's X-Request-Id when it is printable ASCII of at most 128 characters
 * (it ends up in log lines and a response header: no control characters, no unbounded length),
 * a fresh UUID otherwise.
 */
export function requestId(header: string | string[] | undefined): string {
  return typeof header === 'string' && SANE_ID.test(header) ? header : randomUUID();
}

const ms = (value: number): string => value.toFixed(2);

/**
 * The Server-Timing header (milliseconds). A streamed body's headers leave before its query and
 * render are done: it says only what was known then (plan, cache), rather than hold the stream.
 */
export function serverTiming(t: RequestTrace, at = performance.now()): string {
  const parts: string[] = [];
  if (t.plan !== null) parts.push(`plan;dur=${ms(t.plan)}`);
  if (!t.streaming) {
    if (t.query !== null) parts.push(`query;dur=${ms(t.query)}`);
    if (t.render !== null) parts.push(`render;dur=${ms(t.render)}`);
  }
  if (t.cache !== null) parts.push(`cache;desc=${t.cache}`);
  if (!t.streaming) parts.push(`total;dur=${ms(at - t.start)}`);
  return parts.join(', ');
}
