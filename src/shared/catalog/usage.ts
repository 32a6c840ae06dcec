import { defineView, type ViewDefinition } from './define.js';
import { localTime, PRICES_TABLE, REPO_IDENTITY_CTE } from './sql.js';

/*
 * Usage and cost: the questions people ask first ("what did it cost", "how much today, this
 * week"). Every view here reads session_facts, where each session's local start and cost are
 * worked out once (the cost rule: SESSION_COST_CTE in sessions.ts): a session counts in the bucket it started in,
 * and every figure says how many sessions it estimated or could not price.
 */

/** Sessions whose cost_usd is an estimate rather than exact (for the `estimated_sessions` counts). */
const ESTIMATED_COST_BASES = "('multi_model_upper_bound', 'partially_priced')";

/** The token, cost and cache columns every usage view sums over its sessions (`f`: session_facts). */
const USAGE_SUMS = `count(*)                                                         AS session_count,
           sum(f.input_tokens)::HUGEINT                                     AS input_tokens,
           sum(f.output_tokens)::HUGEINT                                    AS output_tokens,
           sum(f.cache_read_tokens)::HUGEINT                                AS cache_read_tokens,
           sum(f.cache_creation_tokens)::HUGEINT                            AS cache_creation_tokens,
           sum(f.total_tokens)::HUGEINT                                     AS total_tokens,
           round(coalesce(sum(f.cost_usd), 0), 6)                           AS cost_usd,
           round(coalesce(sum(f.cost_usd_low), 0), 6)                       AS cost_usd_low,
           count(*) FILTER (WHERE f.cost_basis IN ${ESTIMATED_COST_BASES})  AS estimated_sessions,
           count(*) FILTER (WHERE f.cost_basis = 'unpriced')                AS unpriced_sessions,
           round(sum(f.cache_read_tokens)
                 / nullif(sum(f.input_tokens + f.cache_read_tokens + f.cache_creation_tokens), 0), 4)  AS cache_hit_ratio`;

const USAGE_COLUMNS_TEXT =
  'session_count: sessions started in it; input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens: their ' +
  'token counters summed; total_tokens: the four added up; cost_usd: their cost in USD summed (never NULL: unpriced ' +
  'sessions add nothing; multi-model sessions add their upper bound); cost_usd_low: the same with multi-model sessions ' +
  'at their cheapest model (for sessions whose models are all priced, the true cost lies between the two); estimated_sessions: sessions ' +
  'whose cost is an estimate (several models); unpriced_sessions: sessions with no priced model; cache_hit_ratio: cache ' +
  'reads / all input-side tokens (input + cache read + cache creation), 4 decimals (NULL when there are none).';

function usageByPeriod(name: string, key: string, bucket: string, what: string): ViewDefinition {
  return defineView({
    name,
    description:
      `How much was used, and what did it cost, ${what}? One row per ${key} on which at least one session started ` +
      `(${key}: ${bucket === 'day' ? 'the local date' : `the local date the ${key} starts on`} in the configured time ` +
      `zone; no row for ${key}s without sessions; undated sessions are left out). ${USAGE_COLUMNS_TEXT}`,
    keyColumns: [key],
    readsViews: ['session_facts'],
    sql: `
    SELECT ${bucket === 'day' ? 'f.started_day' : `date_trunc('${bucket}', f.started_day)::DATE`}  AS ${key},
           ${USAGE_SUMS}
    FROM session_facts f
    WHERE f.started_at IS NOT NULL
    GROUP BY ${key}
    ORDER BY ${key}`,
  });
}

export const usageDaily = usageByPeriod('usage_daily', 'day', 'day', 'each day');
export const usageWeekly = usageByPeriod('usage_weekly', 'week', 'week', 'each ISO week (Monday to Sunday)');
export const usageMonthly = usageByPeriod('usage_monthly', 'month', 'month', 'each calendar month');

/**
 * Cost per day stacked by model must add up to usage_daily: upstream gives tokens per session, not
 * per model, so a session is attributed whole to its one model, and sessions with several models
 * (or none) get a bucket of their own instead of being counted twice.
 */
export const usageDailyByModel = defineView({
  name: 'usage_daily_by_model',
  description:
    'How much did each model use and cost each day, in parts that add up to usage_daily? One row per (local day in the ' +
    'configured time zone, model) with at least one session that started that day. model: the one model a session ' +
    "used, '(several models)' for a session that used more than one, '(no model)' for a session with none " +
    '(<synthetic> is not a model). Each session counts once, so summing a day\'s rows gives that day\'s usage_daily ' +
    `row. ${USAGE_COLUMNS_TEXT}`,
  keyColumns: ['day', 'model'],
  readsViews: ['session_facts'],
  sql: `
    WITH attributed AS (
        SELECT f.*,
               list_filter(f.models, m -> m <> '<synthetic>')  AS real_models
        FROM session_facts f
        WHERE f.started_at IS NOT NULL
    )
    SELECT f.started_day                                                    AS day,
           CASE coalesce(len(f.real_models), 0) WHEN 0 THEN '(no model)'
                                   WHEN 1 THEN f.real_models[1]
                                   ELSE '(several models)'
           END                                                              AS model,
           ${USAGE_SUMS}
    FROM attributed f
    GROUP BY day, model
    ORDER BY day, model`,
});

export const usageByModel = defineView({
  name: 'usage_by_model',
  description:
    'What did each model cost? One row per model a session used (exact spelling; <synthetic> is not a model and has no ' +
    'row). priced: whether base.model_prices has the model; session_count: sessions that used it; ' +
    'single_model_sessions: those that used no other model; multi_model_sessions: those that also used another. ' +
    'input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, total_tokens and cost_usd count the ' +
    'single-model sessions only, the tokens known to be this model\'s (upstream gives tokens per session, not per ' +
    'model); cost_usd is NULL for an unpriced model.',
  keyColumns: ['model'],
  readsViews: ['session_facts'],
  sql: `
    WITH session_model AS (
        -- each session once per model it used ('<synthetic>' is no model), and how many that is
        SELECT unnest(list_filter(models, m -> m <> '<synthetic>'))  AS model,
               len(list_filter(models, m -> m <> '<synthetic>'))     AS model_count,
               input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, total_tokens, cost_usd
        FROM session_facts
    )
    SELECT u.model,
           p.model IS NOT NULL                                              AS priced,
           count(*)                                                         AS session_count,
           count(*) FILTER (WHERE u.model_count = 1)                        AS single_model_sessions,
           count(*) FILTER (WHERE u.model_count > 1)                        AS multi_model_sessions,
           coalesce(sum(u.input_tokens)          FILTER (WHERE u.model_count = 1), 0)::HUGEINT AS input_tokens,
           coalesce(sum(u.output_tokens)         FILTER (WHERE u.model_count = 1), 0)::HUGEINT AS output_tokens,
           coalesce(sum(u.cache_read_tokens)     FILTER (WHERE u.model_count = 1), 0)::HUGEINT AS cache_read_tokens,
           coalesce(sum(u.cache_creation_tokens) FILTER (WHERE u.model_count = 1), 0)::HUGEINT AS cache_creation_tokens,
           coalesce(sum(u.total_tokens)          FILTER (WHERE u.model_count = 1), 0)::HUGEINT AS total_tokens,
           CASE WHEN p.model IS NOT NULL
                THEN round(coalesce(sum(u.cost_usd) FILTER (WHERE u.model_count = 1), 0), 6)
           END                                                              AS cost_usd
    FROM session_model u
    LEFT JOIN ${PRICES_TABLE} p ON p.model = u.model
    GROUP BY u.model, p.model
    ORDER BY u.model`,
});

export const usageByRepo = defineView({
  name: 'usage_by_repo',
  description:
    'What did each repo cost? One row per repo_id. A session in several repos counts in full in each (summing across ' +
    'repos double-counts it). repo_name, repo_path: see repo_sessions; ' +
    `${USAGE_COLUMNS_TEXT.replace('sessions started in it', 'sessions of the repo, dated or not')} ` +
    'first_activity_at: the earliest session start (UTC); last_activity_at: the latest session end, or start when ' +
    'the end is unknown (UTC).',
  keyColumns: ['repo_id'],
  readsViews: ['session_facts'],
  sql: `
    WITH ${REPO_IDENTITY_CTE}
    SELECT r.repo_id,
           i.repo_name,
           i.repo_path,
           ${USAGE_SUMS},
           min(f.started_at)                                                AS first_activity_at,
           max(coalesce(greatest(f.ended_at, f.started_at), f.started_at))  AS last_activity_at
    FROM base.session_repos r          -- (session, repo) is unique here
    JOIN session_facts f    ON f.session_id = r.session_id
    JOIN repo_identity i    ON i.repo_id = r.repo_id
    GROUP BY r.repo_id, i.repo_name, i.repo_path
    ORDER BY r.repo_id`,
});

export const usageBlocks = defineView({
  name: 'usage_blocks',
  description:
    'How much went into each 5-hour usage block? Claude\'s usage limits count in 5-hour windows; this approximates them ' +
    'from session starts: a block starts at the first session start not inside an earlier block, floored to the UTC ' +
    'hour, and lasts 5 hours; a session belongs, with all its tokens, to the block it started in (upstream gives tokens ' +
    'per session, not per message, so a long session\'s later messages count in its first block). One row per block. ' +
    'block_start / block_end: UTC; block_start_local: block_start as wall-clock time in the configured zone; ' +
    'last_activity_at: the latest end (or start) of its sessions (UTC); is_active: block_end is still in the future ' +
    '(the puller redoes the view on its first tick after an active block ends, even when upstream has nothing new; while ' +
    'repo-recall cannot be reached, ticks fail and it waits); ' +
    USAGE_COLUMNS_TEXT.replace('sessions started in it', 'sessions started in the block'),
  keyColumns: ['block_start'],
  validUntilSql: `SELECT min(timezone('UTC', block_end)) FROM this WHERE is_active`,
  readsViews: ['session_facts'],
  sql: `
    WITH RECURSIVE start_hours AS (
        SELECT DISTINCT date_trunc('hour', started_at) AS hour
        FROM session_facts
        WHERE started_at IS NOT NULL
    ),
    runs AS (
        -- a gap of 5 hours or more always starts a block: cut the hours into runs there, so
        -- the walk below takes one step per block of the longest run, not one per block
        SELECT hour,
               sum(CASE WHEN hour - previous < INTERVAL 5 HOUR THEN 0 ELSE 1 END) OVER (ORDER BY hour)  AS run
        FROM (SELECT hour, lag(hour) OVER (ORDER BY hour) AS previous FROM start_hours)
    ),
    blocks(run, block_start) AS (
        SELECT run, min(hour)
        FROM runs
        GROUP BY run
        UNION ALL
        -- the next block of a run starts at its first start hour past the end of the previous block
        SELECT b.run, min(r.hour)
        FROM blocks b
        JOIN runs r ON r.run = b.run AND r.hour >= b.block_start + INTERVAL 5 HOUR
        GROUP BY b.run
    ),
    placed AS (
        SELECT b.block_start, f.*
        FROM session_facts f
        ASOF JOIN blocks b ON f.started_at >= b.block_start
        WHERE f.started_at IS NOT NULL
    )
    SELECT f.block_start,
           f.block_start + INTERVAL 5 HOUR                                  AS block_end,
           ${localTime('f.block_start')}  AS block_start_local,
           max(coalesce(greatest(f.ended_at, f.started_at), f.started_at))  AS last_activity_at,
           timezone('UTC', f.block_start + INTERVAL 5 HOUR) > now()         AS is_active,
           ${USAGE_SUMS}
    FROM placed f
    GROUP BY f.block_start
    ORDER BY f.block_start`,
});

export const USAGE_VIEWS = [usageDaily, usageWeekly, usageMonthly, usageDailyByModel, usageByModel, usageByRepo, usageBlocks];
