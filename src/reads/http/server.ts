import type { FastifyInstance } from 'fastify';
import type { Config } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import { homePaths } from '../../shared/paths.js';
import { ResponseCache } from '../data/response-cache.js';
import { GenerationManager } from '../data/generations.js';
import { buildApp } from './app.js';
import { EventHub } from '../events/hub.js';
import { QueryLimiter } from '../data/query-limiter.js';
import { PullerStateWatch } from '../data/puller-state.js';
import { QueryWorkerPool } from '../query-workers/pool.js';
import { ReadsService } from '../data/service.js';

export interface StartReadsOptions {
  config: Pick<
    Config,
    | 'home'
    | 'host'
    | 'port'
    | 'allowedHosts'
    | 'staleAfterIntervals'
    | 'refreshIntervalSeconds'
    | 'requestTimeoutSeconds'
    | 'maxConnections'
    | 'queryMemoryBytes'
    | 'maxEventSubscribers'
    | 'eventsHeartbeatSeconds'
    | 'memoryLimitBytes'
    | 'threads'
  >;
  logger: Logger;
  /** Concurrent DuckDB queries (default 3: the libuv pool has 4 threads). */
  maxConcurrentQueries?: number;
  queryTimeoutMs?: number;
  pollMs?: number;
  cacheBytes?: number;
  /** A response larger than this streams (chunked) instead of being buffered; default 1 MiB. */
  streamThresholdBytes?: number;
  /** Where the web UI's built files are (default: the package's dist/web). */
  uiDir?: string;
  /** /metrics and the per-request counting (default on); off only to measure their cost (bench/metrics.ts). */
  metrics?: boolean;
  /** Called before listen, to add routes (the MCP endpoint) on the same server. */
  extend?: (app: FastifyInstance, service: ReadsService) => void | Promise<void>;
}

export interface ReadsServer {
  /** e.g. http://127.0.0.1:7778 */
  url: string;
  app: FastifyInstance;
  service: ReadsService;
  /** The generations served (tests make it look at the published file now: `check()`). */
  generations: GenerationManager;
  /** The `query` tool's worker processes. */
  queryWorkers: QueryWorkerPool;
  /** Stops listening, waits for in-flight requests, closes every generation; kills the query workers first, without waiting on their queries. */
  close(): Promise<void>;
}

/**
 * Starts the read server in this process (`serve-reads`, and the transitional `serve` that runs
 * both daemons): opens the published generation if there is one, watches for new ones, listens.
 */
export async function startReadsServer(opts: StartReadsOptions): Promise<ReadsServer> {
  const { config, logger } = opts;
  const limiter = new QueryLimiter(opts.maxConcurrentQueries ?? 3);
  const manager = new GenerationManager({
    path: homePaths(config.home).published,
    logger,
    limiter,
    pollMs: opts.pollMs ?? 200,
    duckdb: { memoryLimitBytes: config.memoryLimitBytes, threads: config.threads },
  });
  await manager.start();
  // The MCP `query` tool's SQL runs in these worker processes, never in this one.
  const queryWorkers = new QueryWorkerPool({ home: config.home, memoryBytes: config.queryMemoryBytes, logger });
  queryWorkers.start();
  manager.onSwitch(() => queryWorkers.sync());
  // Follows the puller's event log from now on, for GET /events.
  const events = new EventHub({
    paths: homePaths(config.home),
    logger,
    maxSubscribers: config.maxEventSubscribers,
    heartbeatMs: Math.round(config.eventsHeartbeatSeconds * 1000),
  });
  await events.start();
  manager.onSwitch((gen) => events.generationServed({ generation: gen.generation, published_at: gen.meta.published_at }));
  // status.json, kept in memory for the "no snapshot yet" answers (an error path does no I/O).
  const puller = new PullerStateWatch({ home: config.home, logger });
  await puller.start();
  const service = new ReadsService({ generations: manager, puller, config, queryTimeoutMs: opts.queryTimeoutMs });
  const app = buildApp({
    service,
    generations: manager,
    limiter,
    logger,
    home: config.home,
    metrics: opts.metrics,
    allowedHosts: config.allowedHosts,
    cache: new ResponseCache(opts.cacheBytes),
    streamThresholdBytes: opts.streamThresholdBytes,
    limits: { requestTimeoutMs: Math.round(config.requestTimeoutSeconds * 1000), maxConnections: config.maxConnections },
    queryRunner: queryWorkers,
    uiDir: opts.uiDir,
    events,
  });
  let closed = false;
  try {
    if (opts.extend) await opts.extend(app, service);
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await queryWorkers.close();
    await app.close().catch(() => undefined);
    events.close();
    await puller.stop();
    await manager.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  logger.info({ url, home: config.home, generation: manager.peek()?.generation ?? null }, 'listening');
  return {
    url,
    app,
    service,
    generations: manager,
    queryWorkers,
    async close() {
      if (closed) return;
      closed = true;
      // First, so that a request waiting on a query is answered now and app.close() need not wait for it.
      await queryWorkers.close();
      await app.close();
      events.close();
      await puller.stop();
      const drained = await manager.close();
      if (!drained) logger.warn('in-flight queries did not finish in time; DuckDB instances left open');
    },
  };
}
