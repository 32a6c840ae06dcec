import { parse as parseQuerystring } from 'node:querystring';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../../shared/logger.js';
import type { EventHub } from '../events/hub.js';
import { installGuard, observeFrameworkErrors, requestObservers } from './guard.js';
import { memoized } from '../data/memo.js';
import { ReadsMetrics } from '../metrics/reads-metrics.js';
import { edgeServerOptions, type HttpLimits } from './edges.js';
import { mcpPlugin } from '../mcp/plugin.js';
import type { QueryRunner } from '../query-workers/pool.js';
import { requestId } from './request-trace.js';
import { ResponseCache } from '../data/response-cache.js';
import { errorHandlers, frameworkError } from './routes/errors.js';
import { eventsRoutes } from './routes/events.js';
import { healthzRoutes } from './routes/healthz.js';
import { metricsRoutes } from './routes/metrics.js';
import { uiRoutes } from './routes/ui.js';
import { openApiRoutes } from './routes/openapi.js';
import { refreshesRoutes } from './routes/refreshes.js';
import { viewRowsRoutes } from './routes/view-rows.js';
import { viewsRoutes } from './routes/views.js';
import type { GenerationSource } from '../data/generation-source.js';
import type { QueryLimiter } from '../data/query-limiter.js';
import type { ReadsService } from '../data/service.js';

/**
 * The HTTP surface of the read service: a Fastify app made of one plugin per job (the guard is a
 * hook set installed at once).
 *
 *   guard.ts               around every route: request id, Server-Timing, access log; 503 while
 *                          closing; the Host/Origin guard
 *   routes/errors.ts       the one error format: not found, 405, the error handler
 *   routes/healthz.ts      GET /healthz          health (200 ok/degraded, 503 starting)
 *   routes/views.ts        GET /views            the catalog
 *   routes/view-rows.ts    GET /views/:name      rows (the responder: respond/)
 *   routes/refreshes.ts    GET /refreshes        the views' refresh history
 *   routes/events.ts       GET /events           the puller's event log, live (Server-Sent Events: events/)
 *   routes/metrics.ts      GET /metrics          Prometheus text (metrics/)
 *   routes/openapi.ts      GET /openapi.json     OpenAPI 3.1, generated from the route schemas
 *   mcp/plugin.ts          POST /mcp             the MCP endpoint
 *   routes/ui.ts           GET /, /ui/...        the web UI: a page shell and its assets (ui/)
 */

export interface BuildAppOptions {
  service: ReadsService;
  /** The generations the service reads (the same source the service was built on). */
  generations: GenerationSource;
  /** The query slots the generations' queries share (for /metrics). */
  limiter: QueryLimiter;
  logger: Logger;
  /** The home served: /metrics reads the puller's metrics.json there. */
  home: string;
  /**
   * /metrics and the per-request counting behind it (default on). Off only for the benchmark that
   * measures what they cost; not a setting.
   */
  metrics?: boolean;
  /** Extra Host/Origin names accepted besides loopback. */
  allowedHosts?: readonly string[];
  cache?: ResponseCache;
  /** A response larger than this starts streaming instead of being buffered (bytes). */
  streamThresholdBytes?: number;
  /** The request deadline and the connection cap (http-edges.ts), from the settings. */
  limits: HttpLimits;
  /** Where the MCP `query` tool runs its SQL (the query worker pool). */
  queryRunner: QueryRunner;
  /** Where the web UI's built files are; the package's dist/web when not given. */
  uiDir?: string;
  /** The event log's follower and the GET /events streams (started by the caller). */
  events: EventHub;
}

/**
 * A path parameter (a view name) may be as long as the request line: Node's 16 KB header limit
 * bounds it. Below that, find-my-way answers a longer one with a framework error (a 400 that
 * echoed the whole path) instead of the route's own 404 `unknown_view`. Our parameters are plain
 * segments, not regular expressions, so their length costs a lookup nothing.
 */
const MAX_PARAM_LENGTH = 16 * 1024;

/**
 * Fastify's query-string parser, remembering the last few hundred query strings: a dashboard or an
 * agent repeats the same URLs, and parsing them again was a tenth of a cached answer's time. The
 * parsed objects are shared between requests, so they are frozen. maxKeys 0: no silent cut at
 * 1000 keys (the URL is bounded by the 16 KB header limit).
 */
const parseQuery = memoized((text) => Object.freeze(parseQuerystring(text, '&', '=', { maxKeys: 0 }) as Record<string, unknown>), 512);

export function buildApp(opts: BuildAppOptions): FastifyInstance {
  const { service, generations, logger, limits } = opts;
  const allowedHosts = (opts.allowedHosts ?? []).map((h) => h.toLowerCase());
  const cache = opts.cache ?? new ResponseCache();
  const metrics =
    opts.metrics === false
      ? null
      : new ReadsMetrics({ health: () => service.health(), generations, limiter: opts.limiter, cache, home: opts.home, logger, events: opts.events });
  const observers = requestObservers(logger, metrics?.requests ?? null);

  // Fastify's own info lines ("Server listening at ...") repeat our `listening` line: warnings up.
  const fastifyLogger = logger.levelVal < logger.levels.values.warn! ? logger.child({}, { level: 'warn' }) : logger;
  const app = Fastify({
    loggerInstance: fastifyLogger as unknown as FastifyBaseLogger,
    // Fastify's request lines are off: guard.ts writes one access line per request instead.
    // Its error lines name the request id `req_id`, as the access line does.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'req_id' }),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH, querystringParser: parseQuery },
    bodyLimit: 1024 * 1024,
    // Requests arriving while the server closes are answered by the guard, in our format.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Timeouts, the Host check moved out of Node, and the answer to unparseable requests.
    ...edgeServerOptions(limits),
    frameworkErrors: observeFrameworkErrors(observers, frameworkError),
    // X-Request-Id: the client's when sane, else a fresh one (request-trace.ts).
    genReqId: (raw) => requestId(raw.headers['x-request-id']),
  });

  // Parameters are validated by the service layer (shared with MCP); bodies are rendered by the
  // routes. The route schemas document the API (/openapi.json) and are not compiled.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  installGuard(app, { logger, allowedHosts, limits, observers });
  void app.register(errorHandlers, { service });
  void app.register(openApiRoutes);
  void app.register(healthzRoutes, { service });
  void app.register(viewsRoutes, { service, generations });
  void app.register(viewRowsRoutes, { service, generations, cache, streamThresholdBytes: opts.streamThresholdBytes ?? 1024 * 1024 });
  void app.register(refreshesRoutes, { service, generations });
  void app.register(eventsRoutes, { hub: opts.events });
  if (metrics) void app.register(metricsRoutes, { metrics });
  void app.register(uiRoutes, { dir: opts.uiDir, logger });
  void app.register(mcpPlugin, { service, generations, logger, allowedHosts, queryRunner: opts.queryRunner });
  return app;
}
