/**
 * TypeScript declarations of the read API (HTTP on 127.0.0.1:7778), for consumers.
 *
 * These are plain types with no runtime dependency. They are kept in step with the route schemas
 * (src/reads/contract/schemas.ts, which /openapi.json is generated from) by test/reads-api.test.ts: a
 * compile-time equality check against the schemas' inferred types, and a run-time check of real
 * responses against the published OpenAPI document.
 */
import type { HealthVerdict } from '../../shared/health.js';
import type { PullerStatus } from '../../shared/status.js';

/**
 * The error body (`ErrorResponse`) and its codes (`ErrorCode`), each with its HTTP status and
 * meaning, are declared with the registry's read-API view, src/reads/contract/error-codes.ts (a
 * type-only re-export: this file stays free of run-time dependencies).
 */
export type { ErrorCode, ErrorResponse } from './error-codes.js';

/** How fresh the data of a response is. Also sent as `X-Lattice-*` headers (NDJSON and CSV have no envelope). */
export interface Freshness {
  /** The published generation the response was answered from (monotonic). */
  generation: number;
  /** When that generation was published (ISO-8601 UTC). */
  published_at: string;
  /** When the view's rows were computed (ISO-8601 UTC); for the catalog, the oldest view's. */
  materialized_at: string | null;
  /** The upstream (repo-recall) scan_version the rows were computed from. */
  scan_version: number | null;
  /**
   * The IANA zone (e.g. `America/Los_Angeles`) the generation's days, weeks, months and hours were
   * computed in (SESSION_LATTICE_TIMEZONE of the puller); null for a generation from before zones.
   */
  timezone: string | null;
  /** Seconds since `materialized_at` (or `published_at` when null), at the time of the response. */
  age_seconds: number;
}

export interface Column {
  name: string;
  /** DuckDB type, e.g. `VARCHAR`, `BIGINT`, `BIGINT[]`. BIGINTs are JSON numbers; lists are JSON arrays. */
  type: string;
}

/** A column in the catalog, with the filter operators its type takes. */
export interface CatalogColumn extends Column {
  /** The operators `filter[col][op]` accepts on this column; any other is a 400. */
  operators: FilterOp[];
}

export interface ViewSummary {
  name: string;
  description: string;
  refresh_interval_seconds: number;
  /** Columns that identify a row; the default sort order and the pagination tie-breaker. */
  key_columns: string[];
  materialized_at: string | null;
  row_count: number | null;
  scan_version: number | null;
  /** The last refresh error; the view then still serves its previous rows. */
  last_error: string | null;
  last_error_at: string | null;
  /**
   * The last refresh failed (the view's own SQL, or a view it reads), so its rows, if any, are
   * from an earlier load than those of the views that refreshed: do not join them with those.
   */
  stale: boolean;
  columns: CatalogColumn[];
}

/** `GET /views` */
export interface ViewListResponse {
  freshness: Freshness;
  views: ViewSummary[];
}

/** One view with its freshness (the MCP `describe_view` tool). */
export interface ViewDescription extends ViewSummary {
  freshness: Freshness;
}

/**
 * A filter operator. On a list column, `eq` / `contains` mean "the list contains the value", `ne`
 * "does not contain it", `in` "contains any of them". NULL cells match no comparison; use `isnull`.
 */
export type FilterOp = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'in' | 'prefix' | 'contains' | 'isnull';

/** A condition of a rows answer, as applied. */
export interface AppliedFilter {
  column: string;
  op: FilterOp;
  /** Converted to the column's type (integers beyond 2^53 stay strings); a list for `in`; true/false for `isnull`. */
  value: string | number | boolean | Array<string | number | boolean>;
}

/** `GET /views/{name}` (JSON). */
export interface ViewRowsResponse {
  view: string;
  freshness: Freshness;
  /** Rows matching the filters, over all pages; null with `count=none`. */
  total: number | null;
  limit: number;
  offset: number;
  /** The sort terms as applied (`col` / `-col`); the key columns break ties. */
  order_by: string[];
  /** The conditions as applied (ANDed). */
  filters: AppliedFilter[];
  /** The columns of the rows, in order (those chosen with `columns`, and the key columns). */
  columns: Column[];
  /** The cursor of the next page (pass it as `after`); null on the last page. */
  next: string | null;
  /** The next page of this query, relative to the server (also `Link: <...>; rel="next"`); null on the last page. */
  next_url: string | null;
  rows: Array<Record<string, unknown>>;
}

/** The query string of `GET /views/{name}`. */
export interface ViewRowsQuery {
  /** 0..10000, default 100. */
  limit?: number;
  /** Default 0. Not with `after`. */
  offset?: number;
  /** Comma-separated columns; `-col` sorts descending. */
  order_by?: string;
  /** Comma-separated columns to return; the key columns are always returned. */
  columns?: string;
  /** The `next` cursor of the previous page: resume after its last row (bound to the view, order_by and filters). */
  after?: string;
  /** `none` skips the count (`total` is null). Default `exact`. */
  count?: 'exact' | 'none';
  /** Overrides the Accept header. */
  format?: 'json' | 'ndjson' | 'csv';
  /** `filter[col]=value` (exact match) or `filter[col][op]=value`, op one of FilterOp; `in` takes a comma-separated list. */
  [filter: `filter[${string}]` | `filter[${string}][${FilterOp}]`]: string | undefined;
}

/** One materialization attempt of a view, from the puller's refresh log. */
export interface Refresh {
  view: string;
  /** ISO-8601 UTC, with milliseconds. */
  started_at: string;
  finished_at: string;
  /** `finished_at - started_at`, in milliseconds. */
  duration_ms: number;
  /** Rows the view had after this refresh; null when it failed. */
  row_count: number | null;
  /** Why the refresh failed (the view kept its previous rows); null when it succeeded. */
  error: string | null;
}

/** `GET /refreshes`: the refresh history of the served generation, most recent first. */
export interface RefreshListResponse {
  /** The catalog's freshness, as `GET /views` gives it. */
  freshness: Freshness;
  refreshes: Refresh[];
}

/** The query string of `GET /refreshes`. */
export interface RefreshListQuery {
  /** Only this view (a name from `GET /views`). */
  view?: string;
  /** 1..1000, default 100. */
  limit?: number;
}

/** The puller's status.json (see src/shared/status.ts) as reported by `/healthz`, plus whether its process is alive. */
export interface PullerStatusReport extends PullerStatus {
  /** The process named by `pid` is running. */
  running: boolean;
}

/**
 * `GET /healthz` (200 when ok or degraded, 503 when failing or starting), the MCP `lattice_status`
 * tool and the web UI: the one verdict of src/shared/health.ts.
 */
export interface HealthResponse {
  /**
   * `failing`: the data is stale, the puller's last 3 ticks failed, or the snapshot cannot be
   * opened; `starting`: nothing published yet; `degraded`: served and current, but see `reasons`.
   */
  status: HealthVerdict;
  /** Why the status is not `ok`: failing ones first, one sentence each. */
  reasons: string[];
  version: string;
  generation: number | null;
  published_at: string | null;
  scan_version: number | null;
  session_count: number | null;
  /** The zone the served generation's calendar views were computed in (see Freshness). */
  timezone: string | null;
  /** Seconds since the data was last known current: the puller's last successful tick, or the publish. */
  age_seconds: number | null;
  /** age_seconds above which the data is stale (stale-after-intervals times the refresh interval). */
  stale_after_seconds: number;
  /** The served generation's views whose rows are stale (`ViewSummary.stale`), by name; empty when none is. */
  stale_views: string[];
  puller: PullerStatusReport | null;
}

/**
 * The query string of `GET /events` (Server-Sent Events). `Last-Event-ID` (the header, as an
 * EventSource sends it when it reconnects) wins over `last_event_id`, which wins over `tail`.
 */
export interface EventsQuery {
  /** Resume: every event after this id that the log still holds, then live. */
  last_event_id?: number;
  /** Start with the last N events (0..1000); without it (and without an id), live only. */
  tail?: number;
}

/**
 * `event: gap`: the stream cannot resume right after the client's id. The events in between were
 * rotated out of the log, or (when `resumed_at` is not above `after`) the log started over.
 */
export interface EventsGap {
  /** The id the client asked to resume after. */
  after: number;
  /** The first id the log still holds, where the replay starts. */
  resumed_at: number;
}

/** `event: generation_served`: the reads server now answers from this generation (refresh a page on it). */
export interface GenerationServed {
  generation: number;
  /** When the puller published it (ISO-8601 UTC). */
  published_at: string;
}
