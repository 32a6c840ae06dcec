import { defineView } from './define.js';
import { REPO_IDENTITY_CTE } from './sql.js';

/*
 * Repo pivots. A session belongs to no repo, one, or several (base.session_repos). In every view
 * here a session counts once for each repo it belongs to, and its tokens, messages and tool calls
 * are attributed in full to each of them (not split): per-repo figures are what happened in
 * sessions that touched the repo, and summing them across repos double-counts multi-repo sessions
 * (shared_session_count says how many). Repo names and paths: see REPO_IDENTITY_CTE.
 */

const repoSessions = defineView({
  name: 'repo_sessions',
  description:
    "Which sessions worked in a given repo? Inverted index from repo to sessions: one row per repo_id (upstream's repo id). " +
    "repo_name / repo_path: as upstream reported them with the repo's most recent session (highest id); " +
    'session_count: sessions that belong to the repo (a session in several repos is listed under each); ' +
    'first_started_at / last_started_at: earliest / latest session start (UTC), ignoring sessions with no start time; ' +
    'session_ids: the sessions, ascending.',
  keyColumns: ['repo_id'],
  sql: `
    WITH ${REPO_IDENTITY_CTE}
    SELECT r.repo_id,
           i.repo_name,
           i.repo_path,
           count(DISTINCT r.session_id)                     AS session_count,
           min(s.started_at)                                AS first_started_at,
           max(s.started_at)                                AS last_started_at,
           list(DISTINCT r.session_id ORDER BY r.session_id)  AS session_ids
    FROM base.session_repos r
    JOIN base.sessions s     ON s.session_id = r.session_id
    JOIN repo_identity i     ON i.repo_id = r.repo_id
    GROUP BY r.repo_id, i.repo_name, i.repo_path
    ORDER BY r.repo_id`,
});

const repoTokens = defineView({
  name: 'repo_tokens',
  description:
    'How many tokens and messages went into each repo? One row per repo_id, with its repo_name (see repo_sessions). ' +
    'Every session of the repo counts in full, ' +
    'also when it belongs to other repos too (summing across repos double-counts those; shared_session_count says how many ' +
    "of this repo's sessions are shared). session_count: sessions in the repo; message_count: their messages; " +
    "input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens: their token counters summed (session_facts': " +
    'from the transcripts where they are here); total_tokens: the four added up.',
  keyColumns: ['repo_id'],
  readsViews: ['session_facts'],
  sql: `
    WITH ${REPO_IDENTITY_CTE},
    repo_session AS (
        SELECT DISTINCT repo_id, session_id
        FROM base.session_repos
    ),
    repos_per_session AS (
        SELECT session_id, count(*) AS repos
        FROM repo_session
        GROUP BY session_id
    )
    SELECT rs.repo_id,
           i.repo_name,
           count(*)                                       AS session_count,
           count(*) FILTER (WHERE rps.repos > 1)          AS shared_session_count,
           sum(s.message_count)::HUGEINT                  AS message_count,
           sum(s.input_tokens)::HUGEINT                   AS input_tokens,
           sum(s.output_tokens)::HUGEINT                  AS output_tokens,
           sum(s.cache_read_tokens)::HUGEINT              AS cache_read_tokens,
           sum(s.cache_creation_tokens)::HUGEINT          AS cache_creation_tokens,
           sum(s.total_tokens)::HUGEINT                   AS total_tokens
    FROM repo_session rs
    JOIN session_facts s          ON s.session_id = rs.session_id
    JOIN repos_per_session rps    ON rps.session_id = rs.session_id
    JOIN repo_identity i          ON i.repo_id = rs.repo_id
    GROUP BY rs.repo_id, i.repo_name
    ORDER BY rs.repo_id`,
});

const repoTools = defineView({
  name: 'repo_tools',
  description:
    'Which tools are used in each repo? One row per (repo_id, tool_name) pair that occurred; repo_name: see repo_sessions. ' +
    'session_count: sessions of the repo that used the tool (a session in several repos counts for each); ' +
    'calls / errors: their calls and failed calls of the tool; error_rate: errors / calls, 4 decimals (NULL when calls is 0).',
  keyColumns: ['repo_id', 'tool_name'],
  sql: `
    WITH ${REPO_IDENTITY_CTE},
    repo_session AS (
        SELECT DISTINCT repo_id, session_id
        FROM base.session_repos
    ),
    repo_tool AS (
        SELECT rs.repo_id,
               t.tool_name,
               count(DISTINCT t.session_id)  AS session_count,
               sum(t.calls)                  AS calls,
               sum(t.errors)                 AS errors
        FROM repo_session rs
        JOIN base.tool_calls t ON t.session_id = rs.session_id
        GROUP BY rs.repo_id, t.tool_name
    )
    SELECT rt.repo_id,
           i.repo_name,
           rt.tool_name,
           rt.session_count,
           rt.calls::HUGEINT                               AS calls,
           rt.errors::HUGEINT                              AS errors,
           round(rt.errors / nullif(rt.calls, 0), 4)       AS error_rate
    FROM repo_tool rt
    JOIN repo_identity i ON i.repo_id = rt.repo_id
    ORDER BY rt.repo_id, rt.tool_name`,
});

const sessionsWithoutRepo = defineView({
  name: 'sessions_without_repo',
  description:
    'Which sessions ran outside any known repo, and where? One row per working directory (cwd, exact text) among ' +
    "sessions that belong to no repo; cwd is '' for sessions upstream sent without a cwd. " +
    'session_count: those sessions; first_started_at / last_started_at: earliest / latest start (UTC, ignoring sessions ' +
    "with no start time); message_count and total_tokens (all four token counters, session_facts'): summed over them; " +
    'session_ids: the sessions, ascending.',
  keyColumns: ['cwd'],
  readsViews: ['session_facts'],
  sql: `
    WITH unattached AS (
        -- sessions with no row in base.session_repos; a missing cwd becomes ''
        SELECT s.session_id,
               coalesce(s.cwd, '')  AS cwd,
               s.started_at,
               s.message_count,
               s.total_tokens
        FROM session_facts s
        WHERE NOT EXISTS (SELECT 1 FROM base.session_repos r WHERE r.session_id = s.session_id)
    )
    SELECT cwd,
           count(*)                              AS session_count,
           min(started_at)                       AS first_started_at,
           max(started_at)                       AS last_started_at,
           sum(message_count)::HUGEINT           AS message_count,
           sum(total_tokens)::HUGEINT            AS total_tokens,
           list(session_id ORDER BY session_id)  AS session_ids
    FROM unattached
    GROUP BY cwd
    ORDER BY cwd`,
});

export const REPO_VIEWS = [repoSessions, repoTokens, repoTools, sessionsWithoutRepo];
