import type { FastifyPluginAsync } from 'fastify';
import { Registry } from 'prom-client';
import type { ReadsMetrics } from '../../metrics/reads-metrics.js';
import { ROUTE_SCHEMAS } from '../../contract/route-schemas.js';

/**
 * GET /metrics: the reads server's figures and the puller's, in Prometheus text format 0.0.4
 * (metrics/reads-metrics.ts). Never cached: every scrape measures now.
 */
export const metricsRoutes: FastifyPluginAsync<{ metrics: ReadsMetrics }> = async (app, { metrics }) => {
  app.get('/metrics', { schema: ROUTE_SCHEMAS.metrics }, async (_req, reply) => {
    const text = await metrics.scrape();
    return reply.header('cache-control', 'no-store').type(Registry.PROMETHEUS_CONTENT_TYPE).send(text);
  });
};
