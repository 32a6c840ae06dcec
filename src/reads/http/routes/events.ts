import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import { BadParameterError, BusyError, TooManySubscribersError } from '../../contract/errors.js';
import type { EventHub } from '../../events/hub.js';
import { MAX_EVENTS_TAIL, planReplay, type StreamStart } from '../../events/frames.js';
import { streamIdleMs } from '../edges.js';
import { parseInteger } from '../../data/plan/planner.js';
import { ROUTE_SCHEMAS } from '../../contract/route-schemas.js';

/**
 * GET /events: the puller's event log as Server-Sent Events (the frames: events/frames.ts; the
 * stream: events/stream.ts; every stream of the process: events/hub.ts).
 *
 * The reply is hijacked: Fastify does not send it, the stream writes it for as long as it lasts.
 * What the guard does still holds: the request id is in the headers, and the access line is
 * written when the stream closes (guard.ts listens for the response's `close`). The request
 * deadline only covers the request's arrival; the connection's idle timeout is kept off a quiet
 * stream by its heartbeats (streamIdleMs).
 */

const SSE_HEADERS: OutgoingHttpHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store',
  // nginx and its kin buffer responses unless told not to; a buffered stream is no stream.
  'x-accel-buffering': 'no',
  // The connection ends with the stream: a server that stops then closes it at once instead of
  // waiting for an idle keep-alive connection.
  connection: 'close',
};

const MAX_ID = Number.MAX_SAFE_INTEGER;

/** The start of a stream from the query string and Last-Event-ID; every parameter is checked, used or not. */
function parseStart(query: unknown, header: string | string[] | undefined): StreamStart {
  let lastEventId: number | undefined;
  let tail: number | undefined;
  for (const [key, raw] of Object.entries((query ?? {}) as Record<string, string | string[]>)) {
    const shown = key.length > 64 ? `${key.slice(0, 64)}...` : key;
    if (Array.isArray(raw)) throw new BadParameterError(shown, 'given more than once');
    if (key === 'last_event_id') lastEventId = parseInteger('last_event_id', raw, 0, MAX_ID);
    else if (key === 'tail') tail = parseInteger('tail', raw, 0, MAX_EVENTS_TAIL);
    else throw new BadParameterError(shown, `unknown parameter; known: last_event_id (resume after this event id), tail (0..${MAX_EVENTS_TAIL})`);
  }
  // Node joins a repeated header it does not know with ", ", which is not an integer: a 400.
  const fromHeader = typeof header === 'string' && header.trim() !== '' ? parseInteger('Last-Event-ID', header, 0, MAX_ID) : undefined;
  const after = fromHeader ?? lastEventId;
  if (after !== undefined) return { kind: 'resume', after };
  if (tail !== undefined) return { kind: 'tail', count: tail };
  return { kind: 'live' };
}

export const eventsRoutes: FastifyPluginAsync<{ hub: EventHub }> = async (app, { hub }) => {
  // After the guard's (it refuses new requests from then on): close never waits for a stream.
  app.addHook('preClose', async () => hub.endAll());

  app.get('/events', { schema: ROUTE_SCHEMAS.events }, async (req, reply) => {
    const start = parseStart(req.query, req.headers['last-event-id']);
    if (req.method === 'HEAD') return reply.headers(SSE_HEADERS).code(200).send();
    // Subscribed before the log is read: an event written meanwhile is in one or both, never neither.
    const stream = hub.open(reply.raw);
    if (!stream) {
      throw new TooManySubscribersError(hub.maxSubscribers);
    }
    let log;
    try {
      log = await hub.readLog();
    } catch (err) {
      hub.drop(stream);
      throw err;
    }
    if (!stream.open) {
      // Ended while the log was read: the server is stopping, or the log started over.
      hub.drop(stream);
      throw new BusyError('the event stream ended before it started (the server is stopping, or the event log started over); retry in a moment');
    }
    req.trace.streaming = true;
    reply.hijack();
    req.raw.socket.setTimeout(streamIdleMs(hub.heartbeatMs));
    const headers: OutgoingHttpHeaders = { ...SSE_HEADERS };
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] ??= value;
    await stream.run(headers, planReplay(log, start), log);
  });
};
