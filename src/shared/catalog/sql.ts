/**
 * SQL fragments several views share, so that a rule (what "total tokens" is, which name a repo
 * goes by) is written once and reads the same in every view. Each view's `sql` is still a single
 * SELECT (over base.* and the views it declares): these are pasted into it, and docs/views.md
 * shows the result.
 */

/** The four token counters of a session added up (`alias` is the sessions table's alias). */
export function totalTokens(alias: string): string {
  return `${alias}.input_tokens + ${alias}.output_tokens + ${alias}.cache_read_tokens + ${alias}.cache_creation_tokens`;
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
