import { defineView } from './define.js';
import { REPO_IDENTITY_CTE } from './sql.js';

/*
 * Time. Every time view places a session at its start, in the configured zone
 * (SESSION_LATTICE_TIMEZONE, the machine's by default), so a session that runs past local midnight
 * counts on the day it started: session_facts.started_day / started_at_local, worked out once.
 * Sessions without a start time are left out of every time view (they are in session_facts).
 * Per-day views are sparse: a day with no session has no row (a dense calendar would be one stray
 * timestamp away from millions of empty rows); the hour x weekday grid is always complete.
 */

const dailyActivity = defineView({
  name: 'daily_activity',
  description:
    'How active was each day? One row per local day (configured time zone) on which at least one session started (no row for days without ' +
    'sessions). session_count: sessions started that day; message_count, user_message_count, assistant_message_count, ' +
    'total_tokens (all four token counters): summed over them; tool_calls / tool_errors: their tool calls and failed calls ' +
    '(readable counts only); active_repo_count: distinct repos those sessions belong to; sessions_without_repo: those ' +
    'that belong to no repo; sidechain_session_count: those that used a sub-agent sidechain.',
  keyColumns: ['day'],
  readsViews: ['session_facts'],
  sql: `
    WITH per_day AS (
        SELECT started_day                                            AS day,
               count(*)                                               AS session_count,
               sum(message_count)                                     AS message_count,
               sum(user_message_count)                                AS user_message_count,
               sum(assistant_message_count)                           AS assistant_message_count,
               sum(total_tokens)                                      AS total_tokens,
               coalesce(sum(tool_calls), 0)                           AS tool_calls,
               coalesce(sum(tool_errors), 0)                          AS tool_errors,
               count(*) FILTER (WHERE repo_count = 0)                 AS sessions_without_repo,
               count(*) FILTER (WHERE uses_sidechain)                 AS sidechain_session_count
        FROM session_facts
        WHERE started_at IS NOT NULL
        GROUP BY started_day
    ),
    repos_per_day AS (
        SELECT f.started_day AS day, count(DISTINCT r.repo_id) AS active_repo_count
        FROM session_facts f
        JOIN base.session_repos r ON r.session_id = f.session_id
        WHERE f.started_at IS NOT NULL
        GROUP BY f.started_day
    )
    SELECT p.day,
           p.session_count,
           p.message_count::HUGEINT                 AS message_count,
           p.user_message_count::HUGEINT            AS user_message_count,
           p.assistant_message_count::HUGEINT       AS assistant_message_count,
           p.total_tokens::HUGEINT                  AS total_tokens,
           p.tool_calls::HUGEINT                    AS tool_calls,
           p.tool_errors::HUGEINT                   AS tool_errors,
           coalesce(r.active_repo_count, 0)         AS active_repo_count,
           p.sessions_without_repo,
           p.sidechain_session_count
    FROM per_day p
    LEFT JOIN repos_per_day r ON r.day = p.day
    ORDER BY p.day`,
});

const repoDailyActivity = defineView({
  name: 'repo_daily_activity',
  description:
    'How active was each repo each day? One row per (repo_id, day) on which at least one session of the repo ' +
    'started (day: local date in the configured time zone). A session in several repos counts in full for each. repo_name: see repo_sessions; session_count: ' +
    'sessions of the repo started that day; message_count, total_tokens (all four token counters), tool_calls, ' +
    'tool_errors: summed over them.',
  keyColumns: ['repo_id', 'day'],
  readsViews: ['session_facts'],
  sql: `
    WITH ${REPO_IDENTITY_CTE},
    repo_day AS (
        SELECT r.repo_id,
               f.started_day                               AS day,
               count(*)                                    AS session_count,
               sum(f.message_count)                        AS message_count,
               sum(f.total_tokens)                         AS total_tokens,
               coalesce(sum(f.tool_calls), 0)              AS tool_calls,
               coalesce(sum(f.tool_errors), 0)             AS tool_errors
        FROM base.session_repos r          -- (session, repo) is unique here
        JOIN session_facts f ON f.session_id = r.session_id
        WHERE f.started_at IS NOT NULL
        GROUP BY r.repo_id, f.started_day
    )
    SELECT rd.repo_id,
           rd.day,
           i.repo_name,
           rd.session_count,
           rd.message_count::HUGEINT AS message_count,
           rd.total_tokens::HUGEINT  AS total_tokens,
           rd.tool_calls::HUGEINT    AS tool_calls,
           rd.tool_errors::HUGEINT   AS tool_errors
    FROM repo_day rd
    JOIN repo_identity i ON i.repo_id = rd.repo_id
    ORDER BY rd.repo_id, rd.day`,
});

const activityHeatmap = defineView({
  name: 'activity_heatmap',
  description:
    'When in the week do sessions start? An hour-of-day x weekday grid in the configured time zone: always exactly 168 ' +
    'rows, one per (iso_weekday, hour), including empty cells. iso_weekday: 1 = Monday ... 7 = Sunday; weekday_name: ' +
    'Mon ... Sun; hour: 0-23, local (on the day clocks go back, the repeated hour counts twice in its cell); session_count: sessions that started in that hour of that weekday (over all weeks); ' +
    'message_count, total_tokens (all four token counters): summed over them; session_share: session_count / all ' +
    'dated sessions, 4 decimals (NULL when there are none).',
  keyColumns: ['iso_weekday', 'hour'],
  readsViews: ['session_facts'],
  sql: `
    WITH grid AS (
        SELECT w.iso_weekday, h.hour
        FROM range(1, 8) w(iso_weekday)
        CROSS JOIN range(0, 24) h(hour)
    ),
    cells AS (
        SELECT isodow(started_at_local)  AS iso_weekday,
               hour(started_at_local)    AS hour,
               count(*)                  AS session_count,
               sum(message_count)        AS message_count,
               sum(total_tokens)         AS total_tokens
        FROM session_facts
        WHERE started_at IS NOT NULL
        GROUP BY ALL
    )
    SELECT g.iso_weekday,
           ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][g.iso_weekday]  AS weekday_name,
           g.hour,
           coalesce(c.session_count, 0)                                       AS session_count,
           coalesce(c.message_count, 0)::HUGEINT                              AS message_count,
           coalesce(c.total_tokens, 0)::HUGEINT                               AS total_tokens,
           round(coalesce(c.session_count, 0) / nullif(sum(c.session_count) OVER (), 0), 4)  AS session_share
    FROM grid g
    LEFT JOIN cells c ON c.iso_weekday = g.iso_weekday AND c.hour = g.hour
    ORDER BY g.iso_weekday, g.hour`,
});

export const TIME_VIEWS = [dailyActivity, repoDailyActivity, activityHeatmap];
