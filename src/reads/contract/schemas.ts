import { z } from 'zod';
import { HEALTH_VERDICTS } from '../../shared/health.js';
import { isoTime, PullerStatusSchema } from '../../shared/status.js';
import { ERROR_CODE_NAMES } from './error-codes.js';
import { MAX_EVENTS_TAIL } from '../events/frames.js';
import { MAX_CURSOR_LENGTH } from '../data/plan/cursor.js';
import { FILTER_OPS, MAX_IN_VALUES, OP_MEANING } from '../data/plan/filters.js';
import { DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET } from '../data/plan/planner.js';
import { DEFAULT_REFRESHES_LIMIT, MAX_REFRESHES_LIMIT } from '../data/plan/refreshes.js';

/**
 * The route schemas, in zod: the Fastify routes carry their JSON-schema form, /openapi.json is
 * generated from the routes, and api-types.ts (the declarations for consumers) is checked against
 * the types inferred here (test/reads-api.test.ts).
 *
 * Fastify does not validate or serialize with them (the server sets no-op compilers): parameters
 * are validated by the service layer, so HTTP and MCP share one set of rules and messages, and
 * bodies are rendered by DuckDB and cached as bytes.
 */

/** The codes of the one registry (error-codes.ts). */
export const ErrorCodeSchema = z.enum(ERROR_CODE_NAMES);

export const ErrorResponseSchema = z.object({
  error: z.object({
    code: ErrorCodeSchema,
    message: z.string(),
    parameter: z.string().optional(),
  }),
});

export const FreshnessSchema = z.object({
  generation: z.number().int(),
  published_at: isoTime,
  materialized_at: isoTime.nullable(),
  scan_version: z.number().int().nullable(),
  timezone: z.string().nullable().describe('the IANA zone the calendar views were computed in'),
  age_seconds: z.number().min(0),
});

export const ColumnSchema = z.object({ name: z.string(), type: z.string() });

export const CatalogColumnSchema = ColumnSchema.extend({
  operators: z.array(z.enum(FILTER_OPS)).describe('the filter operators this column takes (filter[col][op]); the others are refused'),
});

export const ViewSummarySchema = z.object({
  name: z.string(),
  description: z.string(),
  refresh_interval_seconds: z.number(),
  key_columns: z.array(z.string()),
  materialized_at: isoTime.nullable(),
  row_count: z.number().int().nullable(),
  scan_version: z.number().int().nullable(),
  last_error: z.string().nullable(),
  last_error_at: isoTime.nullable(),
  stale: z
    .boolean()
    .describe(
      "true when the last refresh failed (the view's own SQL, or a view it reads): its rows, if any, are from an earlier load than the views that refreshed",
    ),
  columns: z.array(CatalogColumnSchema),
});

export const ViewListResponseSchema = z.object({
  freshness: FreshnessSchema,
  views: z.array(ViewSummarySchema),
});

export const ViewDescriptionSchema = ViewSummarySchema.extend({ freshness: FreshnessSchema });

export const FilterOpSchema = z.enum(FILTER_OPS).describe(FILTER_OPS.map((op) => `${op}: ${OP_MEANING[op]}`).join('; '));

const ScalarSchema = z.union([z.string(), z.number(), z.boolean()]);

export const AppliedFilterSchema = z.object({
  column: z.string(),
  op: FilterOpSchema,
  value: z.union([ScalarSchema, z.array(ScalarSchema)]).describe("the value converted to the column's type (a list for in; true/false for isnull)"),
});

/** A filter of MCP read_view: a value (exact match; null matches NULL) or operators with their values. */
export const FilterSpecSchema = z.union([
  ScalarSchema,
  z.null(),
  z.record(z.string().max(40), z.union([ScalarSchema, z.array(ScalarSchema).max(MAX_IN_VALUES)])),
]);

export const ViewRowsResponseSchema = z.object({
  view: z.string(),
  freshness: FreshnessSchema,
  total: z.number().int().min(0).nullable().describe('rows matching the filters over all pages; null with count=none'),
  limit: z.number().int().min(0).max(MAX_LIMIT),
  offset: z.number().int().min(0),
  order_by: z.array(z.string()).describe('the sort as given (`col` / `-col`); the key columns break ties'),
  filters: z.array(AppliedFilterSchema).describe("the conditions as applied (ANDed), values converted to the columns' types"),
  columns: z.array(ColumnSchema).describe('the columns of the rows, in order'),
  next: z.string().nullable().describe('the cursor of the next page (pass it as `after`); null on the last page'),
  next_url: z.string().nullable().describe('the next page of this query, relative to the server; also sent as `Link: <...>; rel="next"`'),
  rows: z.array(z.record(z.string(), z.unknown())),
});

export const ViewRowsQuerySchema = z.object({
  limit: z.number().int().min(0).max(MAX_LIMIT).optional().describe(`rows per page, 0..${MAX_LIMIT}, default ${DEFAULT_LIMIT}`),
  offset: z.number().int().min(0).max(MAX_OFFSET).optional().describe('rows to skip, default 0'),
  order_by: z.string().optional().describe('comma-separated columns, `-col` for descending, e.g. `-session_count,tool_name`; the key columns break ties'),
  columns: z.string().optional().describe('comma-separated columns to return, in that order; the key columns are always returned'),
  after: z
    .string()
    .max(MAX_CURSOR_LENGTH)
    .optional()
    .describe(
      'a cursor (`next` of the previous page): resume after its last row, in the same order, without OFFSET scanning; bound to the view, order_by and filters; not with offset',
    ),
  count: z.enum(['exact', 'none']).optional().describe('`none` skips counting the matching rows (total is null, faster); default exact'),
  format: z.enum(['json', 'ndjson', 'csv']).optional().describe('response format; overrides the Accept header'),
});

export const ViewNameParamsSchema = z.object({
  name: z.string().describe('a view name from GET /views'),
});

export const RefreshSchema = z.object({
  view: z.string(),
  started_at: isoTime,
  finished_at: isoTime,
  duration_ms: z.number().describe('finished_at - started_at, in milliseconds'),
  row_count: z.number().int().nullable().describe('rows the view had after this refresh; null when it failed'),
  error: z.string().nullable().describe('why the refresh failed (the view kept its previous rows); null when it succeeded'),
});

export const RefreshListResponseSchema = z.object({
  freshness: FreshnessSchema,
  refreshes: z.array(RefreshSchema).describe('most recent first'),
});

export const RefreshListQuerySchema = z.object({
  view: z.string().optional().describe('only this view (a name from GET /views)'),
  limit: z
    .number()
    .int()
    .min(1)
    .max(MAX_REFRESHES_LIMIT)
    .optional()
    .describe(`at most this many, 1..${MAX_REFRESHES_LIMIT}, default ${DEFAULT_REFRESHES_LIMIT}`),
});

export const EventsQuerySchema = z.object({
  last_event_id: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('resume after this event id (what an EventSource cannot send as Last-Event-ID on its first connection); the Last-Event-ID header wins'),
  tail: z.number().int().min(0).max(MAX_EVENTS_TAIL).optional().describe(`start with the last N events, 0..${MAX_EVENTS_TAIL}, for a client without an id`),
});

export const EventsGapSchema = z.object({
  after: z.number().int().describe('the id the client asked to resume after'),
  resumed_at: z.number().int().describe('the first id the log still holds, where the replay starts'),
});

export const GenerationServedSchema = z.object({
  generation: z.number().int(),
  published_at: isoTime,
});

/** status.json as the puller wrote it (its schema is the contract, in src/shared/status.ts), plus liveness. */
export const PullerStatusReportSchema = PullerStatusSchema.extend({
  running: z.boolean(),
});

export const HealthResponseSchema = z.object({
  status: z.enum(HEALTH_VERDICTS),
  reasons: z.array(z.string()),
  version: z.string(),
  generation: z.number().int().nullable(),
  published_at: isoTime.nullable(),
  scan_version: z.number().int().nullable(),
  session_count: z.number().int().nullable(),
  timezone: z.string().nullable(),
  age_seconds: z.number().nullable(),
  stale_after_seconds: z.number(),
  stale_views: z.array(z.string()).describe('the views of the served generation whose rows are stale (see /views: stale)'),
  puller: PullerStatusReportSchema.nullable(),
});

/** A zod schema as a plain JSON schema (draft 2020-12, which OpenAPI 3.1 uses), without `$schema`. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}
