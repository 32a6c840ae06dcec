import { PRICES_TABLE } from './sql.js';

/*
 * The grain every usage figure is summed from. Two sources tell what a session used:
 * - base.messages, one row per API response read from Claude Code's transcripts on this machine:
 *   exact, each response at its own instant and its own model;
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
 * price table (or none) is unpriced: cost NULL, never guessed.
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
    ),
    recall_session AS (
        -- the repo-recall session a transcript's session is, by uuid (should several share one uuid,
        -- the lowest id: its responses count once)
        SELECT session_uuid, min(session_id) AS session_id
        FROM base.sessions
        GROUP BY session_uuid
    )`;

/**
 * The units of usage (`usage_units`), each counted once: every API response (exact), and one
 * estimate per session repo-recall knows that has no response here (session_facts' figures, at
 * its start). Columns: from_messages; session_uuid; session_id (repo-recall's, NULL for a session
 * only in transcripts); used_at (UTC: the response's instant, the session's start; NULL for an undated
 * estimate); last_used_at (the response's instant, or the session's end or start); model (the
 * response's own, '(no model)' for <synthetic> or none; for an estimate the session's one model,
 * '(several models)' or '(no model)'); real_models (an estimate's models, NULL for a response);
 * the token columns; cost_usd / cost_usd_low (equal for a response); priced (false: an unpriced
 * model, the cost is NULL); estimated (an estimate that is no exact figure: several models).
 * Reads session_facts: the view using it lists it in readsViews.
 */
export const USAGE_UNITS_CTE = `${PRICED_MESSAGES_CTE},
    usage_units AS MATERIALIZED (
        -- computed once however often the view reads it
        SELECT true                                                    AS from_messages,
               pm.session_uuid,
               r.session_id,
               pm.timestamp                                            AS used_at,
               pm.timestamp                                            AS last_used_at,
               pm.model,
               NULL::VARCHAR[]                                         AS real_models,
               pm.input_tokens, pm.output_tokens, pm.cache_read_tokens, pm.cache_creation_tokens, pm.cache_creation_1h_tokens,
               pm.cost_usd,
               pm.cost_usd                                             AS cost_usd_low,
               pm.cost_usd IS NOT NULL                                 AS priced,
               false                                                   AS estimated
        FROM priced_messages pm
        LEFT JOIN recall_session r ON r.session_uuid = pm.session_uuid
        UNION ALL
        -- sessions whose transcripts are not here: today's session-level estimate
        SELECT false,
               f.session_uuid,
               f.session_id,
               f.started_at,
               coalesce(greatest(f.ended_at, f.started_at), f.started_at),
               CASE len(f.real_models) WHEN 0 THEN ${NO_MODEL}
                                       WHEN 1 THEN f.real_models[1]
                                       ELSE '(several models)'
               END,
               f.real_models,
               f.input_tokens, f.output_tokens, f.cache_read_tokens, f.cache_creation_tokens, 0,
               f.cost_usd,
               f.cost_usd_low,
               f.cost_basis <> 'unpriced',
               f.cost_basis IN ('multi_model_upper_bound', 'partially_priced')
        FROM (SELECT *, list_filter(models, m -> m <> '<synthetic>') AS real_models FROM session_facts) f
        WHERE f.api_response_count IS NULL
    )`;
