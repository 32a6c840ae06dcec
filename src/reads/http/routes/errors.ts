import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { messageOf } from '../../../shared/error-registry.js';
import { codeOfStatus, errorBody, methodNotAllowed, statusOf, type ErrorAnswer, type ErrorCode } from '../../contract/error-codes.js';
import { ReadsError } from '../../contract/errors.js';
import type { ReadsService } from '../../data/service.js';
import { unencapsulated } from '../unencapsulated.js';

/**
 * The one error format of the HTTP surface, in one place: how an error is sent, the answer for a
 * path or method no route takes, and the handler every thrown error ends in. (The answers written
 * below Fastify, on the socket, are in edges.ts; both take their codes from the registry, through
 * contract/error-codes.ts.)
 */

const READ_METHODS = new Set(['GET', 'HEAD']);

/** Sends an error answer (status, headers, body). */
function sendAnswer(reply: FastifyReply, { status, headers, body }: ErrorAnswer): FastifyReply {
  // Set for a successful answer before it failed: an error must not carry them.
  reply.removeHeader('etag');
  reply.removeHeader('x-lattice-total');
  reply.removeHeader('link');
  return reply.headers(headers).code(status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(JSON.stringify(body));
}

/**
 * Sends an error body. The status is the registry's for the code unless the caller knows a more
 * exact one (a framework error's own 413, say).
 */
export function sendError(reply: FastifyReply, code: ErrorCode, message: string, opts: { parameter?: string; status?: number } = {}): FastifyReply {
  return sendAnswer(reply, { status: opts.status ?? statusOf(code), headers: {}, body: errorBody(code, message, opts.parameter) });
}

/** A path as error messages show it: quoted, and cut (a URL may be 16 KB). */
function shownPath(url: string): string {
  const path = url.split('?')[0] ?? '';
  return JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}...` : path);
}

/**
 * Fastify's `frameworkErrors`, in the same format: a malformed URL (bad percent-encoding) is a
 * 400; a path parameter past the router's maximum (app.ts sets it at the header limit, so this
 * should not happen) matches no route: 404. Fastify's own messages quote the whole path.
 */
export function frameworkError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    sendError(reply, 'not_found', messageOf('not_found', { path: shownPath(req.raw.url ?? ''), why: ': a path segment is too long' }));
    return;
  }
  if (err.code === 'FST_ERR_BAD_URL') {
    sendError(reply, 'bad_request', `${shownPath(req.raw.url ?? '')} is not a valid URL (bad percent-encoding)`);
    return;
  }
  sendError(reply, 'bad_request', err.message.length > 300 ? `${err.message.slice(0, 300)}...` : err.message);
}

export interface ErrorHandlersOptions {
  service: ReadsService;
}

export const errorHandlers = unencapsulated<ErrorHandlersOptions>(async (app, { service }) => {
  // A method no route takes is a 405 before its body is looked at: Fastify checks a body's
  // Content-Type before the not-found handler runs, so `QUERY` (whose RFC requires one) was a 400
  // and a PUT with a bad Content-Type a 415, where every other method got this 405.
  app.addHook('onRequest', async (req, reply) => {
    if (req.is404 && !READ_METHODS.has(req.method)) return sendAnswer(reply, methodNotAllowed(req.method));
  });

  // GET and HEAD only: the hook above answered every other method.
  app.setNotFoundHandler((req, reply) => {
    return sendError(
      reply,
      'not_found',
      messageOf('not_found', {
        path: shownPath(req.url),
        why: '; routes: /healthz, /views, /views/{name}, /refreshes, /events, /metrics, /openapi.json, and the web UI at /',
      }),
    );
  });

  app.setErrorHandler(async (err, req, reply) => {
    if (err instanceof ReadsError) {
      if (err.status === 503) reply.header('retry-after', '1');
      return sendError(reply, err.code, service.messageOf(err), { parameter: err.parameter });
    }
    const e = err as { statusCode?: number; message?: string };
    const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
    if (status >= 400 && status < 500) return sendError(reply, codeOfStatus(status), e.message ?? 'bad request', { status });
    req.log.error({ err, url: req.url }, 'request failed');
    return sendError(reply, 'internal', 'internal error; see the server log');
  });
});
