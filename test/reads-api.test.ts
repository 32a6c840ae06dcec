import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { PullerStatus } from '../src/shared/status.js';
import type { ReadsServer } from '../src/reads/http/server.js';
import type * as Api from '../src/reads/contract/api-types.js';
import * as S from '../src/reads/contract/schemas.js';
import { startPulledServer, type PulledServer } from './reads/fixtures.js';

vi.mock('../src/shared/version.js', async (original) => ({ ...(await original<object>()), VERSION: '0.0.0-test' }));

/**
 * The published TypeScript declarations (api-types.ts), the route schemas (schemas.ts) and the
 * OpenAPI document cannot drift apart:
 * - at compile time (this file is part of `npm run build`), each declared type is identical to
 *   the type inferred from its schema;
 * - at run time, /openapi.json describes every route, and real responses validate against the
 *   schemas it publishes.
 */

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const typeChecks: [
  Equal<Api.ErrorResponse, z.output<typeof S.ErrorResponseSchema>>,
  Equal<Api.Freshness, z.output<typeof S.FreshnessSchema>>,
  Equal<Api.Column, z.output<typeof S.ColumnSchema>>,
  Equal<Api.CatalogColumn, z.output<typeof S.CatalogColumnSchema>>,
  Equal<Api.ViewSummary, z.output<typeof S.ViewSummarySchema>>,
  Equal<Api.ViewListResponse, z.output<typeof S.ViewListResponseSchema>>,
  Mutual<Api.ViewDescription, z.output<typeof S.ViewDescriptionSchema>>,
  Equal<Api.AppliedFilter, z.output<typeof S.AppliedFilterSchema>>,
  Equal<Api.FilterOp, z.output<typeof S.FilterOpSchema>>,
  Equal<Api.ViewRowsResponse, z.output<typeof S.ViewRowsResponseSchema>>,
  Equal<Api.PullerStatusReport, z.output<typeof S.PullerStatusReportSchema>>,
  Equal<Api.HealthResponse, z.output<typeof S.HealthResponseSchema>>,
  Equal<Api.Refresh, z.output<typeof S.RefreshSchema>>,
  Equal<Api.RefreshListResponse, z.output<typeof S.RefreshListResponseSchema>>,
  Mutual<Api.RefreshListQuery, z.input<typeof S.RefreshListQuerySchema>>,
  // The puller's status document as reported: status.json plus `running`.
  Mutual<Omit<Api.PullerStatusReport, 'running'>, PullerStatus>,
  Mutual<Omit<Api.ViewRowsQuery, `filter[${string}]`>, z.input<typeof S.ViewRowsQuerySchema>>,
  Mutual<Api.EventsQuery, z.input<typeof S.EventsQuerySchema>>,
  Equal<Api.EventsGap, z.output<typeof S.EventsGapSchema>>,
  Equal<Api.GenerationServed, z.output<typeof S.GenerationServedSchema>>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true];

let pulled: PulledServer;
let server: ReadsServer;

beforeAll(async () => {
  pulled = await startPulledServer('lattice-reads-api-', 150);
  ({ server } = pulled);
});

afterAll(async () => {
  await pulled?.close();
});

interface OpenApi {
  openapi: string;
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }>; parameters?: Array<{ name: string; in: string }> }>
  >;
}

describe('API declarations, schemas and OpenAPI', () => {
  it('type checks compile (see the tuple above)', () => {
    expect(typeChecks.every(Boolean)).toBe(true);
  });

  it('/openapi.json describes every GET route with its parameters', async () => {
    const doc = (await server.app.inject('/openapi.json')).json() as OpenApi;
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(['/events', '/healthz', '/metrics', '/openapi.json', '/refreshes', '/views', '/views/{name}']);
    const rows = doc.paths['/views/{name}']!.get!;
    expect(rows.parameters!.map((p) => `${p.in}:${p.name}`).sort()).toEqual(
      ['path:name', 'query:after', 'query:columns', 'query:count', 'query:filter', 'query:format', 'query:limit', 'query:offset', 'query:order_by'].sort(),
    );
    expect(Object.keys(rows.responses).sort()).toEqual(['200', '304', '400', '404', '406', '503']);
    const refreshes = doc.paths['/refreshes']!.get!;
    expect(refreshes.parameters!.map((p) => `${p.in}:${p.name}`).sort()).toEqual(['query:limit', 'query:view']);
    expect(Object.keys(refreshes.responses).sort()).toEqual(['200', '304', '400', '404', '503']);
    const events = doc.paths['/events']!.get!;
    expect(events.parameters!.map((p) => `${p.in}:${p.name}`).sort()).toEqual(['query:last_event_id', 'query:tail']);
    expect(Object.keys(events.responses).sort()).toEqual(['200', '400', '503']);
    expect(Object.keys(events.responses['200']!.content!)).toEqual(['text/event-stream']);
  });

  it('real responses validate against the schemas /openapi.json publishes', async () => {
    const doc = (await server.app.inject('/openapi.json')).json() as OpenApi;
    const check = async (url: string, path: string, headers: Record<string, string> = {}) => {
      const res = await server.app.inject({ method: 'GET', url, headers });
      const schema = doc.paths[path]!.get!.responses[String(res.statusCode)]!.content!['application/json']!.schema;
      const validator = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
      const parsed = validator.safeParse(res.json());
      expect(parsed.success, `${url} ${res.statusCode}: ${JSON.stringify(parsed.error?.issues ?? [])}`).toBe(true);
      return res.json() as unknown;
    };
    await check('/healthz', '/healthz');
    await check('/views', '/views');
    await check('/views/tool_sessions?limit=3&order_by=-session_count&filter[session_ids]=3', '/views/{name}');
    await check('/views/tool_sessions?limit=-1', '/views/{name}');
    await check('/views/nope', '/views/{name}');
    await check('/views/tool_sessions', '/views/{name}', { accept: 'image/png' });
    await check('/refreshes', '/refreshes');
    await check('/refreshes?view=tool_sessions&limit=2', '/refreshes');
    await check('/refreshes?limit=0', '/refreshes');
    await check('/refreshes?view=nope', '/refreshes');
    await check('/events?tail=x', '/events');
    // And with the zod schemas directly (the source of both).
    S.ViewRowsResponseSchema.parse((await server.app.inject('/views/tool_sessions')).json());
    S.ViewListResponseSchema.parse((await server.app.inject('/views')).json());
    S.HealthResponseSchema.parse((await server.app.inject('/healthz')).json());
    S.RefreshListResponseSchema.parse((await server.app.inject('/refreshes')).json());
  });

  it('a schema that stops matching the responses is caught (the check has teeth)', async () => {
    const strict = S.ViewRowsResponseSchema.extend({ extra: z.string() });
    expect(strict.safeParse((await server.app.inject('/views/tool_sessions')).json()).success).toBe(false);
  });
});
