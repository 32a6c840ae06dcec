import { FILTER_OPS, OP_MEANING } from '../data/plan/filters.js';
import { DEFAULT_LIMIT, MAX_LIMIT } from '../data/plan/planner.js';
import { DEFAULT_REFRESHES_LIMIT, MAX_REFRESHES_LIMIT } from '../data/plan/refreshes.js';
import { MAX_EVENTS_TAIL, RETRY_MS } from '../events/frames.js';
import {
  ErrorResponseSchema,
  EventsGapSchema,
  EventsQuerySchema,
  GenerationServedSchema,
  HealthResponseSchema,
  jsonSchema,
  RefreshListQuerySchema,
  RefreshListResponseSchema,
  ViewListResponseSchema,
  ViewNameParamsSchema,
  ViewRowsQuerySchema,
  ViewRowsResponseSchema,
} from './schemas.js';

/**
 * The Fastify route schemas (JSON schema, generated from the zod schemas). /openapi.json is built
 * from these as registered on the routes.
 */

const error = (description: string) => ({ description, ...jsonSchema(ErrorResponseSchema) });

const freshnessHeaders = {
  ETag: { description: 'weak ETag of (generation, query); send it back in If-None-Match for a 304', schema: { type: 'string' } },
  'X-Lattice-Generation': { description: 'the generation the response was answered from', schema: { type: 'integer' } },
  'X-Lattice-Published-At': { description: 'when that generation was published', schema: { type: 'string' } },
  'X-Lattice-Materialized-At': { description: "when the view's rows were computed", schema: { type: 'string' } },
  'X-Lattice-Scan-Version': { description: 'upstream scan_version of the rows', schema: { type: 'integer' } },
  'X-Lattice-Timezone': { description: "the IANA zone the generation's days, weeks, months and hours were cut in", schema: { type: 'string' } },
  'X-Lattice-Age-Seconds': { description: 'seconds since materialized_at', schema: { type: 'number' } },
  'X-Request-Id': {
    description:
      "the request's id: the client's X-Request-Id when it sent a sane one (printable ASCII, at most 128 characters), generated otherwise; in the access log",
    schema: { type: 'string' },
  },
  'Server-Timing': {
    description: 'where the time went, in ms: plan, query (DuckDB), render, total; `cache;desc=hit|miss` for rows',
    schema: { type: 'string' },
  },
};

/** The filter syntax, from the operators' own table (plan/filters.ts). */
const FILTER_DESCRIPTION = [
  "`filter[col]=value` (exact match) or `filter[col][op]=value`, the value converted to the column's type (a value that does not convert is a 400 naming the type, with an example);",
  'several conditions are ANDed, also on one column. Operators:',
  FILTER_OPS.map((op) => `\`${op}\`: ${OP_MEANING[op]}`).join('; '),
  '. NULL cells match no comparison; ask for them with `isnull`.',
].join(' ');

const rowsQuery = {
  ...jsonSchema(ViewRowsQuerySchema, 'input'),
  // filter[col]=value and filter[col][op]=value; openapi.ts turns this into a deepObject `filter`.
  patternProperties: { '^filter\\[[^\\]]*\\](\\[[^\\]]*\\])?$': { type: 'string', description: FILTER_DESCRIPTION } },
  additionalProperties: false,
};

export const ROUTE_SCHEMAS = {
  healthz: {
    summary: 'Health of the read server, the served generation and the puller',
    description:
      "One verdict, shared with `session-lattice status` and the MCP `lattice_status` tool. `failing` (503): the data is older than stale-after-intervals refresh intervals, the puller's last 3 ticks failed, or the published snapshot cannot be opened; `starting` (503): nothing is published yet; `degraded` (200): served and current, but a tick failed, the puller is not running, a view failed to refresh, or a payload is held back; `ok` (200). `reasons` says why, one sentence each.",
    tags: ['health'],
    response: {
      200: { description: 'ok or degraded', ...jsonSchema(HealthResponseSchema) },
      503: { description: 'failing, or starting (no snapshot yet)', ...jsonSchema(HealthResponseSchema) },
    },
  },
  views: {
    summary: 'The view catalog',
    description: "Every view's name, description, refresh interval, freshness, row count and columns with types.",
    tags: ['views'],
    response: {
      200: { description: 'the catalog', headers: freshnessHeaders, ...jsonSchema(ViewListResponseSchema) },
      304: { description: 'not modified (If-None-Match matched the generation)', type: 'null' },
      503: error('no snapshot yet'),
    },
  },
  viewRows: {
    summary: "A view's rows",
    description: [
      `Rows a page at a time (limit default ${DEFAULT_LIMIT}, max ${MAX_LIMIT}), sorted by \`order_by\` (comma-separated columns,`,
      '`-col` for descending, NULLs last; the key columns break ties), filtered by `filter[col][op]=value` (see the `filter` parameter),',
      'with only the `columns` asked for (the key columns always come along), the total count (`count=none` skips it) and the freshness.',
      'A page with more rows after it carries `next` and `next_url` (JSON) and `Link: <...>; rel="next"` (every format); `after=<next>`',
      'resumes after the last row of the previous page by key, also in a newer generation; `offset` still works.',
      'JSON by default; NDJSON (`Accept: application/x-ndjson` or `?format=ndjson`) or CSV (`Accept: text/csv` or `?format=csv`),',
      'which carry freshness and total in `X-Lattice-*` headers. Large results stream.',
    ].join(' '),
    tags: ['views'],
    params: jsonSchema(ViewNameParamsSchema, 'input'),
    querystring: rowsQuery,
    response: {
      200: {
        description: 'rows',
        headers: {
          ...freshnessHeaders,
          'X-Lattice-Total': { description: 'rows matching the filters (absent with count=none)', schema: { type: 'integer' } },
          Link: { description: 'the next page: `<next_url>; rel="next"` (absent on the last page)', schema: { type: 'string' } },
        },
        content: {
          'application/json': { schema: jsonSchema(ViewRowsResponseSchema) },
          'application/x-ndjson': { schema: { type: 'string', description: 'one JSON object per row, per line' } },
          'text/csv': { schema: { type: 'string', description: 'a header line, then one line per row' } },
        },
      },
      304: { description: 'not modified (If-None-Match matched the generation and query)', type: 'null' },
      400: error(
        'a bad parameter (named in the message and `parameter`): an unknown column or operator, a value that does not convert, a cursor of another query',
      ),
      404: error('unknown view'),
      406: error('no acceptable format'),
      503: error('no snapshot yet, or the view is not materialized yet'),
    },
  },
  refreshes: {
    summary: 'The refresh history of the views',
    description: [
      "The puller's most recent materializations of each view (it keeps the last",
      `${MAX_REFRESHES_LIMIT}), most recent first: when each started and finished, how long it took, the rows it left, or why it failed.`,
      `\`view\` keeps one view's; \`limit\` bounds the list (default ${DEFAULT_REFRESHES_LIMIT}). Freshness is the catalog's, as in GET /views.`,
    ].join(' '),
    tags: ['views'],
    querystring: { ...jsonSchema(RefreshListQuerySchema, 'input'), additionalProperties: false },
    response: {
      200: { description: 'the refresh history', headers: freshnessHeaders, ...jsonSchema(RefreshListResponseSchema) },
      304: { description: 'not modified (If-None-Match matched the generation and query)', type: 'null' },
      400: error(
        `a bad parameter (named in the message and \`parameter\`): a limit that is not an integer 1..${MAX_REFRESHES_LIMIT}, an unknown or repeated parameter`,
      ),
      404: error('unknown view'),
      503: error('no snapshot yet'),
    },
  },
  events: {
    summary: "The puller's event log, live (Server-Sent Events)",
    description: [
      "A `text/event-stream` of what the puller did (src/shared/events.ts lists the types): `id: <id>`, `event: <type>`, `data: <the event's JSON line>`.",
      `The stream starts with \`retry: ${RETRY_MS}\` and \`id: <n>\`, the id it continues after, so that a client that reconnects before any event loses none.`,
      'Resumable: `Last-Event-ID` (as an EventSource sends it on reconnecting) or `last_event_id` sends every event after it that the log still holds, then follows live, with no gap and no repeat between the two;',
      'when events after it were rotated away (or the log started over) an `event: gap` with data `{"after": N, "resumed_at": M}` comes first.',
      `\`tail=N\` (0..${MAX_EVENTS_TAIL}) starts with the last N events. Without either, live only.`,
      '`event: generation_served` (no id) with data {generation, published_at}: this server switched to a new generation (what a page refreshes on).',
      'A comment `: heartbeat` every SESSION_LATTICE_EVENTS_HEARTBEAT_SECONDS. At most SESSION_LATTICE_MAX_EVENT_SUBSCRIBERS streams at once (then 503 too_many_subscribers); a client that stops reading is cut off.',
    ].join(' '),
    tags: ['events'],
    querystring: { ...jsonSchema(EventsQuerySchema, 'input'), additionalProperties: false },
    response: {
      200: {
        description: 'the event stream (until the client leaves or the server stops)',
        headers: {
          'Cache-Control': { description: 'no-store', schema: { type: 'string' } },
          'X-Accel-Buffering': { description: 'no: a proxy must not buffer the stream', schema: { type: 'string' } },
        },
        content: {
          'text/event-stream': {
            schema: {
              type: 'string',
              description: `frames: puller events (id, event, data), gap (data ${JSON.stringify(jsonSchema(EventsGapSchema))}), generation_served (data ${JSON.stringify(jsonSchema(GenerationServedSchema))}), heartbeat comments`,
            },
          },
        },
      },
      400: error(
        `a bad parameter (named in the message and \`parameter\`): a Last-Event-ID or last_event_id that is not a non-negative integer, a tail that is not an integer 0..${MAX_EVENTS_TAIL}, an unknown or repeated parameter`,
      ),
      503: error('too_many_subscribers: as many streams are open as allowed; retry later'),
    },
  },
  metrics: {
    summary: 'Metrics in Prometheus text format',
    description: [
      "The read server's figures and the puller's, for a Prometheus scrape (text format 0.0.4): requests by route pattern, method and status",
      '(`session_lattice_http_request_duration_seconds`), the response cache, the query slots, the generation served, the data age and the',
      "health verdict (as /healthz), Node's process metrics, and the puller's ticks, phases and errors (`session_lattice_puller_*`, from",
      'its metrics.json; `session_lattice_reads_puller_file_readable` is 0 when that file is missing or unusable). Never cached.',
    ].join(' '),
    tags: ['meta'],
    response: {
      200: {
        description: 'the metrics',
        content: { 'text/plain; version=0.0.4; charset=utf-8': { schema: { type: 'string', description: 'Prometheus text exposition format 0.0.4' } } },
      },
    },
  },
  openapi: {
    summary: 'This document',
    tags: ['meta'],
    response: { 200: { description: 'OpenAPI 3.1', type: 'object' } },
  },
} as const;
