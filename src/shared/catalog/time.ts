import { defineView } from './define.js';
import { localTime, REPO_IDENTITY_CTE, SESSION_TOOL_TOTALS_CTE, totalTokens } from './sql.js';

/*
 * Time. Every time view places a session at its start, in the configured zone
 * (SESSION_LATTICE_TIMEZONE, the machine's by default), so a session that runs past local midnight
 * counts on the day it started.
 * Sessions without a start time are left out of every time view (they are in session_facts).
 * Per-day views are sparse: a day with no session has no row (a dense calendar would be one stray
 * timestamp away from millions of empty rows); the hour x weekday grid is always complete.
 */

export const dailyActivity = defineView({
  name: 'daily_activity',
  description:
    'How active was each day? One row per local day (configured time zone) on which at least one session started (no row for days without ' +
    'sessions). session_count: sessions started that day; message_count, user_message_count, assistant_message_count, ' +
    'total_tokens (all four token counters): summed over them; tool_calls / tool_errors: their tool calls and failed calls ' +
    '(readable counts only); active_repo_count: distinct repos those sessions belong to; sessions_without_repo: those ' +
    'that belong to no repo; sidechain_session_count: those that used a sub-agent sidechain.',
  keyColumns: ['day'],
  sql: `
    WITH ${SESSION_TOOL_TOTALS_CTE},
    dated AS (
        SELECT session_id,
               ${localTime('started_at')}::DATE  AS day,
               message_count,
               user_message_count,
               assistant_message_count,
               ${totalTokens('')}  AS total_tokens,
               is_sidechain_count
        FROM base.sessions
        WHERE started_at IS NOT NULL
    ),
    attached AS (
        SELECT DISTINCT session_id
        FROM base.session_repos
    ),
    per_day AS (
        SELECT d.day,
               count(*)                                               AS session_count,
               sum(d.message_count)                                   AS message_count,
               sum(d.user_message_count)                              AS user_message_count,
               sum(d.assistant_message_count)                         AS assistant_message_count,
               sum(d.total_tokens)                                    AS total_tokens,
               coalesce(sum(t.tool_calls), 0)                         AS tool_calls,
               coalesce(sum(t.tool_errors), 0)                        AS tool_errors,
               count(*) FILTER (WHERE a.session_id IS NULL)           AS sessions_without_repo,
               count(*) FILTER (WHERE d.is_sidechain_count > 0)       AS sidechain_session_count
        FROM dated d
        LEFT JOIN session_tool_totals t  ON t.session_id = d.session_id
        LEFT JOIN attached a             ON a.session_id = d.session_id
        GROUP BY d.day
    ),
    repos_per_day AS (
        SELECT d.day, count(DISTINCT r.repo_id) AS active_repo_count
        FROM dated d
        JOIN base.session_repos r ON r.session_id = d.session_id
        GROUP BY d.day
    )
    SELECT p.day,
           p.session_count,
           p.message_count::BIGINT                  AS message_count,
           p.user_message_count::BIGINT             AS user_message_count,
           p.assistant_message_count::BIGINT        AS assistant_message_count,
           p.total_tokens::BIGINT                   AS total_tokens,
           p.tool_calls::BIGINT                     AS tool_calls,
           p.tool_errors::BIGINT                    AS tool_errors,
           coalesce(r.active_repo_count, 0)         AS active_repo_count,
           p.sessions_without_repo,
           p.sidechain_session_count
    FROM per_day p
    LEFT JOIN repos_per_day r ON r.day = p.day
    ORDER BY p.day`,
});

export const repoDailyActivity = defineView({
  name: 'repo_daily_activity',
  description:
    'How active was each repo each day? One row per (repo_id, day) on which at least one session of the repo ' +
    'started (day: local date in the configured time zone). A session in several repos counts in full for each. repo_name: see repo_sessions; session_count: ' +
    'sessions of the repo started that day; message_count, total_tokens (all four token counters), tool_calls, ' +
    'tool_errors: summed over them.',
  keyColumns: ['repo_id', 'day'],
  sql: `
    WITH ${REPO_IDENTITY_CTE},
    ${SESSION_TOOL_TOTALS_CTE},
    repo_session AS (
        SELECT DISTINCT repo_id, session_id
        FROM base.session_repos
    ),
    repo_day AS (
        SELECT rs.repo_id,
               ${localTime('s.started_at')}::DATE  AS day,
               count(*)                                    AS session_count,
               sum(s.message_count)                        AS message_count,
               sum(${totalTokens('s')})  AS total_tokens,
               coalesce(sum(t.tool_calls), 0)              AS tool_calls,
               coalesce(sum(t.tool_errors), 0)             AS tool_errors
        FROM repo_session rs
        JOIN base.sessions s                ON s.session_id = rs.session_id
        LEFT JOIN session_tool_totals t     ON t.session_id = rs.session_id
        WHERE s.started_at IS NOT NULL
        GROUP BY rs.repo_id, day
    )
    SELECT rd.repo_id,
           rd.day,
           i.repo_name,
           rd.session_count,
           rd.message_count::BIGINT  AS message_count,
           rd.total_tokens::BIGINT   AS total_tokens,
           rd.tool_calls::BIGINT     AS tool_calls,
           rd.tool_errors::BIGINT    AS tool_errors
    FROM repo_day rd
    JOIN repo_identity i ON i.repo_id = rd.repo_id
    ORDER BY rd.repo_id, rd.day`,
});

export const activityHeatmap = defineView({
  name: 'activity_heatmap',
  description:
    'When in the week do sessions start? An hour-of-day x weekday grid in the configured time zone: always exactly 168 ' +
    'rows, one per (iso_weekday, hour), including empty cells. iso_weekday: 1 = Monday ... 7 = Sunday; weekday_name: ' +
    'Mon ... Sun; hour: 0-23, local (on the day clocks go back, the repeated hour counts twice in its cell); session_count: sessions that started in that hour of that weekday (over all weeks); ' +
    'message_count, total_tokens (all four token counters): summed over them; session_share: session_count / all ' +
    'dated sessions, 4 decimals (NULL when there are none).',
  keyColumns: ['iso_weekday', 'hour'],
  sql: `
    WITH grid AS (
        SELECT w.iso_weekday, h.hour
        FROM range(1, 8) w(iso_weekday)
        CROSS JOIN range(0, 24) h(hour)
    ),
    local_starts AS (
        SELECT ${localTime('started_at')}  AS started_local,
               message_count,
               ${totalTokens('')}  AS total_tokens
        FROM base.sessions
        WHERE started_at IS NOT NULL
    ),
    cells AS (
        SELECT isodow(started_local)  AS iso_weekday,
               hour(started_local)    AS hour,
               count(*)               AS session_count,
               sum(message_count)     AS message_count,
               sum(total_tokens)      AS total_tokens
        FROM local_starts
        GROUP BY ALL
    )
    SELECT g.iso_weekday,
           ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][g.iso_weekday]  AS weekday_name,
           g.hour,
           coalesce(c.session_count, 0)                                       AS session_count,
           coalesce(c.message_count, 0)::BIGINT                               AS message_count,
           coalesce(c.total_tokens, 0)::BIGINT                                AS total_tokens,
           round(coalesce(c.session_count, 0) / nullif(sum(c.session_count) OVER (), 0), 4)  AS session_share
    FROM grid g
    LEFT JOIN cells c ON c.iso_weekday = g.iso_weekday AND c.hour = g.hour
    ORDER BY g.iso_weekday, g.hour`,
});

export const TIME_VIEWS = [dailyActivity, repoDailyActivity, activityHeatmap];
