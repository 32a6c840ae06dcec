import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { negotiate } from '../../respond/negotiate.js';
import { RowsResponder, type RowsResponderOptions } from '../../respond/rows.js';
import { ROUTE_SCHEMAS } from '../../contract/route-schemas.js';
import { sendError } from './errors.js';
import { parseRowsQuery } from './rows-query.js';

/**
 * GET /views/:name: ?limit&offset|after&order_by=col,-col&filter[col][op]=value&columns=a,b&count&format=json|ndjson|csv.
 * The query string and the format are read here; the responder (respond/rows.ts) does the rest.
 */
export const viewRowsRoutes: FastifyPluginAsync<RowsResponderOptions> = async (app, opts) => {
  const responder = new RowsResponder(opts);
  app.get('/views/:name', { schema: ROUTE_SCHEMAS.viewRows }, async (req: FastifyRequest<{ Params: { name: string } }>, reply) => {
    const { params, format: formatParam } = parseRowsQuery(req.query);
    const format = negotiate(formatParam, req.headers.accept);
    if (format === null) {
      return sendError(reply, 'not_acceptable', 'acceptable formats: application/json, application/x-ndjson, text/csv (or ?format=json|ndjson|csv)');
    }
    return responder.respond({ view: req.params.name, params, format, formatParam, req, reply });
  });
};
