import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../shared/logger.js';
import { guardServer, type HttpLimits } from './http-edges.js';
import { sendError } from './routes/errors.js';

/**
 * What runs before every route: a closing server answers 503, then the DNS-rebinding guard checks
 * Host and Origin. (The socket-level limits below Fastify are installed from here as well:
 * http-edges.ts.)
 */

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1', '[::1]'];

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

export interface GuardOptions {
  logger: Logger;
  /** Extra Host/Origin names accepted besides loopback, lower-cased. */
  allowedHosts: readonly string[];
  limits: HttpLimits;
}

/**
 * A server that is closing answers 503 (Fastify's own answer is not in our format). Then Host (and
 * Origin, when sent) must be a loopback name or an allowed one; a missing Host is a bad request
 * (Node's own check, an empty 400, is off: http-edges.ts).
 */
function checkRequest(allowed: readonly string[], closing: () => boolean) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (closing()) {
      reply.header('retry-after', '1').header('connection', 'close');
      return sendError(reply, 'busy', 'the server is shutting down; retry in a moment');
    }
    const host = req.headers.host;
    if (host === undefined || host === '') {
      return sendError(reply, 'bad_request', 'the Host header is missing: send Host: 127.0.0.1:<port> (HTTP/1.1 requires it, and it is checked against DNS rebinding)');
    }
    if (!isAllowedHost(hostOf(host, false), allowed)) {
      return sendError(reply, 'forbidden_host', `Host ${JSON.stringify(host.slice(0, 100))} is not allowed: only loopback names (127.0.0.1, localhost, [::1]) or --allowed-hosts`);
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !isAllowedHost(hostOf(origin, true), allowed)) {
      return sendError(reply, 'forbidden_host', `Origin ${JSON.stringify(origin.slice(0, 100))} is not allowed: only loopback origins or --allowed-hosts`);
    }
    return undefined;
  };
}

/**
 * Installs the guard on the app at once rather than as a registered plugin: its preClose hook must
 * run before any added later (by `extend`, say), which a plugin loaded at `ready` would not.
 */
export function installGuard(app: FastifyInstance, opts: GuardOptions): void {
  const edges = guardServer(app.server, opts.limits, opts.logger);
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    edges.closeUnfinished();
  });
  app.addHook('onRequest', checkRequest(opts.allowedHosts, () => closing));
}
