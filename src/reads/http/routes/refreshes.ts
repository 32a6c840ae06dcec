import type { FastifyPluginAsync } from 'fastify';
import type { RefreshListResponse } from '../../contract/api-types.js';
import { BadParameterError } from '../../contract/errors.js';
import { MAX_REFRESHES_LIMIT, refreshesLimit, type RefreshesParams } from '../../data/plan/refreshes.js';
import { etagFor, validate } from '../../respond/headers.js';
import { CONTENT_TYPES } from '../../respond/render.js';
import { ROUTE_SCHEMAS } from '../../contract/route-schemas.js';
import type { GenerationSource } from '../../data/generation-source.js';
import type { ReadsService } from '../../data/service.js';

/** GET /refreshes?view&limit: the refresh history of the served generation, with its ETag. */

/** The query string as RefreshesParams; an unknown or repeated key is a 400 naming it. */
function parseRefreshesQuery(query: unknown): RefreshesParams {
  const params: RefreshesParams = {};
  for (const [key, raw] of Object.entries((query ?? {}) as Record<string, string | string[]>)) {
    const shown = key.length > 64 ? `${key.slice(0, 64)}...` : key;
    if (Array.isArray(raw)) throw new BadParameterError(shown, 'given more than once');
    if (key === 'view' || key === 'limit') params[key] = raw;
    else throw new BadParameterError(shown, `unknown parameter; known: view (a view name), limit (1..${MAX_REFRESHES_LIMIT})`);
  }
  return params;
}

export const refreshesRoutes: FastifyPluginAsync<{ service: ReadsService; generations: GenerationSource }> = async (app, { service, generations }) => {
  app.get('/refreshes', { schema: ROUTE_SCHEMAS.refreshes }, async (req, reply) => {
    const params = parseRefreshesQuery(req.query);
    const limit = refreshesLimit(params.limit);
    const view = params.view ?? null;
    const gen = generations.acquire();
    req.trace.generation = gen.generation;
    try {
      // An unknown view is a 404 even for a client holding a matching ETag.
      if (view !== null) service.viewOf(gen, view);
      const freshness = service.freshness(gen, null);
      // The log is part of the published file, so the generation and the query decide the answer.
      const etag = etagFor(gen.generation, gen.meta.published_at, JSON.stringify(['refreshes', view, limit]));
      if (validate(reply, req.headers['if-none-match'], etag, freshness)) return reply.code(304).send();
      const body: RefreshListResponse = { freshness, refreshes: await service.refreshes(gen, view, limit) };
      return reply.type(CONTENT_TYPES.json).send(JSON.stringify(body));
    } finally {
      gen.release();
    }
  });
};
