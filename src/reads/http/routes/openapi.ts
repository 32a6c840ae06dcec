import type { RouteOptions } from 'fastify';
import { VERSION } from '../../../shared/version.js';
import { FILTER_OPS } from '../../data/plan/filters.js';
import { ROUTE_SCHEMAS } from '../../contract/route-schemas.js';
import { jsonSchema, ErrorResponseSchema } from '../../contract/schemas.js';
import { unencapsulated } from '../unencapsulated.js';

/**
 * Builds the OpenAPI 3.1 document from the routes as registered (their `schema`), so the document
 * cannot describe a route that does not exist or miss one that does. Route schemas are JSON
 * schema (2020-12, which OpenAPI 3.1 uses); a `filter[...]` pattern property of a query string
 * becomes a `deepObject` parameter named `filter`.
 */
interface RouteSchema {
  summary?: string;
  description?: string;
  tags?: string[];
  params?: { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  querystring?: { properties?: Record<string, Record<string, unknown>>; required?: string[]; patternProperties?: Record<string, unknown> };
  response?: Record<string, Record<string, unknown>>;
}

function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function responseOf(status: string, schema: Record<string, unknown>): Record<string, unknown> {
  const { description, headers, content, ...body } = schema as { description?: string; headers?: unknown; content?: unknown } & Record<string, unknown>;
  const out: Record<string, unknown> = { description: description ?? `HTTP ${status}` };
  if (headers) out.headers = headers;
  if (content) out.content = content;
  else if (body.type !== 'null') out.content = { 'application/json': { schema: body } };
  return out;
}

function buildOpenApi(routes: readonly RouteOptions[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const schema = route.schema as RouteSchema | undefined;
    if (!schema) continue;
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).map((m) => String(m).toLowerCase()).filter((m) => m !== 'head');
    for (const method of methods) {
      const parameters: Record<string, unknown>[] = [];
      for (const [name, s] of Object.entries(schema.params?.properties ?? {})) {
        parameters.push({ name, in: 'path', required: true, description: s.description, schema: s });
      }
      const qs = schema.querystring;
      for (const [name, s] of Object.entries(qs?.properties ?? {})) {
        parameters.push({ name, in: 'query', required: qs?.required?.includes(name) ?? false, description: s.description, schema: s });
      }
      const filter = Object.entries(qs?.patternProperties ?? {}).find(([p]) => p.startsWith('^filter'));
      if (filter) {
        parameters.push({
          name: 'filter',
          in: 'query',
          style: 'deepObject',
          explode: true,
          required: false,
          description: (filter[1] as { description?: string }).description,
          // filter[col]=value, or filter[col][op]=value
          schema: {
            type: 'object',
            additionalProperties: {
              oneOf: [{ type: 'string' }, { type: 'object', propertyNames: { enum: [...FILTER_OPS] }, additionalProperties: { type: 'string' } }],
            },
          },
        });
      }
      const responses: Record<string, unknown> = {};
      for (const [status, s] of Object.entries(schema.response ?? {})) responses[status] = responseOf(status, s);
      const operation: Record<string, unknown> = { summary: schema.summary, description: schema.description, tags: schema.tags, responses };
      if (parameters.length > 0) operation.parameters = parameters;
      (paths[openApiPath(route.url)] ??= {})[method] = operation;
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'session-lattice read API',
      version: VERSION,
      description:
        'Read-only materialized views over Claude Code sessions. Every data response carries its freshness; errors are `{"error": {"code", "message"}}`; any non-GET method is 405; Host/Origin must be loopback.',
    },
    servers: [{ url: 'http://127.0.0.1:7778' }],
    paths,
    components: { schemas: { Error: jsonSchema(ErrorResponseSchema) } },
  };
}

/**
 * GET /openapi.json. Registered before the other routes and for the whole app, so that its route
 * collector sees every route registered after it, in any plugin.
 */
export const openApiRoutes = unencapsulated(async (app) => {
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  app.get('/openapi.json', { schema: ROUTE_SCHEMAS.openapi }, async (_req, reply) => {
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(buildOpenApi(routes)));
  });
});
