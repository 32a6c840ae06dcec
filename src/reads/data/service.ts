import type { Config } from '../../shared/config.js';
import { RefreshLogRowSchema, SELECT_REFRESHES_SQL } from '../../shared/snapshot.js';
import { assessHealth, type HealthReason } from '../../shared/health.js';
import { pullerRunning } from '../../shared/status.js';
import { VERSION } from '../../shared/version.js';
import type {
  Freshness,
  HealthResponse,
  PullerStatusReport,
  Refresh,
  ViewDescription,
  ViewListResponse,
  ViewRowsResponse,
  ViewSummary,
} from '../contract/api-types.js';
import { NoSnapshotError, UnknownViewError, ViewNotReadyError, type ReadsError } from '../contract/errors.js';
import type { GenerationSource } from './generation-source.js';
import { contractRows, type Generation, type ViewInfo } from './generation.js';
import { memoized } from './memo.js';
import type { PullerState, PullerStateSource } from './puller-state.js';
import { operatorsFor } from './plan/filters.js';
import { nextUrl } from './plan/next-url.js';
import { pageInfoOf, planRead, type PageInfo, type ReadPlan, type ReadViewParams } from './plan/planner.js';

/**
 * The read service: what the HTTP routes and the MCP tools both call. Transport-independent: it
 * takes plain parameters, returns plain typed objects (the shapes of api-types.ts), and throws
 * ReadsError subclasses (UnknownViewError, BadParameterError, NoSnapshotError, ...) that each
 * transport maps to its own error form.
 *
 * Every call is answered from exactly one generation: it takes a reference on the current one and
 * releases it when done (the lower-level calls take a generation the caller acquired from the
 * same GenerationSource, so that the HTTP layer can hold it while a response streams).
 */

export interface ReadsServiceOptions {
  generations: GenerationSource;
  /** status.json and the home's disk, for the health verdict and the "no snapshot yet" answer. */
  puller: PullerStateSource;
  config: Pick<Config, 'refreshIntervalSeconds' | 'staleAfterIntervals'>;
  /** Per-query time limit; the query is interrupted after it. Default 10 s. */
  queryTimeoutMs?: number;
  now?: () => number;
}


export class ReadsService {
  private readonly generations: GenerationSource;
  private readonly puller: PullerStateSource;
  readonly queryTimeoutMs: number;
  private readonly config: ReadsServiceOptions['config'];
  private readonly now: () => number;

  constructor(opts: ReadsServiceOptions) {
    this.generations = opts.generations;
    this.puller = opts.puller;
    this.config = opts.config;
    this.queryTimeoutMs = opts.queryTimeoutMs ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  // ---------------------------------------------------------------------------------------------
  // High level: one call, one generation, a plain object back.

  /** The catalog: every view with its columns, and the snapshot's freshness. */
  listViews(): ViewListResponse {
    return this.withGeneration((gen) => this.catalogOf(gen));
  }

  /** One view's columns, key, refresh interval, row count and freshness. Throws UnknownViewError. */
  describeView(name: string): ViewDescription {
    return this.withGeneration((gen) => {
      const view = this.viewOf(gen, name);
      return { ...summaryOf(view), freshness: this.freshness(gen, view) };
    });
  }

  /** Rows of a view (see plan/planner.ts for the parameters' semantics). */
  async readView(name: string, params: ReadViewParams = {}): Promise<ViewRowsResponse> {
    const gen = this.generations.acquire();
    try {
      const plan = this.plan(gen, name, params);
      const info = await this.pageInfo(gen, plan);
      const rows: Array<Record<string, unknown>> = [];
      await this.streamRows(gen, plan, (json) => {
        for (const j of json) rows.push(JSON.parse(j) as Record<string, unknown>);
      });
      return { ...this.rowsEnvelope(gen, plan, info), rows };
    } finally {
      gen.release();
    }
  }

  /**
   * Health: the one verdict of src/shared/health.ts (ok / degraded / failing / starting, with its
   * reasons) for the generation this process serves, the puller's status and liveness, now.
   */
  async health(): Promise<HealthResponse> {
    return this.assess(await this.puller.read()).health;
  }

  /** The verdict from the puller's state as given; reads nothing but the clock (and the puller's liveness). */
  private assess({ status, statusError, disk }: PullerState): { health: HealthResponse; reasons: HealthReason[] } {
    const puller: PullerStatusReport | null = status && { ...status, running: pullerRunning(status) };
    const gen = this.generations.peek();
    const meta = gen?.meta ?? null;
    const assessment = assessHealth({
      snapshot: gen && { generation: gen.meta.generation, published_at: gen.meta.published_at, views: [...gen.views.values()] },
      snapshotError: this.generations.openError,
      status: puller,
      statusError,
      pullerRunning: puller?.running ?? false,
      disk,
      now: this.now(),
      settings: this.config,
    });
    const health: HealthResponse = {
      status: assessment.verdict,
      reasons: assessment.reasons.map((r) => r.text),
      version: VERSION,
      generation: meta?.generation ?? null,
      published_at: meta?.published_at ?? null,
      scan_version: meta?.scan_version ?? null,
      session_count: meta?.session_count ?? null,
      timezone: meta?.timezone ?? null,
      age_seconds: assessment.dataAgeSeconds,
      stale_after_seconds: assessment.staleAfterSeconds,
      stale_views: gen ? [...gen.views.values()].filter((v) => v.stale).map((v) => v.name).sort() : [],
      puller,
    };
    return { health, reasons: assessment.reasons };
  }

  /**
   * What an error of the read surface says to the caller: "no snapshot yet" gets the puller's
   * reasons. No I/O: the puller's state is the copy kept current in memory.
   */
  messageOf(err: ReadsError): string {
    return err instanceof NoSnapshotError ? this.explainNoSnapshot(err) : err.message;
  }

  /**
   * The message of a "no snapshot yet" answer, with the puller's side of the story (upstream
   * unreachable, puller not running, first pull in progress): the same reasons /healthz gives.
   */
  private explainNoSnapshot(err: NoSnapshotError): string {
    const { health, reasons } = this.assess(this.puller.last());
    const puller = health.puller;
    // The error already says nothing is published; the rest is the puller's side of it.
    const why = reasons.filter((r) => r.severity !== 'starting').map((r) => r.text);
    if (why.length === 0 && puller && puller.last_tick_outcome === null) why.push('the puller is running its first pull');
    return why.length ? `${err.message}; ${why.join('; ')}` : err.message;
  }

  // ---------------------------------------------------------------------------------------------
  // Lower level, for a transport that holds the generation while it streams a response.

  viewOf(gen: Generation, name: string): ViewInfo {
    const view = gen.views.get(name);
    if (!view) throw new UnknownViewError(name, [...gen.views.keys()]);
    return view;
  }

  /** Validates the parameters against the view's columns (BadParameterError) and builds the queries. */
  plan(gen: Generation, name: string, params: ReadViewParams): ReadPlan {
    const view = this.viewOf(gen, name);
    if (!view.materialized) throw new ViewNotReadyError(name);
    return planRead(view, params);
  }

  /**
   * What a page says about itself: `total`, the rows matching the plan's filters over all pages
   * (null when the plan skips the count), and `next`, the cursor of the next page (null on the
   * last page).
   */
  async pageInfo(gen: Generation, plan: ReadPlan): Promise<PageInfo> {
    const sql = plan.infoSql;
    if (sql === null) return { total: null, next: null };
    const row = await gen.withConnection(
      async (conn) => (await conn.runAndReadAll(sql, plan.infoValues)).getRowObjectsJson()[0],
      { timeoutMs: this.queryTimeoutMs },
    );
    return pageInfoOf(plan, row);
  }

  /**
   * The page's rows as JSON texts (one per row, rendered by DuckDB: BIGINTs are numbers, lists are
   * arrays), handed to `sink` a DuckDB chunk (up to 2048 rows) at a time; a sink that returns a
   * promise is awaited before the next chunk (backpressure). The time limit covers it all.
   */
  streamRows(gen: Generation, plan: ReadPlan, sink: (rows: string[]) => void | Promise<void>): Promise<void> {
    return gen.withConnection(
      async (conn, signal) => {
        const result = await conn.stream(plan.rowsSql, plan.values);
        for (;;) {
          signal.throwIfAborted();
          const chunk = await result.fetchChunk();
          if (!chunk || chunk.rowCount === 0) break;
          const pending = sink(chunk.getColumnValues(0) as string[]);
          if (pending) await abortable(pending, signal);
        }
      },
      { timeoutMs: this.queryTimeoutMs },
    );
  }

  /**
   * The generation's refresh log, most recent first: one view's (`view`, which the caller has
   * checked with viewOf) or all, at most `limit` entries (validated by plan/refreshes.ts).
   */
  async refreshes(gen: Generation, view: string | null, limit: number): Promise<Refresh[]> {
    const rows = await gen.withConnection(
      async (conn) => (await conn.runAndReadAll(SELECT_REFRESHES_SQL, [view, limit])).getRowObjectsJson(),
      { timeoutMs: this.queryTimeoutMs },
    );
    return contractRows('lattice.refresh_log', RefreshLogRowSchema.array(), rows).map(({ view_name, ...rest }) => ({ view: view_name, ...rest }));
  }

  /** The envelope of a rows response, everything but `rows`. `format`: as the caller asked for it, kept in next_url. */
  rowsEnvelope(gen: Generation, plan: ReadPlan, { total, next }: PageInfo, format?: string): Omit<ViewRowsResponse, 'rows'> {
    return {
      view: plan.view.name,
      freshness: this.freshness(gen, plan.view),
      total,
      limit: plan.limit,
      offset: plan.offset,
      order_by: plan.orderBy,
      filters: plan.filters,
      columns: plan.columns.map((c) => ({ name: c.name, type: c.type })),
      next,
      next_url: next === null ? null : nextUrl(plan, next, format),
    };
  }

  catalogOf(gen: Generation): ViewListResponse {
    const views = [...gen.views.values()];
    return { freshness: this.freshness(gen, null), views: views.map(summaryOf) };
  }

  /**
   * Freshness of a view, or of the catalog (view null: `materialized_at` is the oldest view's,
   * the most conservative answer). `age_seconds` is measured now.
   */
  freshness(gen: Generation, view: ViewInfo | null): Freshness {
    const meta = gen.meta;
    let materializedAt: string | null;
    let scanVersion: number | null;
    if (view) {
      materializedAt = view.materialized_at;
      scanVersion = view.scan_version ?? meta.scan_version;
    } else {
      const times = [...gen.views.values()].map((v) => v.materialized_at).filter((t): t is string => t !== null);
      materializedAt = times.length > 0 ? times.reduce((a, b) => (Date.parse(a) <= Date.parse(b) ? a : b)) : null;
      scanVersion = meta.scan_version;
    }
    return this.freshnessOf({ generation: meta.generation, published_at: meta.published_at, materialized_at: materializedAt, scan_version: scanVersion, timezone: meta.timezone });
  }

  /**
   * Freshness of an answer from a generation this process may not hold (a query worker's, which
   * can be a newer or older one than the generation served here). `age_seconds` is measured now.
   */
  freshnessOf(s: Omit<Freshness, 'age_seconds'>): Freshness {
    const { generation, published_at, materialized_at, scan_version, timezone } = s;
    return { generation, published_at, materialized_at, scan_version, timezone, age_seconds: this.ageOf(materialized_at ?? published_at) };
  }

  ageOf(iso: string): number {
    return round1(Math.max(0, (this.now() - this.instantOf(iso)) / 1000));
  }

  /** The parsed ISO times of recent answers: every response measures its age from the same few. */
  private readonly instantOf = memoized(Date.parse, 1024);

  private withGeneration<T>(fn: (gen: Generation) => T): T {
    const gen = this.generations.acquire();
    try {
      return fn(gen);
    } finally {
      gen.release();
    }
  }
}

function summaryOf(view: ViewInfo): ViewSummary {
  return {
    name: view.name,
    description: view.description,
    refresh_interval_seconds: view.refresh_interval_seconds,
    key_columns: [...view.key_columns],
    materialized_at: view.materialized_at,
    row_count: view.row_count,
    scan_version: view.scan_version,
    last_error: view.last_error,
    last_error_at: view.last_error_at,
    stale: view.stale,
    columns: view.columns.map((c) => ({ name: c.name, type: c.type, operators: [...operatorsFor(c.type)] })),
  };
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

function abortable(p: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}
