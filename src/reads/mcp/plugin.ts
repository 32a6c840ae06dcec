import type { FastifyInstance, FastifyReply } from 'fastify';
import { hostHeaderValidation, originValidation } from '@modelcontextprotocol/fastify';
import { toWebRequest } from '@modelcontextprotocol/node';
import { createMcpHandler, localhostAllowedHostnames, localhostAllowedOrigins } from '@modelcontextprotocol/server';
import type { Logger } from '../../shared/logger.js';
import { errorMessage } from '../../shared/errors.js';
import type { GenerationSource } from '../data/generation-source.js';
import type { ReadsService } from '../data/service.js';
import type { QueryRunner } from '../query-workers/pool.js';
import { SqlSandbox } from './sql.js';
import { createLatticeMcpServer } from './tools.js';

/**
 * `/mcp`: the MCP endpoint (Streamable HTTP) on the read server's Fastify app, registered as an
 * encapsulated plugin (its body parsing and error format stay inside it).
 *
 * Stateless: the SDK's `createMcpHandler` builds a fresh McpServer (and transport) from the
 * factory for every HTTP request, for both protocol eras (2025-era clients such as mcporter and
 * Claude Code get the stateless legacy leg; 2026-07-28 clients the per-request modern leg). Nothing
 * is shared between requests but the read service, so no response can reach another client
 * (CVE-2026-25536). GET and DELETE (2025 session operations) and other methods are 405 with a
 * JSON-RPC error.
 *
 * DNS rebinding: the app's own guard checks Host and Origin on every route (loopback or
 * --allowed-hosts); the SDK's Host and Origin validation runs here as well, with the same names.
 *
 * The body is handed to the SDK unparsed, so malformed JSON, a wrong content type or a bad
 * JSON-RPC message get the protocol's own errors.
 */

export interface McpPluginOptions {
  service: ReadsService;
  generations: GenerationSource;
  logger?: Logger;
  /** Extra Host/Origin names accepted besides loopback (config.allowedHosts). */
  allowedHosts?: readonly string[];
  /** Where `query` runs its SQL: the query worker pool. */
  queryRunner: QueryRunner;
}

const MCP_PATH = '/mcp';
const MAX_BODY_BYTES = 1024 * 1024;

/** A JSON-RPC error body with no id (the request could not be read as one). */
function jsonRpcError(code: number, message: string): { jsonrpc: '2.0'; error: { code: number; message: string }; id: null } {
  return { jsonrpc: '2.0', error: { code, message }, id: null };
}

function sendJsonRpcError(reply: FastifyReply, status: number, code: number, message: string): FastifyReply {
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .type('application/json; charset=utf-8')
    .send(JSON.stringify(jsonRpcError(code, message)));
}

/** Host names as the SDK's validators take them (IPv6 in brackets). */
function sdkNames(names: readonly string[]): string[] {
  return names.map((n) => n.toLowerCase()).map((n) => (n.includes(':') && !n.startsWith('[') ? `[${n}]` : n));
}

/**
 * Headers that describe the connection, not the response: Node's http server sets them. The SDK's
 * event-stream answer says `Connection: keep-alive`, which made Node keep a connection the client
 * asked to close (`Connection: close`) open until the keep-alive timeout.
 */
const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding'];

function withoutHopByHop(response: Response): Response {
  if (!HOP_BY_HOP.some((h) => response.headers.has(h))) return response;
  const headers = new Headers(response.headers);
  for (const h of HOP_BY_HOP) headers.delete(h);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

export async function mcpPlugin(app: FastifyInstance, opts: McpPluginOptions): Promise<void> {
  const { service, logger } = opts;
  const sandbox = new SqlSandbox(service, opts.generations, opts.queryRunner);
  const handler = createMcpHandler(() => createLatticeMcpServer({ service, sandbox, logger }), {
    legacy: 'stateless',
    maxRequestBodySize: MAX_BODY_BYTES,
    onerror: (err) => logger?.debug({ err: errorMessage(err) }, 'MCP request rejected'),
  });
  app.addHook('onClose', async () => {
    await handler.close();
  });

  const extra = sdkNames(opts.allowedHosts ?? []);
  app.addHook('onRequest', hostHeaderValidation([...localhostAllowedHostnames(), ...extra]));
  app.addHook('onRequest', originValidation([...localhostAllowedOrigins(), ...extra]));

  // The raw bytes, whatever the content type: the SDK validates the type and parses the JSON.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_BODY_BYTES }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err, req, reply) => {
    const e = err as { statusCode?: number; message?: string };
    const status = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
    if (status === 500) req.log.error({ err, url: req.url }, 'MCP request failed');
    return sendJsonRpcError(
      reply,
      status,
      status === 500 ? -32603 : -32600,
      status === 500 ? 'internal error; see the server log' : (e.message ?? 'bad request'),
    );
  });

  app.post(MCP_PATH, async (req, reply) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    // The client going away aborts the exchange (and with it any streamed response).
    const abort = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) abort.abort();
    });
    const request = await toWebRequest(
      {
        method: req.method,
        url: req.url,
        headers: req.headers,
        async *[Symbol.asyncIterator]() {
          if (body.length > 0) yield body;
        },
      },
      undefined,
      { signal: abort.signal, maxRequestBodySize: MAX_BODY_BYTES },
    );
    const response = await handler.fetch(request);
    reply.header('cache-control', 'no-store');
    return reply.send(withoutHopByHop(response));
  });

  app.route({
    method: ['GET', 'DELETE', 'PUT', 'PATCH', 'OPTIONS'],
    url: MCP_PATH,
    handler: async (req, reply) => {
      reply.header('allow', 'POST');
      return sendJsonRpcError(
        reply,
        405,
        -32000,
        `Method not allowed: ${req.method}. This MCP endpoint is stateless (no sessions, no server-initiated stream): send JSON-RPC messages with POST.`,
      );
    },
  });
}
