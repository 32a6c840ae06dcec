import { PRICES_TABLE } from './sql.js';

/*
 * The grain every usage figure is summed from. Two sources tell what a session used:
 * - base.messages, one row per API response read from Claude Code's transcripts on this machine:
 *   exact, each response at its own instant and its own model; priced once, in usage_hourly
 *   (usage-hourly.ts), summed per local hour, session and model;
 * - repo-recall's per-session totals (session_facts), for sessions whose transcripts are not here
 *   (another machine): one estimate per session, at its start, priced by session_facts' rule.
 * A session with responses is counted from them only, never from its estimate as well.
 */

/** What a response is counted under when it names no model: `<synthetic>` (Claude Code's own) or none. */
export const NO_MODEL = "'(no model)'";

/**
 * Every API response priced at its own model (`priced_messages`). A request whose input side
 * (input + 5-minute and 1-hour cache writes + cache reads) is over its model's long-context
 * threshold has all its tokens priced at the long rates (Anthropic's rule: the whole request, not
 * the part past the threshold). `<synthetic>` costs 0 and is no model; a model missing from the
 * price table (or none) is unpriced: cost NULL, never guessed. Read by usage_hourly, and by
 * usage_blocks, which needs each response's own instant.
 */
export const PRICED_MESSAGES_CTE = `message_rates AS (
        -- each response with the rates it is billed at (all NULL for an unpriced model)
        SELECT m.*,
               CASE WHEN m.input_tokens + m.cache_creation_5m_tokens + m.cache_creation_1h_tokens + m.cache_read_tokens
                         > p.long_context_threshold_tokens
                    THEN {input:    p.long_input_usd_per_mtok,         output:   p.long_output_usd_per_mtok,
                          write_5m: p.long_cache_write_usd_per_mtok,   write_1h: p.long_cache_write_1h_usd_per_mtok,
                          read:     p.long_cache_read_usd_per_mtok}
                    ELSE {input:    p.input_usd_per_mtok,              output:   p.output_usd_per_mtok,
                          write_5m: p.cache_write_usd_per_mtok,        write_1h: p.cache_write_1h_usd_per_mtok,
                          read:     p.cache_read_usd_per_mtok}
               END                                                     AS rate
        FROM base.messages m
        LEFT JOIN ${PRICES_TABLE} p ON p.model = m.model
    ),
    priced_messages AS (
        SELECT session_uuid,
               timestamp,
               CASE WHEN model IS NULL OR model IN ('', '<synthetic>') THEN ${NO_MODEL} ELSE model END  AS model,
               input_tokens,
               output_tokens,
               cache_read_tokens,
               cache_creation_5m_tokens + cache_creation_1h_tokens   AS cache_creation_tokens,
               cache_creation_1h_tokens,
               CASE WHEN model = '<synthetic>' THEN 0
                    ELSE (input_tokens             * rate.input
                        + output_tokens            * rate.output
                        + cache_creation_5m_tokens * rate.write_5m
                        + cache_creation_1h_tokens * rate.write_1h
                        + cache_read_tokens        * rate.read) / 1e6
               END                                                     AS cost_usd
        FROM message_rates
    )`;

/** The repo-recall session a transcript's session is, by uuid (`recall_session`). */
export const RECALL_SESSION_CTE = `recall_session AS (
        -- should several share one uuid, the lowest id: its responses count once
        SELECT session_uuid, min(session_id) AS session_id
        FROM base.sessions
        GROUP BY session_uuid
    )`;

/** The units of usage each session repo-recall knows but has no response here adds: its estimate (`f`: session_facts). */
const ESTIMATE_UNITS = `
        -- sessions whose transcripts are not here: today's session-level estimate
        SELECT false                                                   AS from_messages,
               f.session_uuid,
               f.session_id,
               f.started_at                                            AS used_at,
               coalesce(greatest(f.ended_at, f.started_at), f.started_at)  AS last_used_at,
               f.started_at_local                                      AS used_at_local,
               CASE len(f.real_models) WHEN 0 THEN ${NO_MODEL}
                                       WHEN 1 THEN f.real_models[1]
                                       ELSE '(several models)'
               END                                                     AS model,
               f.real_models,
               f.input_tokens, f.output_tokens, f.cache_read_tokens, f.cache_creation_tokens,
               0                                                       AS cache_creation_1h_tokens,
               f.cost_usd,
               f.cost_usd_low,
               f.cost_basis = 'unpriced'                               AS unpriced,
               f.cost_basis IN ('multi_model_upper_bound', 'partially_priced')  AS estimated,
               0                                                       AS api_response_count,
               0                                                       AS unpriced_responses
        FROM (SELECT *, list_filter(models, m -> m <> '<synthetic>') AS real_models FROM session_facts) f
        WHERE f.api_response_count IS NULL`;

/**
 * The units of usage (`usage_units`), each counted once: the responses of a session, model and
 * local hour (a row of usage_hourly, exact), and one estimate per session repo-recall knows that
 * has no response here (session_facts' figures, at its start). Columns: from_messages;
 * session_uuid; session_id (repo-recall's, NULL for a session only in transcripts); used_at (UTC:
 * the first response's instant, the session's start; NULL for an undated estimate); last_used_at
 * (the last response's instant, or the session's end or start); used_at_local (what calendar
 * buckets are cut from: the local hour, the session's local start); model (the responses' own,
 * '(no model)' for <synthetic> or none; for an estimate the session's one model, '(several
 * models)' or '(no model)'); real_models (an estimate's models, NULL for responses); the token
 * columns; cost_usd / cost_usd_low (equal for responses: the priced ones' cost, NULL when none
 * is priced); unpriced (some of the unit's usage has no known price); estimated (an estimate that
 * is no exact figure: several models); api_response_count and unpriced_responses (0 for an
 * estimate). Reads usage_hourly and session_facts: the view using it lists both in readsViews.
 */
export const USAGE_UNITS_CTE = `${RECALL_SESSION_CTE},
    usage_units AS MATERIALIZED (
        -- computed once however often the view reads it
        SELECT true                                                    AS from_messages,
               h.session_uuid,
               r.session_id,
               h.first_used_at                                         AS used_at,
               h.last_used_at,
               h.hour_start_local                                      AS used_at_local,
               h.model,
               NULL::VARCHAR[]                                         AS real_models,
               h.input_tokens, h.output_tokens, h.cache_read_tokens, h.cache_creation_tokens, h.cache_creation_1h_tokens,
               h.cost_usd,
               h.cost_usd                                              AS cost_usd_low,
               h.unpriced_responses > 0                                AS unpriced,
               false                                                   AS estimated,
               h.api_response_count,
               h.unpriced_responses
        FROM usage_hourly h
        LEFT JOIN recall_session r ON r.session_uuid = h.session_uuid
        UNION ALL${ESTIMATE_UNITS}
    )`;

/**
 * The same units with each API response on its own (`usage_units`), for usage_blocks, whose gap
 * rule needs every response's exact instant (an hour of usage_hourly can straddle a block's end).
 * session_id and used_at_local are NULL for the responses (blocks need neither). Reads
 * session_facts.
 */
export const RESPONSE_UNITS_CTE = `${PRICED_MESSAGES_CTE},
    usage_units AS MATERIALIZED (
        -- computed once however often the view reads it
        SELECT true                                                    AS from_messages,
               pm.session_uuid,
               NULL::BIGINT                                            AS session_id,
               pm.timestamp                                            AS used_at,
               pm.timestamp                                            AS last_used_at,
               NULL::TIMESTAMP                                         AS used_at_local,
               pm.model,
               NULL::VARCHAR[]                                         AS real_models,
               pm.input_tokens, pm.output_tokens, pm.cache_read_tokens, pm.cache_creation_tokens, pm.cache_creation_1h_tokens,
               pm.cost_usd,
               pm.cost_usd                                             AS cost_usd_low,
               pm.cost_usd IS NULL                                     AS unpriced,
               false                                                   AS estimated,
               1                                                       AS api_response_count,
               CASE WHEN pm.cost_usd IS NULL THEN 1 ELSE 0 END         AS unpriced_responses
        FROM priced_messages pm
        UNION ALL${ESTIMATE_UNITS}
    )`;
