import type { FastifyPluginAsync } from 'fastify';
import { BadParameterError } from '../../contract/errors.js';
import { validate, etagFor } from '../../respond/headers.js';
import { CONTENT_TYPES } from '../../respond/render.js';
import { ROUTE_SCHEMAS } from '../../contract/route-schemas.js';
import type { GenerationSource } from '../../data/generation-source.js';
import type { ReadsService } from '../../data/service.js';

/** GET /views: the catalog of the served generation, with its ETag. */
export const viewsRoutes: FastifyPluginAsync<{ service: ReadsService; generations: GenerationSource }> = async (app, { service, generations }) => {
  app.get('/views', { schema: ROUTE_SCHEMAS.views }, async (req, reply) => {
    const keys = Object.keys(req.query as object);
    if (keys.length > 0) throw new BadParameterError(keys[0]!.slice(0, 64), 'unknown parameter; /views takes none');
    const gen = generations.acquire();
    req.trace.generation = gen.generation;
    try {
      const catalog = service.catalogOf(gen);
      const etag = etagFor(gen.generation, gen.meta.published_at, 'views');
      if (validate(reply, req.headers['if-none-match'], etag, catalog.freshness)) return reply.code(304).send();
      return reply.type(CONTENT_TYPES.json).send(JSON.stringify(catalog));
    } finally {
      gen.release();
    }
  });
};
