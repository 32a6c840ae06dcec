import { defineView, type ViewDefinition } from './define.js';
import { localTime, PRICES_TABLE, REPO_IDENTITY_CTE } from './sql.js';
import { NO_MODEL, RESPONSE_UNITS_CTE, USAGE_UNITS_CTE } from './usage-units.js';

/*
 * Usage and cost: the questions people ask first ("what did it cost", "how much today, this
 * week"). Every view here sums usage_units (usage-units.ts): the API responses read from the
 * transcripts, priced once in usage_hourly (per local hour, session and model), and for each
 * session repo-recall knows whose transcripts are not here, its session-level estimate from
 * session_facts at its start. Every figure says how many sessions it estimated or could not price.
 */

/** A bucket's local day: the unit's local hour, or an estimate's local start (the zone is applied upstream). */
const LOCAL_DAY = 'u.used_at_local::DATE';

/** The token, cost and cache columns every usage view sums over its units (`u`: usage_units). */
const USAGE_SUMS = `count(DISTINCT u.session_uuid) FILTER (WHERE u.from_messages)
             + count(*) FILTER (WHERE NOT u.from_messages)                      AS session_count,
           sum(u.input_tokens)::HUGEINT                                     AS input_tokens,
           sum(u.output_tokens)::HUGEINT                                    AS output_tokens,
           sum(u.cache_read_tokens)::HUGEINT                                AS cache_read_tokens,
           sum(u.cache_creation_tokens)::HUGEINT                            AS cache_creation_tokens,
           sum(u.input_tokens + u.output_tokens + u.cache_read_tokens + u.cache_creation_tokens)::HUGEINT  AS total_tokens,
           round(coalesce(sum(u.cost_usd), 0), 6)                           AS cost_usd,
           round(coalesce(sum(u.cost_usd_low), 0), 6)                       AS cost_usd_low,
           count(*) FILTER (WHERE u.estimated)                              AS estimated_sessions,
           count(DISTINCT u.session_uuid) FILTER (WHERE u.from_messages AND u.unpriced)
             + count(*) FILTER (WHERE NOT u.from_messages AND u.unpriced)       AS unpriced_sessions,
           round(sum(u.cache_read_tokens)
                 / nullif(sum(u.input_tokens + u.cache_read_tokens + u.cache_creation_tokens), 0), 4)  AS cache_hit_ratio,
           sum(u.cache_creation_1h_tokens)::HUGEINT                         AS cache_creation_1h_tokens,
           sum(u.api_response_count)::BIGINT                                AS api_response_count,
           sum(u.unpriced_responses)::BIGINT                                AS unpriced_responses`;

const USAGE_COLUMNS_TEXT =
  'session_count: sessions with usage in it (a session counts in every bucket it has usage in: a session across local ' +
  'midnight on both days, a two-model session under both models); input_tokens, output_tokens, cache_read_tokens, ' +
  'cache_creation_tokens (5-minute and 1-hour cache writes): the tokens summed; total_tokens: the four added up; ' +
  'cost_usd: the cost in USD summed (never NULL: unpriced usage adds nothing; an estimated session adds its upper ' +
  'bound); cost_usd_low: the same with estimated sessions at their cheapest model (equal to cost_usd where every figure ' +
  'is exact; for estimates whose models are all priced, the true cost lies between the two); estimated_sessions: ' +
  'sessions counted from an estimate that is no exact figure (no transcripts here, several models); unpriced_sessions: ' +
  'sessions with usage of no known price in the bucket (an unknown model: at least one such response, or an estimate ' +
  'with no priced model); cache_hit_ratio: cache reads / all input-side tokens (input + cache read + cache creation), 4 ' +
  'decimals (NULL when there are none); cache_creation_1h_tokens: the part of cache_creation_tokens written to the ' +
  '1-hour cache (known from responses only); api_response_count: API responses counted (0 where only estimates are); ' +
  'unpriced_responses: those of an unpriced model (counted in the tokens, not in the cost).';

/** How a unit lands in a bucket, for the descriptions. */
const UNITS_TEXT =
  "Usage is counted per API response read from Claude Code's transcripts (at its own instant and model, exact), and for " +
  'each session repo-recall knows whose transcripts are not here, once, by its session-level estimate at its start; ' +
  'sessions only in transcripts count too.';

function usageByPeriod(name: string, key: string, bucket: string, what: string): ViewDefinition {
  return defineView({
    name,
    description:
      `How much was used, and what did it cost, ${what}? One row per ${key} with usage ` +
      `(${key}: ${bucket === 'day' ? 'the local date' : `the local date the ${key} starts on`} in the configured time ` +
      `zone, of each response's own timestamp, or of an estimated session's start; no row for ${key}s without usage; ` +
      `undated estimates are left out). ${UNITS_TEXT} ${USAGE_COLUMNS_TEXT}`,
    keyColumns: [key],
    readsViews: ['usage_hourly', 'session_facts'],
    sql: `
    WITH ${USAGE_UNITS_CTE}
    SELECT ${bucket === 'day' ? LOCAL_DAY : `date_trunc('${bucket}', ${LOCAL_DAY})::DATE`}  AS ${key},
           ${USAGE_SUMS}
    FROM usage_units u
    WHERE u.used_at IS NOT NULL
    GROUP BY ${key}
    ORDER BY ${key}`,
  });
}

const usageDaily = usageByPeriod('usage_daily', 'day', 'day', 'each day');
const usageWeekly = usageByPeriod('usage_weekly', 'week', 'week', 'each ISO week (Monday to Sunday)');
const usageMonthly = usageByPeriod('usage_monthly', 'month', 'month', 'each calendar month');

/**
 * Cost per day stacked by model must add up to usage_daily: each response counts under its own
 * model; an estimated session (no transcripts here: tokens per session, not per model) whole under
 * its one model, or a bucket of its own when it used several or none.
 */
const usageDailyByModel = defineView({
  name: 'usage_daily_by_model',
  description:
    'How much did each model use and cost each day, in parts that add up to usage_daily? One row per (local day in the ' +
    'configured time zone, model) with usage. model: the model of each API response (exact); for an estimated session ' +
    "(no transcripts here) its one model, '(several models)' when it used more than one; '(no model)' for responses of " +
    "<synthetic> (Claude Code's own, which cost nothing) or of no model, and for estimated sessions with none. Every " +
    "response and estimate counts in one row, so summing a day's rows gives that day's usage_daily row (except " +
    `session_count: a session with two models counts under both). ${UNITS_TEXT} ${USAGE_COLUMNS_TEXT}`,
  keyColumns: ['day', 'model'],
  readsViews: ['usage_hourly', 'session_facts'],
  sql: `
    WITH ${USAGE_UNITS_CTE}
    SELECT ${LOCAL_DAY}  AS day,
           u.model,
           ${USAGE_SUMS}
    FROM usage_units u
    WHERE u.used_at IS NOT NULL
    GROUP BY day, u.model
    ORDER BY day, u.model`,
});

const usageByModel = defineView({
  name: 'usage_by_model',
  description:
    'What did each model cost? One row per model used (exact spelling; <synthetic> is not a model and has no row). ' +
    'priced: whether base.model_prices has the model; session_count: sessions that used it; single_model_sessions: those ' +
    'that used no other model; multi_model_sessions: those that also used another. input_tokens, output_tokens, ' +
    "cache_read_tokens, cache_creation_tokens, total_tokens and cost_usd: the model's own API responses (exact), plus, " +
    'for sessions with no transcripts here (tokens per session, not per model), those of the single-model sessions ' +
    "only; cost_usd is NULL for an unpriced model. cache_creation_1h_tokens, api_response_count: the model's responses' " +
    '1-hour cache writes and count.',
  keyColumns: ['model'],
  readsViews: ['usage_hourly', 'session_facts'],
  sql: `
    WITH ${USAGE_UNITS_CTE},
    per_response_session AS (
        -- each transcript session once per model it used, with that model's exact usage
        SELECT session_uuid, model,
               sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
               sum(cache_read_tokens) AS cache_read_tokens, sum(cache_creation_tokens) AS cache_creation_tokens,
               sum(cache_creation_1h_tokens) AS cache_creation_1h_tokens,
               sum(cost_usd) AS cost_usd, sum(api_response_count) AS api_response_count
        FROM usage_units
        WHERE from_messages AND model <> ${NO_MODEL}
        GROUP BY session_uuid, model
    ),
    session_model AS (
        SELECT model,
               count(*) OVER (PARTITION BY session_uuid)  AS model_count,
               true                                       AS tokens_known,
               input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, cache_creation_1h_tokens,
               cost_usd, api_response_count
        FROM per_response_session
        UNION ALL
        -- an estimated session once per model it used; its tokens are that model's only when it used one
        SELECT unnest(real_models), len(real_models), len(real_models) = 1,
               input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, 0, cost_usd, 0
        FROM usage_units
        WHERE NOT from_messages
    )
    SELECT u.model,
           p.model IS NOT NULL                                              AS priced,
           count(*)                                                         AS session_count,
           count(*) FILTER (WHERE u.model_count = 1)                        AS single_model_sessions,
           count(*) FILTER (WHERE u.model_count > 1)                        AS multi_model_sessions,
           coalesce(sum(u.input_tokens)          FILTER (WHERE u.tokens_known), 0)::HUGEINT AS input_tokens,
           coalesce(sum(u.output_tokens)         FILTER (WHERE u.tokens_known), 0)::HUGEINT AS output_tokens,
           coalesce(sum(u.cache_read_tokens)     FILTER (WHERE u.tokens_known), 0)::HUGEINT AS cache_read_tokens,
           coalesce(sum(u.cache_creation_tokens) FILTER (WHERE u.tokens_known), 0)::HUGEINT AS cache_creation_tokens,
           coalesce(sum(u.input_tokens + u.output_tokens + u.cache_read_tokens + u.cache_creation_tokens)
                                                 FILTER (WHERE u.tokens_known), 0)::HUGEINT AS total_tokens,
           CASE WHEN p.model IS NOT NULL
                THEN round(coalesce(sum(u.cost_usd) FILTER (WHERE u.tokens_known), 0), 6)
           END                                                              AS cost_usd,
           coalesce(sum(u.cache_creation_1h_tokens), 0)::HUGEINT            AS cache_creation_1h_tokens,
           coalesce(sum(u.api_response_count), 0)::BIGINT                   AS api_response_count
    FROM session_model u
    LEFT JOIN ${PRICES_TABLE} p ON p.model = u.model
    GROUP BY u.model, p.model
    ORDER BY u.model`,
});

/** The repo_id under which usage of sessions only in transcripts (repo-recall has not scanned them) is counted. */
const UNKNOWN_REPO_ID = -1;

const usageByRepo = defineView({
  name: 'usage_by_repo',
  description:
    'What did each repo cost? One row per repo_id. A session in several repos counts in full in each (summing across ' +
    'repos double-counts it); sessions repo-recall knows in no repo are in no row. repo_name, repo_path: see ' +
    `repo_sessions. repo_id ${UNKNOWN_REPO_ID} (repo_name '(repo unknown)', repo_path NULL) holds the usage of sessions ` +
    'only in transcripts, which repo-recall has not scanned yet (there is no such row without them). ' +
    `${UNITS_TEXT} ${USAGE_COLUMNS_TEXT.replace('sessions with usage in it', 'sessions of the repo, dated or not')} ` +
    'first_activity_at: the earliest response or estimated session start (UTC); last_activity_at: the latest response, ' +
    'or estimated session end (or start when the end is unknown) (UTC).',
  keyColumns: ['repo_id'],
  readsViews: ['usage_hourly', 'session_facts'],
  sql: `
    WITH ${REPO_IDENTITY_CTE},
    ${USAGE_UNITS_CTE},
    repo_units AS (
        -- every unit under each repo of its session ((session, repo) is unique in base.session_repos)
        SELECT r.repo_id, i.repo_name, i.repo_path, u.*
        FROM usage_units u
        JOIN base.session_repos r    ON r.session_id = u.session_id
        JOIN repo_identity i         ON i.repo_id = r.repo_id
        UNION ALL
        SELECT ${UNKNOWN_REPO_ID}, '(repo unknown)', NULL, u.*
        FROM usage_units u
        WHERE u.session_id IS NULL
    )
    SELECT u.repo_id,
           u.repo_name,
           u.repo_path,
           ${USAGE_SUMS},
           min(u.used_at)                                                        AS first_activity_at,
           max(u.last_used_at)                                                   AS last_activity_at
    FROM repo_units u
    GROUP BY u.repo_id, u.repo_name, u.repo_path
    ORDER BY u.repo_id`,
});

/**
 * ccusage's 5-hour blocks (its identifySessionBlocks), over the instants of the usage units: walking
 * them in time order, a block starts at the first one floored to the UTC hour; an instant more than
 * 5 hours after its block's start, or more than 5 hours after the previous instant, starts a new
 * block (floored likewise). Burn rate and projection as ccusage's calculateBurnRate and
 * projectBlockUsage.
 */
const usageBlocks = defineView({
  name: 'usage_blocks',
  description:
    "How much went into each 5-hour usage block? Claude's usage limits count in 5-hour windows; these are ccusage's " +
    "blocks: walking the API responses (and estimated sessions' starts) in time order, a block starts at the first " +
    "one floored to the UTC hour and lasts 5 hours; one more than 5 hours after its block's start, or more than 5 hours " +
    'after the one before it, starts a new block. An estimated session (no transcripts here) counts whole in the block ' +
    'it started in. One row per block. block_start / block_end: UTC; block_start_local: block_start as wall-clock time in ' +
    'the configured zone; first_activity_at: its first response or estimated start (UTC); last_activity_at: its latest ' +
    'response, or estimated session end (or start) (UTC); is_active: block_end is still in the future (the puller redoes ' +
    'the view on its first tick after an active block ends, even when nothing new came). For the active block only ' +
    "(NULL otherwise, and NULL when its first and last activity are the same instant), as of the view's " +
    'materialization (lattice.views.materialized_at), as ccusage computes them: burn_rate_tokens_per_minute: ' +
    'total_tokens / the minutes from the first to the last activity of the block (4 decimals); burn_rate_usd_per_hour: ' +
    'cost_usd / those minutes x 60 (6 decimals); remaining_minutes: minutes until block_end, rounded; projected_tokens: ' +
    'total_tokens + burn_rate_tokens_per_minute x remaining_minutes, rounded; projected_cost_usd: cost_usd + ' +
    'burn_rate_usd_per_hour / 60 x remaining_minutes (6 decimals, where ccusage rounds to cents). ' +
    USAGE_COLUMNS_TEXT.replace('sessions with usage in it', 'sessions with usage in the block'),
  keyColumns: ['block_start'],
  validUntilSql: `SELECT min(timezone('UTC', block_end)) FROM this WHERE is_active`,
  readsViews: ['session_facts'],
  sql: `
    WITH RECURSIVE ${RESPONSE_UNITS_CTE},
    gaps AS (
        SELECT used_at, used_at - lag(used_at) OVER (ORDER BY used_at) > INTERVAL 5 HOUR  AS after_gap
        FROM usage_units
        WHERE used_at IS NOT NULL
    ),
    hours AS MATERIALIZED (
        -- computed once, not again in each step of the walk below; a gap of more than 5 hours always starts a block: cut the instants into runs there; per
        -- run, its hours with activity, and whether one falls after the hour's first instant (an
        -- instant exactly 5 hours after a block's start stays in that block)
        SELECT run, date_trunc('hour', used_at) AS hour, max(used_at) > date_trunc('hour', used_at) AS past_the_hour
        FROM (SELECT used_at, sum(CASE WHEN after_gap IS NOT false THEN 1 ELSE 0 END) OVER (ORDER BY used_at) AS run FROM gaps)
        GROUP BY run, hour
    ),
    next_start AS MATERIALIZED (
        -- for each hour a block could start at, where the next block of its run would start: the
        -- first hour with an instant more than 5 hours past it (key: that hour - 5 h, plus half an
        -- hour when an instant falls after the hour's first instant), found once for every hour so
        -- that the walk below only follows these links
        SELECT h.run, h.hour, n.hour AS next_hour
        FROM hours h
        ASOF LEFT JOIN (SELECT run, hour,
                               hour - INTERVAL 5 HOUR + CASE WHEN past_the_hour THEN INTERVAL 30 MINUTE ELSE INTERVAL 0 MINUTE END AS key
                        FROM hours) n
               ON n.run = h.run AND n.key > h.hour
    ),
    block_starts(run, block_start) AS (
        SELECT run, min(hour)
        FROM hours
        GROUP BY run
        UNION ALL
        SELECT n.run, n.next_hour
        FROM block_starts b
        JOIN next_start n ON n.run = b.run AND n.hour = b.block_start
        WHERE n.next_hour IS NOT NULL
    ),
    blocks AS (
        SELECT block_start, lag(block_start) OVER (PARTITION BY run ORDER BY block_start) AS previous_start
        FROM block_starts
    ),
    placed AS (
        -- the latest block started at or before the instant, except that an instant exactly at the
        -- end of the block before (5 hours after its start) belongs to that one
        SELECT CASE WHEN u.used_at = b.previous_start + INTERVAL 5 HOUR THEN b.previous_start
                    ELSE b.block_start
               END                                                          AS block_start,
               u.*
        FROM usage_units u
        ASOF JOIN blocks b ON u.used_at >= b.block_start
    ),
    totals AS (
        SELECT u.block_start,
               u.block_start + INTERVAL 5 HOUR                              AS block_end,
               ${localTime('u.block_start')}  AS block_start_local,
               min(u.used_at)                                                    AS first_activity_at,
               max(u.last_used_at)                                               AS last_activity_at,
               timezone('UTC', u.block_start + INTERVAL 5 HOUR) > now()     AS is_active,
               ${USAGE_SUMS},
               -- ccusage's duration: from the first to the last activity (not to the end of a session)
               epoch(max(u.used_at) - min(u.used_at)) / 60                            AS active_minutes
        FROM placed u
        GROUP BY u.block_start
    ),
    rates AS (
        SELECT t.*,
               CASE WHEN t.is_active AND t.active_minutes > 0 THEN t.total_tokens / t.active_minutes END  AS tokens_per_minute,
               CASE WHEN t.is_active AND t.active_minutes > 0 THEN t.cost_usd / t.active_minutes * 60 END AS usd_per_hour,
               CASE WHEN t.is_active AND t.active_minutes > 0
                    THEN greatest(round((epoch(timezone('UTC', t.block_end)) - epoch(now())) / 60), 0)
               END                                                          AS minutes_left
        FROM totals t
    )
    SELECT block_start, block_end, block_start_local, last_activity_at, is_active,
           session_count, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, total_tokens,
           cost_usd, cost_usd_low, estimated_sessions, unpriced_sessions, cache_hit_ratio,
           cache_creation_1h_tokens, api_response_count, unpriced_responses,
           first_activity_at,
           round(tokens_per_minute, 4)                                      AS burn_rate_tokens_per_minute,
           round(usd_per_hour, 6)                                           AS burn_rate_usd_per_hour,
           round(total_tokens + tokens_per_minute * minutes_left)::BIGINT   AS projected_tokens,
           round(cost_usd + usd_per_hour / 60 * minutes_left, 6)            AS projected_cost_usd,
           minutes_left::BIGINT                                             AS remaining_minutes
    FROM rates
    ORDER BY block_start`,
});

export const USAGE_VIEWS = [usageDaily, usageWeekly, usageMonthly, usageDailyByModel, usageByModel, usageByRepo, usageBlocks];
