/**
 * SQL fragments several views share, so that a rule (what "total tokens" is, which name a repo
 * goes by) is written once and reads the same in every view. Each view's `sql` is still a single
 * self-contained SELECT: these are pasted into it, and docs/views.md shows the result.
 */

/** The four token counters of a session added up (`alias` is the sessions table's alias). */
export function totalTokens(alias: string): string {
  const p = alias ? `${alias}.` : '';
  return `${p}input_tokens + ${p}output_tokens + ${p}cache_read_tokens + ${p}cache_creation_tokens`;
}

/**
 * One name and path per repo id. Upstream sends a repo's name and path with every session that
 * belongs to it; should they differ between sessions, the ones sent with the repo's highest
 * session id (its most recent session) win.
 */
export const REPO_IDENTITY_CTE = `repo_identity AS (
        -- one name and path per repo: those sent with its most recent (highest id) session
        SELECT repo_id,
               arg_max(repo_name, session_id) FILTER (WHERE repo_name IS NOT NULL) AS repo_name,
               arg_max(repo_path, session_id) FILTER (WHERE repo_path IS NOT NULL) AS repo_path
        FROM base.session_repos
        GROUP BY repo_id
    )`;

/**
 * The IANA zone the calendar buckets are cut in: a DuckDB variable the puller sets from
 * SESSION_LATTICE_TIMEZONE before it materializes (a view reading it is re-materialized when the
 * zone changes). In the `query` tool it holds the zone of the generation queried.
 */
export const TIMEZONE_VARIABLE = "getvariable('timezone')";

/** Where the cost views find prices (USD per million tokens, one row per model id). */
export const PRICES_TABLE = 'base.model_prices';

/**
 * A UTC `TIMESTAMP` as the wall-clock time in the configured zone (DST included), the only thing
 * calendar buckets are cut from: its `::DATE` is the local day, `hour()` the local hour.
 */
export function localTime(utc: string): string {
  return `timezone(${TIMEZONE_VARIABLE}, timezone('UTC', ${utc}))`;
}

/** A session's four token counters priced at one model's rates, in USD (`s`: the session, `p`: the price row). */
function tokenCost(s: string, p: string): string {
  return `(${s}.input_tokens          * ${p}.input_usd_per_mtok
                      + ${s}.output_tokens         * ${p}.output_usd_per_mtok
                      + ${s}.cache_creation_tokens * ${p}.cache_write_usd_per_mtok
                      + ${s}.cache_read_tokens     * ${p}.cache_read_usd_per_mtok) / 1e6`;
}

/**
 * What each session cost, one row per session (`session_cost`). Upstream gives a session's token
 * totals and the set of models it used, not tokens per model, so:
 * - one model, priced: exact (`single_model`);
 * - several models, all priced: every token at the dearest of them (`cost_usd`, an upper bound)
 *   and at the cheapest (`cost_usd_low`) (`multi_model_upper_bound`);
 * - some priced, some not: the same two figures over the priced ones, an estimate that is no
 *   bound (`partially_priced`);
 * - no priced model (or none at all): NULL (`unpriced`). Unknown models are never guessed.
 * `<synthetic>` (messages Claude Code wrote itself) is not a model.
 */
export const SESSION_COST_CTE = `models_used AS (
        -- the models a session used, for pricing ((session, model) is unique in base.session_models);
        -- '<synthetic>' marks messages Claude Code wrote itself, no model
        SELECT session_id, model
        FROM base.session_models
        WHERE model <> '<synthetic>'
    ),
    priced_per_session AS (
        -- every session once: its models counted, and all its tokens priced at each priced one
        SELECT s.session_id,
               count(u.model)                                        AS model_count,
               count(p.model)                                        AS priced_model_count,
               max(${tokenCost('s', 'p')})  AS cost_high,
               min(${tokenCost('s', 'p')})  AS cost_low
        FROM base.sessions s
        LEFT JOIN models_used u       ON u.session_id = s.session_id
        LEFT JOIN ${PRICES_TABLE} p   ON p.model = u.model
        GROUP BY s.session_id
    ),
    session_cost AS (
        SELECT session_id,
               model_count,
               cost_high                                             AS cost_usd,
               cost_low                                              AS cost_usd_low,
               CASE WHEN priced_model_count = 0                      THEN 'unpriced'
                    WHEN model_count = 1                             THEN 'single_model'
                    WHEN priced_model_count = model_count            THEN 'multi_model_upper_bound'
                    ELSE 'partially_priced'
               END                                                   AS cost_basis
        FROM priced_per_session
    )`;

/** Sessions whose cost_usd is an estimate rather than exact (for the `estimated_sessions` counts). */
export const ESTIMATED_COST_BASES = "('multi_model_upper_bound', 'partially_priced')";
