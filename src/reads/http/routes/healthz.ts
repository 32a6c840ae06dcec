import { healthHttpStatus } from '../../../shared/health.js';
import type { FastifyPluginAsync } from 'fastify';
import { ROUTE_SCHEMAS } from '../../contract/route-schemas.js';
import type { ReadsService } from '../../data/service.js';

/** GET /healthz: 200 ok or degraded, 503 failing or starting (src/shared/health.ts). */
export const healthzRoutes: FastifyPluginAsync<{ service: ReadsService }> = async (app, { service }) => {
  app.get('/healthz', { schema: ROUTE_SCHEMAS.healthz }, async (req, reply) => {
    const health = await service.health();
    req.trace.generation = health.generation;
    return reply.code(healthHttpStatus(health.status)).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(JSON.stringify(health));
  });
};
