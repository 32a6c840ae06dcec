import { defineView } from './define.js';

/*
 * Tool-call pivots. Everything here reads base.tool_calls, upstream's tool_call_counts_json
 * exploded into one row per (session, tool). Tool names keep upstream's exact spelling: `Bash` and
 * `bash` are two tools. A session whose count string could not be read (base.sessions.tool_counts_ok
 * is false) contributes only the entries that could be read, often none.
 */

export const toolSessions = defineView({
  name: 'tool_sessions',
  description:
    'Which sessions used a given tool? Inverted index from tool name to sessions: one row per tool_name ' +
    '(exact spelling: "Bash" and "bash" are separate rows). session_count is how many sessions list the tool ' +
    'in their tool-call counts; session_ids are those sessions, ascending.',
  keyColumns: ['tool_name'],
  sql: `
    WITH session_tool AS (
        -- each tool a session used, once
        SELECT DISTINCT tool_name, session_id
        FROM base.tool_calls
    )
    SELECT tool_name,
           count(*)                               AS session_count,
           list(session_id ORDER BY session_id)   AS session_ids
    FROM session_tool
    GROUP BY tool_name
    ORDER BY tool_name`,
});

const toolUsage = defineView({
  name: 'tool_usage',
  description:
    'How much is each tool called, and how often does it fail? One row per tool_name (exact spelling). ' +
    'session_count: sessions that used the tool; calls / errors: calls and failed calls summed over those sessions; ' +
    'error_rate: errors / calls, 4 decimals (NULL when calls is 0); calls_per_session: calls / session_count, 2 decimals.',
  keyColumns: ['tool_name'],
  sql: `
    WITH per_tool AS (
        SELECT tool_name,
               count(DISTINCT session_id)  AS session_count,
               sum(calls)                  AS calls,
               sum(errors)                 AS errors
        FROM base.tool_calls
        GROUP BY tool_name
    )
    SELECT tool_name,
           session_count,
           calls::HUGEINT                                  AS calls,
           errors::HUGEINT                                 AS errors,
           round(errors / nullif(calls, 0), 4)             AS error_rate,
           round(calls / session_count, 2)                 AS calls_per_session
    FROM per_tool
    ORDER BY tool_name`,
});

export const toolPairs = defineView({
  name: 'tool_pairs',
  description:
    'Which tools are used together in the same session? Tool co-occurrence: one row per pair of tool names that ' +
    'appear in at least one session together, tool_a < tool_b (byte order of the exact names). ' +
    'sessions_with_both: sessions that used both; sessions_with_a / sessions_with_b: sessions that used each; ' +
    'jaccard: both / (a + b - both), 4 decimals (1 = always together); lift: how much more often the pair occurs ' +
    'than if the two tools were independent, over the sessions that used any tool, 3 decimals (1 = chance, > 1 = attracted).',
  keyColumns: ['tool_a', 'tool_b'],
  sql: `
    WITH session_tool AS (
        -- each tool a session used, once
        SELECT DISTINCT session_id, tool_name
        FROM base.tool_calls
    ),
    tool_totals AS (
        SELECT tool_name, count(*) AS sessions
        FROM session_tool
        GROUP BY tool_name
    ),
    tool_sessions_total AS (
        SELECT count(DISTINCT session_id) AS sessions
        FROM session_tool
    ),
    pairs AS (
        SELECT a.tool_name  AS tool_a,
               b.tool_name  AS tool_b,
               count(*)     AS sessions_with_both
        FROM session_tool a
        JOIN session_tool b ON b.session_id = a.session_id AND a.tool_name < b.tool_name
        GROUP BY a.tool_name, b.tool_name
    )
    SELECT p.tool_a,
           p.tool_b,
           p.sessions_with_both,
           ta.sessions                                                              AS sessions_with_a,
           tb.sessions                                                              AS sessions_with_b,
           round(p.sessions_with_both / (ta.sessions + tb.sessions - p.sessions_with_both), 4)  AS jaccard,
           round(p.sessions_with_both * n.sessions / (ta.sessions * tb.sessions), 3)            AS lift
    FROM pairs p
    JOIN tool_totals ta ON ta.tool_name = p.tool_a
    JOIN tool_totals tb ON tb.tool_name = p.tool_b
    CROSS JOIN tool_sessions_total n
    ORDER BY p.tool_a, p.tool_b`,
});

const toolAdoption = defineView({
  name: 'tool_adoption',
  description:
    'When did each tool first and last appear? One row per tool_name (exact spelling). ' +
    'first_used_at / last_used_at: start time (UTC) of the earliest / latest session that used it; ' +
    'first_session_id / last_session_id: those sessions (ties broken by the lower id); ' +
    'active_days: distinct local days (configured time zone) with a session that used it (month by month: tool_monthly); ' +
    'session_count: all sessions that used it; undated_session_count: those among them with no start time ' +
    '(they count here but in no date column; a tool only ever used in undated sessions has NULL dates).',
  keyColumns: ['tool_name'],
  readsViews: ['session_facts'],
  sql: `
    WITH tool_session AS (
        -- each (tool, session) once, with the session's start time and local day
        SELECT DISTINCT t.tool_name, t.session_id, f.started_at, f.started_day AS local_day
        FROM base.tool_calls t
        JOIN session_facts f ON f.session_id = t.session_id
    )
    SELECT tool_name,
           min(started_at)                                                                         AS first_used_at,
           max(started_at)                                                                         AS last_used_at,
           arg_min(session_id, (started_at, session_id))  FILTER (WHERE started_at IS NOT NULL)    AS first_session_id,
           arg_max(session_id, (started_at, -session_id)) FILTER (WHERE started_at IS NOT NULL)    AS last_session_id,
           count(DISTINCT local_day)                                                               AS active_days,
           count(*)                                                                                AS session_count,
           count(*) FILTER (WHERE started_at IS NULL)                                              AS undated_session_count
    FROM tool_session
    GROUP BY tool_name
    ORDER BY tool_name`,
});

const toolMonthly = defineView({
  name: 'tool_monthly',
  description:
    "How is each tool's use trending month by month? One row per (tool_name, month) in which the tool was used; " +
    'month is the first day of the month in the configured time zone. session_count: sessions started that month that used the tool; ' +
    'calls / errors: their calls and failed calls of it; month_session_count: all sessions started that month; ' +
    "session_share: session_count / month_session_count, 4 decimals (the share of that month's sessions that used the tool). " +
    'Sessions without a start time are left out.',
  keyColumns: ['tool_name', 'month'],
  readsViews: ['session_facts'],
  sql: `
    WITH dated AS (
        SELECT session_id, date_trunc('month', started_day)::DATE AS month
        FROM session_facts
        WHERE started_at IS NOT NULL
    ),
    month_totals AS (
        SELECT month, count(*) AS sessions
        FROM dated
        GROUP BY month
    ),
    tool_month AS (
        SELECT t.tool_name,
               d.month,
               count(DISTINCT t.session_id)  AS session_count,
               sum(t.calls)                  AS calls,
               sum(t.errors)                 AS errors
        FROM base.tool_calls t
        JOIN dated d ON d.session_id = t.session_id
        GROUP BY t.tool_name, d.month
    )
    SELECT tm.tool_name,
           tm.month,
           tm.session_count,
           tm.calls::HUGEINT                             AS calls,
           tm.errors::HUGEINT                            AS errors,
           mt.sessions                                   AS month_session_count,
           round(tm.session_count / mt.sessions, 4)      AS session_share
    FROM tool_month tm
    JOIN month_totals mt ON mt.month = tm.month
    ORDER BY tm.tool_name, tm.month`,
});

export const TOOL_VIEWS = [toolSessions, toolUsage, toolPairs, toolAdoption, toolMonthly];
