import { PassThrough } from 'node:stream';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type RouteOptions } from 'fastify';
import type { Logger } from '../shared/logger.js';
import type { Freshness } from './api-types.js';
import { codeOfStatus, errorBody, methodNotAllowed } from './error-codes.js';
import { bodyOf, ResponseCache, type CachedBody } from './cache.js';
import { BadParameterError, ReadsError } from './errors.js';
import type { Generation } from './generations.js';
import { edgeServerOptions, guardServer, type HttpLimits } from './http-edges.js';
import { buildOpenApi } from './openapi.js';
import type { ReadPlan, ReadViewParams } from './params.js';
import { CONTENT_TYPES, csvRenderer, jsonRenderer, ndjsonRenderer, type Format, type Renderer } from './render.js';
import { ROUTE_SCHEMAS } from './route-schemas.js';
import type { ReadsService } from './service.js';
import { mcpPlugin } from './mcp/plugin.js';
import type { QueryRunner } from './query-workers/pool.js';
import {
  drained,
  etagFor,
  etagMatches,
  negotiate,
  parseRowsQuery,
  READ_METHODS,
  requestGuard,
  sendError,
  setFreshnessHeaders,
} from './http-support.js';

/**
 * The HTTP surface of the read service (Fastify). Routes call the service layer; this file only
 * deals with HTTP: query-string syntax, content negotiation, ETags and 304s, the response cache,
 * streaming, the Host/Origin guard and the one error format.
 *
 *   GET /healthz          health (200 ok/degraded, 503 starting)
 *   GET /views            the catalog
 *   GET /views/:name      rows: ?limit&offset&order_by=col,-col&filter[col]=value&format=json|ndjson|csv
 *   GET /openapi.json     OpenAPI 3.1, generated from the route schemas
 */

export interface BuildAppOptions {
  service: ReadsService;
  logger: Logger;
  /** Extra Host/Origin names accepted besides loopback. */
  allowedHosts?: readonly string[];
  cache?: ResponseCache;
  /** A response larger than this starts streaming instead of being buffered (bytes). */
  streamThresholdBytes?: number;
  /** The request deadline and the connection cap (http-edges.ts), from the settings. */
  limits: HttpLimits;
  /** Where the MCP `query` tool runs its SQL (the query worker pool). */
  queryRunner: QueryRunner;
}

export { etagMatches, hostOf, isAllowedHost, negotiate, parseRowsQuery } from './http-support.js';

export function buildApp(opts: BuildAppOptions): FastifyInstance {
  const { service, logger } = opts;
  const allowed = (opts.allowedHosts ?? []).map((h) => h.toLowerCase());
  const cache = opts.cache ?? new ResponseCache();
  const streamThreshold = opts.streamThresholdBytes ?? 1024 * 1024;
  service.manager.onSwitch((gen) => cache.clear(gen.generation));

  // Fastify's own info lines ("Server listening at ...") repeat our `listening` line: warnings up.
  const fastifyLogger = logger.levelVal < logger.levels.values.warn! ? logger.child({}, { level: 'warn' }) : logger;
  const { limits } = opts;
  const app = Fastify({
    loggerInstance: fastifyLogger as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { maxParamLength: 500 },
    bodyLimit: 1024 * 1024,
    // Requests arriving while the server closes are answered by the guard below, in our format.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Timeouts, the Host check moved out of Node, and the answer to unparseable requests.
    ...edgeServerOptions(limits),
    // Malformed URLs (bad percent-encoding) get the same error format.
    frameworkErrors: (err, _req, reply) => {
      sendError(reply, 400, errorBody('bad_request', err.message));
    },
  });
  const guard = guardServer(app.server, limits, logger);
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    guard.closeUnfinished();
  });

  // Parameters are validated by the service layer (shared with MCP); bodies are rendered here.
  // The route schemas document the API (/openapi.json) and are not compiled.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });

  // The first hook of every route: 503 while closing, then the Host/Origin (DNS-rebinding) guard.
  app.addHook('onRequest', requestGuard(allowed, () => closing));

  app.setNotFoundHandler((req, reply) => {
    if (!READ_METHODS.has(req.method)) {
      const answer = methodNotAllowed(req.method);
      return sendError(reply.headers(answer.headers), answer.status, answer.body);
    }
    const path = req.url.split('?')[0] ?? '';
    return sendError(reply, 404, errorBody('not_found', `no route ${JSON.stringify(path.slice(0, 200))}; routes: /healthz, /views, /views/{name}, /openapi.json`));
  });

  app.setErrorHandler(async (err, req, reply) => {
    if (err instanceof ReadsError) {
      if (err.status === 503) reply.header('retry-after', '1');
      return sendError(reply, err.status, errorBody(err.code, await service.messageOf(err), err.parameter));
    }
    const e = err as { statusCode?: number; message?: string; code?: string };
    const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
    if (status >= 400 && status < 500) {
      return sendError(reply, status, errorBody(codeOfStatus(status), e.message ?? 'bad request'));
    }
    req.log.error({ err, url: req.url }, 'request failed');
    return sendError(reply, 500, errorBody('internal', 'internal error; see the server log'));
  });

  app.get('/healthz', { schema: ROUTE_SCHEMAS.healthz }, async (_req, reply) => {
    const health = await service.health();
    return reply
      .code(health.status === 'starting' ? 503 : 200)
      .header('cache-control', 'no-store')
      .type('application/json; charset=utf-8')
      .send(JSON.stringify(health));
  });

  app.get('/views', { schema: ROUTE_SCHEMAS.views }, async (req, reply) => {
    if (Object.keys(req.query as object).length > 0) {
      const key = Object.keys(req.query as object)[0]!;
      throw new BadParameterError(key.slice(0, 64), 'unknown parameter; /views takes none');
    }
    const gen = service.acquire();
    try {
      const catalog = service.catalogOf(gen);
      const etag = etagFor(gen.generation, gen.meta.published_at, 'views');
      setFreshnessHeaders(reply, catalog.freshness);
      reply.header('etag', etag).header('cache-control', 'no-cache').header('vary', 'Accept');
      if (etagMatches(req.headers['if-none-match'], etag)) return reply.code(304).send();
      return reply.type(CONTENT_TYPES.json).send(JSON.stringify(catalog));
    } finally {
      gen.release();
    }
  });

  app.get('/views/:name', { schema: ROUTE_SCHEMAS.viewRows }, async (req: FastifyRequest<{ Params: { name: string } }>, reply) => {
    const { params, format: formatParam } = parseRowsQuery(req.query);
    const format = negotiate(formatParam, req.headers.accept);
    if (format === null) {
      return sendError(reply, 406, errorBody('not_acceptable', 'acceptable formats: application/json, application/x-ndjson, text/csv (or ?format=json|ndjson|csv)'));
    }
    const gen = service.acquire();
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        gen.release();
      }
    };
    try {
      return await serveRows(gen, req.params.name, params, format, req, reply, release);
    } finally {
      release();
    }
  });

  const planMemo = new Map<string, { plan: ReturnType<ReadsService['plan']>; key: string; etag: string }>();
  let planMemoGeneration = -1;

  /**
   * A cached body, written as its pieces (bytes before the age, the age, bytes after) without
   * copying a large body into one buffer per response.
   */
  function sendCached(req: FastifyRequest, reply: FastifyReply, entry: CachedBody, age: number): FastifyReply {
    if (entry.after === null) return reply.send(entry.before);
    const ageBuf = Buffer.from(String(age));
    const length = entry.before.length + ageBuf.length + entry.after.length;
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { ...reply.getHeaders(), 'content-length': String(length), 'content-type': entry.contentType } as Record<string, string>);
    if (req.method === 'HEAD') {
      raw.end();
      return reply;
    }
    raw.cork();
    raw.write(entry.before);
    raw.write(ageBuf);
    raw.end(entry.after);
    return reply;
  }

  async function serveRows(
    gen: Generation,
    name: string,
    params: ReadViewParams,
    format: Format,
    req: FastifyRequest,
    reply: FastifyReply,
    release: () => void,
  ): Promise<FastifyReply> {
    // The same URL on the same generation plans to the same queries: memoized (bounded).
    const memoKey = `${format}\n${req.url}`;
    if (planMemoGeneration !== gen.generation || planMemo.size >= 4096) {
      planMemo.clear();
      planMemoGeneration = gen.generation;
    }
    let memo = planMemo.get(memoKey);
    if (!memo) {
      const p = service.plan(gen, name, params, (c) => `filter[${c}]`);
      const k = `${format}|${p.key}`;
      memo = { plan: p, key: k, etag: etagFor(gen.generation, gen.meta.published_at, k) };
      planMemo.set(memoKey, memo);
    }
    const { plan, key, etag } = memo;
    const freshness = service.freshness(gen, plan.view);
    setFreshnessHeaders(reply, freshness);
    reply.header('etag', etag).header('cache-control', 'no-cache').header('vary', 'Accept');
    if (etagMatches(req.headers['if-none-match'], etag)) return reply.code(304).send();
    reply.type(CONTENT_TYPES[format]);

    const cached = cache.get(gen.generation, key);
    if (cached) return sendCached(req, reply, cached, freshness.age_seconds);
    const flight = await cache.claim(gen.generation, key);
    if ('entry' in flight) return sendCached(req, reply, flight.entry, freshness.age_seconds);
    try {
      return await renderRows(gen, plan, key, format, freshness, req, reply, release, flight.done);
    } finally {
      flight.done(null); // no-op when the render already settled it
    }
  }

  async function renderRows(
    gen: Generation,
    plan: ReadPlan,
    key: string,
    format: Format,
    freshness: Freshness,
    req: FastifyRequest,
    reply: FastifyReply,
    release: () => void,
    rendered: (entry: CachedBody | null) => void,
  ): Promise<FastifyReply> {
    const total = await service.count(gen, plan);
    reply.header('x-lattice-total', String(total));
    const renderer: Renderer =
      format === 'json' ? jsonRenderer(service.rowsEnvelope(gen, plan, total)) : format === 'ndjson' ? ndjsonRenderer() : csvRenderer(plan.view.columns);

    // Pieces are buffered until the response outgrows the threshold, then streamed; they are kept
    // for the cache as long as the response fits an entry.
    const before = Buffer.from(renderer.head);
    const pieces: Buffer[] = [];
    let bytes = 0;
    let keep = true;
    let stream: PassThrough | null = null;
    const emit = (text: string): void | Promise<void> => {
      if (text === '') return;
      const buf = Buffer.from(text);
      bytes += buf.length;
      if (keep && bytes > cache.maxEntryBytes) {
        keep = false;
        if (stream !== null) pieces.length = 0;
      }
      if (keep || stream === null) pieces.push(buf);
      if (stream === null) {
        if (bytes <= streamThreshold) return;
        stream = new PassThrough();
        reply.send(stream);
        stream.write(renderer.afterAge === null ? before : Buffer.concat([before, Buffer.from(String(freshness.age_seconds))]));
        for (const p of pieces) stream.write(p);
        if (!keep) pieces.length = 0;
        return;
      }
      if (stream.destroyed) throw new Error('the client went away');
      if (!stream.write(buf)) return drained(stream);
    };

    try {
      if (renderer.afterAge !== null) emit(renderer.afterAge);
      await service.streamRows(gen, plan, (rows) => emit(renderer.rows(rows)));
      emit(renderer.tail);
    } catch (err) {
      if (stream === null) throw err;
      (stream as PassThrough).destroy(err as Error);
      req.log.debug({ err, url: req.url }, 'streaming stopped');
      return reply;
    }
    release();
    const entry: CachedBody = { generation: gen.generation, contentType: CONTENT_TYPES[format], before, after: renderer.afterAge === null ? null : Buffer.concat(pieces) };
    if (renderer.afterAge === null) entry.before = Buffer.concat([before, ...pieces]);
    if (keep) cache.set(key, entry);
    rendered(keep ? entry : null);
    if (stream !== null) {
      (stream as PassThrough).end();
      return reply;
    }
    return reply.send(bodyOf(entry, freshness.age_seconds));
  }

  app.get('/openapi.json', { schema: ROUTE_SCHEMAS.openapi }, async (_req, reply) => {
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(buildOpenApi(routes)));
  });

  void app.register(mcpPlugin, { service, logger, allowedHosts: allowed, queryRunner: opts.queryRunner });

  return app;
}
