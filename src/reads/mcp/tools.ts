import { McpServer, type CallToolResult } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { Logger } from '../../shared/logger.js';
import type { ErrorCodeName } from '../../shared/error-registry.js';
import { errorMessage, LatticeError } from '../../shared/errors.js';
import { VERSION } from '../../shared/version.js';
import { ReadsError } from '../contract/errors.js';
import { MAX_CURSOR_LENGTH } from '../data/plan/cursor.js';
import { FILTER_OPS } from '../data/plan/filters.js';
import { DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET } from '../data/plan/planner.js';
import {
  ColumnSchema,
  FilterSpecSchema,
  FreshnessSchema,
  HealthResponseSchema,
  PullerStatusReportSchema,
  ViewDescriptionSchema,
  ViewListResponseSchema,
  ViewRowsResponseSchema,
} from '../contract/schemas.js';
import type { ReadsService } from '../data/service.js';
import { keepRecordKeys } from './own-keys.js';
import { DEFAULT_MAX_ROWS, DEFAULT_TIMEOUT_SECONDS, MAX_MAX_ROWS, MAX_SQL_LENGTH, MAX_TIMEOUT_SECONDS, type SqlSandbox } from './sql.js';

/**
 * The MCP tools: the read service for agents. Each tool has a zod input schema and output schema
 * (the output schemas are the HTTP API's own, from schemas.ts, so the two surfaces cannot drift),
 * returns its result both as `structuredContent` and as JSON text (some clients read only the
 * text), and turns every failure into a tool error (`isError: true`) whose message says what to
 * do next.
 */

const SERVER_NAME = 'session-lattice';

const INSTRUCTIONS = `session-lattice serves materialized views over Claude Code sessions (pulled from repo-recall: sessions, their repos, tools, models, tokens, stop reasons, per-day activity). It is read-only.
Start with list_views (the catalog), then read_view to page through a view's rows with filters and sorting. Use query (read-only DuckDB SQL) only for questions no view answers. lattice_status says whether the data is current.
Every answer carries freshness: the snapshot generation, when it was published/materialized, and its age in seconds.`;

const READ_ONLY = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

/** The puller's status as reported by lattice_status: the same fields as /healthz, but an older or newer puller's extra or missing fields do not fail the tool. */
const LatticeStatusSchema = HealthResponseSchema.extend({
  puller: PullerStatusReportSchema.partial().loose().nullable(),
});

const QueryOutputSchema = z.object({
  columns: z.array(ColumnSchema).describe('the result columns, in order, with their DuckDB types'),
  rows: z.array(z.record(z.string(), z.unknown())).describe('one object per row, keyed by column name (duplicate names get a _1, _2... suffix)'),
  row_count: z.number().int().min(0),
  truncated: z.boolean().describe('true when the query had more rows than max_rows (or more than 8 MB of JSON): rows holds the first ones'),
  truncated_reason: z.enum(['max_rows', 'max_bytes']).nullable(),
  max_rows: z.number().int(),
  elapsed_ms: z.number(),
  freshness: FreshnessSchema,
});

function ok(result: object): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(result) }], structuredContent: result as Record<string, unknown> };
}

/**
 * A tool error: the message as text (what an agent reads) and, for a program, the registry's code
 * beside it in `structuredContent` (the SDK checks a tool's output schema only when it succeeded).
 */
interface ToolErrorContent {
  code: ErrorCodeName;
  message: string;
  /** For `bad_parameter`: the argument at fault. */
  parameter?: string;
}

function toolError(code: ErrorCodeName, message: string, parameter?: string): CallToolResult {
  const error: ToolErrorContent = parameter === undefined ? { code, message } : { code, message, parameter };
  return { isError: true, content: [{ type: 'text', text: message }], structuredContent: { ...error } };
}

export interface LatticeMcpOptions {
  service: ReadsService;
  sandbox: SqlSandbox;
  logger?: Logger;
}

/** Runs a tool body, mapping every failure to a tool error with an actionable message. */
async function guarded(tool: string, opts: LatticeMcpOptions, fn: () => Promise<object> | object): Promise<CallToolResult> {
  const { service, logger } = opts;
  try {
    return ok(await fn());
  } catch (err) {
    if (err instanceof ReadsError) {
      if (err.code === 'timeout' && tool === 'query') {
        return toolError(
          err.code,
          `${err.message}; narrow the query (filter early, aggregate, avoid cross joins) or raise timeout_seconds (at most ${MAX_TIMEOUT_SECONDS})`,
        );
      }
      if (err.code === 'no_snapshot' || err.code === 'snapshot_unavailable') {
        return toolError(err.code, `${service.messageOf(err)}. lattice_status shows the puller's state.`);
      }
      return toolError(err.code, err.message, err.parameter);
    }
    if (err instanceof LatticeError) return toolError(err.code, err.message);
    logger?.error({ err, tool }, 'MCP tool failed');
    return toolError('internal', `internal error in ${tool}: ${errorMessage(err)}`);
  }
}

/** A fresh MCP server with the lattice tools (one per HTTP request: the endpoint is stateless). */
export function createLatticeMcpServer(opts: LatticeMcpOptions): McpServer {
  const { service, sandbox } = opts;
  const server = new McpServer({ name: SERVER_NAME, version: VERSION }, { instructions: INSTRUCTIONS });

  server.registerTool(
    'list_views',
    {
      title: 'List the views',
      description:
        "The catalog of materialized views over Claude Code sessions: for each view its name, what it answers, its columns and types, key columns, refresh interval, row count, when it was last materialized and its last refresh error (a view that failed keeps serving its previous rows, and is `stale: true`, as is every view reading it: their rows are from an earlier load than the other views', so do not combine them with those). Most views are inverted indexes, e.g. tool name -> the sessions that used it. Start here, then call read_view (or describe_view for one view). `freshness` says which snapshot answered and how old it is (materialized_at is the oldest view's).",
      inputSchema: z.object({}),
      outputSchema: ViewListResponseSchema,
      annotations: { title: 'List the views', ...READ_ONLY },
    },
    async () => guarded('list_views', opts, () => service.listViews()),
  );

  server.registerTool(
    'describe_view',
    {
      title: 'Describe one view',
      description:
        "One view of the catalog: its description, columns with DuckDB types (BIGINT values are JSON numbers, lists are JSON arrays), key columns (a row's identity and the default sort order), refresh interval, row count, materialized_at, last refresh error, and freshness. Use it before read_view to learn which columns you can filter and sort on.",
      inputSchema: z.object({
        view: z.string().min(1).max(200).describe('a view name, as listed by list_views (e.g. "tool_sessions")'),
      }),
      outputSchema: ViewDescriptionSchema,
      annotations: { title: 'Describe one view', ...READ_ONLY },
    },
    async ({ view }) => guarded('describe_view', opts, () => service.describeView(view)),
  );

  server.registerTool(
    'read_view',
    {
      title: 'Read rows of a view',
      description: `Rows of one view, a page at a time, with the same rules as GET /views/{name} of the HTTP API. Filters by column: a value is an exact match ({"tool_name": "Bash"}; null matches NULL; on a list column such as session_ids, "the list contains it"), or an object of operators, ANDed: {"day": {"gte": "2026-11-01", "lt": "2026-12-01"}}, {"cost_usd": {"gt": 5}}, {"tool_name": {"prefix": "mcp__"}}, {"cwd": {"contains": "api"}}, {"tool_name": {"in": ["Bash", "Read"]}}, {"ended_at": {"isnull": true}}. Operators: ${FILTER_OPS.join(', ')}; values convert to the column's type (integers, numbers, true/false, ISO-8601 dates, timestamps with an offset or Z, converted to UTC). Choose columns with columns (the key columns always come back). Sort with order_by ("col" ascending, "-col" descending; NULLs last); the key columns break ties. Page with after: pass the previous answer's next (a cursor bound to this view, order_by and filters) until next is null; it resumes by key, also across snapshots. total counts the matching rows over all pages; count: "none" skips it (faster). Page size: limit 0..${MAX_LIMIT}, default ${DEFAULT_LIMIT}. An unknown view, column or operator is an error that lists the valid ones.`,
      // A filter named `__proto__` must reach the planner (an unknown column), not vanish in zod.
      inputSchema: keepRecordKeys(
        z.object({
          view: z.string().min(1).max(200).describe('a view name, as listed by list_views'),
          limit: z.number().int().min(0).max(MAX_LIMIT).optional().describe(`rows per page, 0..${MAX_LIMIT}; default ${DEFAULT_LIMIT} (0 returns only total)`),
          offset: z.number().int().min(0).max(MAX_OFFSET).optional().describe('matching rows to skip; default 0; not with after'),
          order_by: z
            .union([z.string().max(10_000), z.array(z.string().max(200)).max(200)])
            .optional()
            .describe('sort terms: "-session_count,tool_name" or ["-session_count", "tool_name"]; "-" means descending'),
          filters: z
            .record(z.string().max(200), FilterSpecSchema)
            .optional()
            .describe(
              'filters by column: {"tool_name": "Bash"} (exact), {"session_ids": 42} (list contains 42), {"day": {"gte": "2026-11-01", "lt": "2026-12-01"}} (operators)',
            ),
          columns: z
            .union([z.string().max(10_000), z.array(z.string().max(200)).max(200)])
            .optional()
            .describe('the columns to return, e.g. ["tool_name", "session_count"]; the key columns always come back'),
          after: z.string().max(MAX_CURSOR_LENGTH).optional().describe('the next cursor of the previous page'),
          count: z.enum(['exact', 'none']).optional().describe('"none" skips counting the matching rows (total is null)'),
        }),
        ['filters'],
      ),
      outputSchema: ViewRowsResponseSchema,
      annotations: { title: 'Read rows of a view', ...READ_ONLY },
    },
    async ({ view, limit, offset, order_by, filters, columns, after, count }) =>
      guarded('read_view', opts, () => service.readView(view, { limit, offset, order_by, filters, columns, after, count })),
  );

  server.registerTool(
    'lattice_status',
    {
      title: 'Service status',
      description:
        "Whether the data is current: status ok; degraded (served and current, but a tick failed, the puller is not running, a view failed to refresh or a payload is held back); failing (the data is older than a few refresh intervals, the puller's last 3 ticks failed, or the snapshot cannot be opened); or starting (no snapshot yet), with the reasons in words; the generation being served, when it was published, its age in seconds, the upstream scan_version and session count; stale_views (the views whose last refresh failed: their rows are from an earlier load than the others'); and the puller's own status (state, last tick start/finish/outcome, last success, last error, consecutive failures, next tick due). The same as GET /healthz. Works before the first snapshot exists.",
      inputSchema: z.object({}),
      outputSchema: LatticeStatusSchema,
      annotations: { title: 'Service status', ...READ_ONLY },
    },
    async () => guarded('lattice_status', opts, () => service.health()),
  );

  server.registerTool(
    'query',
    {
      title: 'Read-only SQL over the snapshot',
      description: `Runs one read-only DuckDB SQL SELECT over the snapshot being served, for questions the views do not answer (prefer list_views/read_view when a view fits: they are faster and documented). Tables: main.<view> (one per view of list_views), base.sessions (one row per session: session_id, session_uuid, cwd, started_at/ended_at as UTC TIMESTAMPs, message counts, duration_ms, token counts, models_used and tools_used as lists...), base.session_repos (session_id, repo_id, repo_name, repo_path), base.tool_calls (session_id, tool_name, calls, errors), base.stop_reasons (session_id, stop_reason, count), base.session_models (session_id, model), and lattice.meta / lattice.views (the snapshot's identity and view states). See every table and column with: SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns ORDER BY ALL.
Only a single SELECT is accepted (WITH ... SELECT, FROM ..., VALUES, DESCRIBE, SUMMARIZE, SHOW count as SELECTs); anything else (several statements, COPY, ATTACH, INSTALL/LOAD, SET/RESET, PRAGMA, CALL, CREATE/INSERT/UPDATE/DELETE/DROP, EXPORT) is refused with the reason, and files, URLs and extensions are out of reach. The query runs in a separate worker process: it is stopped after timeout_seconds (default ${DEFAULT_TIMEOUT_SECONDS}, at most ${MAX_TIMEOUT_SECONDS}) and when it needs more memory than the worker's cap (the error says which; narrow the query: filter early, aggregate, avoid huge lists and strings). The result is capped at max_rows rows (default ${DEFAULT_MAX_ROWS}, at most ${MAX_MAX_ROWS}; truncated: true says there were more). Values come back as JSON: integers as numbers, and beyond 2^53 (BIGINT, HUGEINT) as strings of their exact digits; timestamps and intervals as text, lists as arrays, structs and maps as objects, NaN/Infinity as null. Paths inside the service's own home directory are shown relative to it.`,
      inputSchema: z.object({
        sql: z
          .string()
          .min(1)
          .max(MAX_SQL_LENGTH)
          .describe(`one DuckDB SELECT statement, e.g. "SELECT count(*) AS n FROM base.sessions WHERE started_at >= TIMESTAMP '2026-01-01'"`),
        max_rows: z.number().int().min(1).max(MAX_MAX_ROWS).optional().describe(`rows to return at most; default ${DEFAULT_MAX_ROWS}`),
        timeout_seconds: z
          .number()
          .gt(0)
          .max(MAX_TIMEOUT_SECONDS)
          .optional()
          .describe(`seconds before the query is stopped; default ${DEFAULT_TIMEOUT_SECONDS}`),
      }),
      outputSchema: QueryOutputSchema,
      annotations: { title: 'Read-only SQL over the snapshot', ...READ_ONLY },
    },
    async ({ sql, max_rows, timeout_seconds }) => guarded('query', opts, () => sandbox.run({ sql, maxRows: max_rows, timeoutSeconds: timeout_seconds })),
  );

  return server;
}
