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

/** Tool calls and errors per session (a tool key repeated in one session's counts is added up). */
export const SESSION_TOOL_TOTALS_CTE = `session_tool_totals AS (
        SELECT session_id,
               sum(calls)  AS tool_calls,
               sum(errors) AS tool_errors
        FROM base.tool_calls
        GROUP BY session_id
    )`;
