import { defineView } from './define.js';
import { localTime, PRICES_TABLE, totalTokens } from './sql.js';
import { RECALL_SESSION_CTE } from './usage-units.js';

/*
 * Session facts: one wide row per session, the table an analyst filters and pivots on. Every loaded
 * session has a row, including sessions with no start time, no repo, no model or unreadable counts.
 * Unknown is NULL, none is 0: when a session's tool-call counts could not be read its tool columns
 * are NULL (not 0), and the two *_ok flags say which counts were readable.
 */

/** A session's four token counters priced at one model's rates, in USD (`s`: the session, `p`: the price row). */
function tokenCost(s: string, p: string): string {
  return `(${s}.input_tokens          * ${p}.input_usd_per_mtok
                      + ${s}.output_tokens         * ${p}.output_usd_per_mtok
                      + ${s}.cache_creation_tokens * ${p}.cache_write_usd_per_mtok
                      + ${s}.cache_read_tokens     * ${p}.cache_read_usd_per_mtok) / 1e6`;
}

/**
 * What each session cost, one row per session (`session_cost`). Upstream gives a session's token
 * totals and the set of models it used, not tokens per model, so:
 * - one model, priced: exact (`single_model`);
 * - several models, all priced: every token at the dearest of them (`cost_usd`, an upper bound)
 *   and at the cheapest (`cost_usd_low`) (`multi_model_upper_bound`);
 * - some priced, some not: the same two figures over the priced ones, an estimate that is no
 *   bound (`partially_priced`);
 * - no priced model (or none at all): NULL (`unpriced`). Unknown models are never guessed.
 * `<synthetic>` (messages Claude Code wrote itself) is not a model.
 */
const SESSION_COST_CTE = `${RECALL_SESSION_CTE},
    models_used AS (
        -- the models a session used, for pricing ((session, model) is unique in base.session_models);
        -- '<synthetic>' marks messages Claude Code wrote itself, no model
        SELECT session_id, model
        FROM base.session_models
        WHERE model <> '<synthetic>'
    ),
    priced_per_session AS (
        -- every session once: its models counted, and all its tokens priced at each priced one
        SELECT s.session_id,
               count(u.model)                                        AS model_count,
               count(p.model)                                        AS priced_model_count,
               max(${tokenCost('s', 'p')})  AS cost_high,
               min(${tokenCost('s', 'p')})  AS cost_low
        FROM base.sessions s
        LEFT JOIN models_used u       ON u.session_id = s.session_id
        LEFT JOIN ${PRICES_TABLE} p   ON p.model = u.model
        GROUP BY s.session_id
    ),
    message_totals AS (
        -- what the transcripts here say each session used, summed over its hours in usage_hourly
        -- (its API responses, priced there); the responses of a uuid count for one session
        -- (recall_session), another session with the same uuid gets zeros rather than an estimate
        -- that would count them again
        SELECT s.session_id,
               coalesce(sum(h.api_response_count)       FILTER (WHERE s.session_id = r.session_id), 0)::BIGINT AS api_response_count,
               coalesce(sum(h.unpriced_responses)       FILTER (WHERE s.session_id = r.session_id), 0)::BIGINT AS unpriced_responses,
               coalesce(sum(h.input_tokens)             FILTER (WHERE s.session_id = r.session_id), 0) AS input_tokens,
               coalesce(sum(h.output_tokens)            FILTER (WHERE s.session_id = r.session_id), 0) AS output_tokens,
               coalesce(sum(h.cache_read_tokens)        FILTER (WHERE s.session_id = r.session_id), 0) AS cache_read_tokens,
               coalesce(sum(h.cache_creation_tokens)    FILTER (WHERE s.session_id = r.session_id), 0) AS cache_creation_tokens,
               coalesce(sum(h.cache_creation_1h_tokens) FILTER (WHERE s.session_id = r.session_id), 0) AS cache_creation_1h_tokens,
               sum(h.cost_usd)                          FILTER (WHERE s.session_id = r.session_id)     AS cost_usd
        FROM base.sessions s
        JOIN recall_session r      ON r.session_uuid = s.session_uuid
        JOIN usage_hourly h        ON h.session_uuid = s.session_uuid
        GROUP BY s.session_id
    ),
    session_cost AS (
        SELECT session_id,
               model_count,
               cost_high                                             AS cost_usd,
               cost_low                                              AS cost_usd_low,
               CASE WHEN priced_model_count = 0                      THEN 'unpriced'
                    WHEN model_count = 1                             THEN 'single_model'
                    WHEN priced_model_count = model_count            THEN 'multi_model_upper_bound'
                    ELSE 'partially_priced'
               END                                                   AS cost_basis
        FROM priced_per_session
    )`;

const sessionFacts = defineView({
  name: 'session_facts',
  description:
    'What happened in each session? One row per session (every loaded session, dated or not). ' +
    'session_id, session_uuid, cwd: as upstream sent them; started_at / ended_at: UTC, NULL when unknown; ' +
    'started_day: the local date of started_at (in the configured time zone, see freshness.timezone); started_at_local: ' +
    "started_at as wall-clock time in that zone (what every calendar view buckets on); duration_seconds: upstream's duration_ms / 1000 when sent, otherwise " +
    'ended_at - started_at when both are known and in order, otherwise NULL; message_count, user_message_count, ' +
    'assistant_message_count: as upstream sent them; input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens: ' +
    "summed over the session's API responses read from Claude Code's transcripts on this machine (base.messages, " +
    'de-duplicated, priced in usage_hourly; cache_creation_tokens counts 5-minute and 1-hour cache writes) where there are any, otherwise as ' +
    'upstream sent them (repo-recall sums every transcript line, so its totals over-count); total_tokens: the four token ' +
    'counters added up; ' +
    'repo_count / repo_ids / repo_names: the repos the session belongs to (ids ascending, names in the same order; 0 and ' +
    'empty lists for none); models / model_count: the distinct models used, names ascending, and how many; tool_count: distinct tools ' +
    'called; tool_calls / tool_errors: calls and failed calls over all tools (the three tool columns are NULL when ' +
    "tool_counts_ok is false, i.e. upstream's tool-call counts could not be read); sidechain_message_count: upstream's " +
    'is_sidechain_count (messages in sub-agent sidechains); uses_sidechain: sidechain_message_count > 0; ' +
    'stop_reasons_ok: whether the stop-reason counts could be read (see session_stop_reasons); ' +
    'cost_usd / cost_usd_low / cost_basis: what the session cost in USD, by the rule of the "Usage and cost" views. ' +
    'With API responses here: each response priced at its own model (messages: exact, both equal; ' +
    'messages_partially_priced: some responses are of an unpriced model, the sum of the priced ones; messages_unpriced: ' +
    "none priced, both NULL). Without (transcripts on another machine), an estimate from upstream's totals " +
    '(single_model: exact, both equal; multi_model_upper_bound: cost_usd prices every token at the dearest model used, ' +
    'cost_usd_low at the cheapest; partially_priced: the same over the priced models only, an estimate; unpriced: both NULL). ' +
    "api_response_count: the session's API responses read from the transcripts (NULL when none are here: then the token " +
    "and cost columns are upstream's); unpriced_responses: those of an unpriced model; cache_creation_1h_tokens: the " +
    'part of cache_creation_tokens written to the 1-hour cache (NULL without responses: upstream does not tell). ' +
    'Should several sessions share one session_uuid, its responses count for the lowest session_id; the others show 0.',
  keyColumns: ['session_id'],
  readsViews: ['usage_hourly'],
  sql: `
    WITH ${SESSION_COST_CTE},
    repos AS (
        -- (session, repo) is unique in base.session_repos; ids ascending, names in the same order
        SELECT session_id,
               count(*)                                             AS repo_count,
               list_sort(list({id: repo_id, name: repo_name}))      AS repos
        FROM base.session_repos
        GROUP BY session_id
    ),
    models AS (
        -- (session, model) is unique in base.session_models, which holds no NULL or '' model
        SELECT session_id,
               list(model ORDER BY model)  AS models
        FROM base.session_models
        GROUP BY session_id
    ),
    tools AS (
        SELECT session_id,
               count(DISTINCT tool_name)  AS tool_count,
               sum(calls)                 AS tool_calls,
               sum(errors)                AS tool_errors
        FROM base.tool_calls
        GROUP BY session_id
    )
    SELECT s.session_id,
           s.session_uuid,
           s.cwd,
           s.started_at,
           s.ended_at,
           s.started_at_local::DATE                                  AS started_day,
           s.started_at_local,
           CASE WHEN s.duration_ms IS NOT NULL        THEN round(s.duration_ms / 1000, 3)
                WHEN s.ended_at >= s.started_at       THEN epoch(s.ended_at - s.started_at)
           END                                                       AS duration_seconds,
           s.message_count,
           s.user_message_count,
           s.assistant_message_count,
           -- from the transcripts where they are here, else as upstream sent them
           coalesce(mt.input_tokens, s.input_tokens)::HUGEINT                     AS input_tokens,
           coalesce(mt.output_tokens, s.output_tokens)::HUGEINT                   AS output_tokens,
           coalesce(mt.cache_read_tokens, s.cache_read_tokens)::HUGEINT           AS cache_read_tokens,
           coalesce(mt.cache_creation_tokens, s.cache_creation_tokens)::HUGEINT   AS cache_creation_tokens,
           coalesce(${totalTokens('mt')}, ${totalTokens('s')})::HUGEINT  AS total_tokens,
           coalesce(r.repo_count, 0)                                 AS repo_count,
           coalesce(list_transform(r.repos, x -> x.id), [])          AS repo_ids,
           coalesce(list_transform(r.repos, x -> x.name), [])        AS repo_names,
           coalesce(m.models, [])                                    AS models,
           coalesce(len(m.models), 0)                                AS model_count,
           CASE WHEN s.tool_counts_ok THEN coalesce(t.tool_count, 0) END           AS tool_count,
           CASE WHEN s.tool_counts_ok THEN coalesce(t.tool_calls, 0) END::HUGEINT  AS tool_calls,
           CASE WHEN s.tool_counts_ok THEN coalesce(t.tool_errors, 0) END::HUGEINT AS tool_errors,
           s.is_sidechain_count                                      AS sidechain_message_count,
           s.is_sidechain_count > 0                                  AS uses_sidechain,
           s.tool_counts_ok,
           s.stop_reasons_ok,
           CASE WHEN mt.session_id IS NULL                 THEN round(c.cost_usd, 6)
                WHEN mt.unpriced_responses = mt.api_response_count AND mt.api_response_count > 0 THEN NULL
                ELSE round(coalesce(mt.cost_usd, 0), 6)
           END                                                       AS cost_usd,
           CASE WHEN mt.session_id IS NULL                 THEN round(c.cost_usd_low, 6)
                WHEN mt.unpriced_responses = mt.api_response_count AND mt.api_response_count > 0 THEN NULL
                ELSE round(coalesce(mt.cost_usd, 0), 6)
           END                                                       AS cost_usd_low,
           CASE WHEN mt.session_id IS NULL                 THEN c.cost_basis
                WHEN mt.unpriced_responses = 0             THEN 'messages'
                WHEN mt.unpriced_responses < mt.api_response_count THEN 'messages_partially_priced'
                ELSE 'messages_unpriced'                   -- no response of a priced model
           END                                                       AS cost_basis,
           mt.api_response_count,
           mt.unpriced_responses,
           mt.cache_creation_1h_tokens::HUGEINT                      AS cache_creation_1h_tokens
    FROM (SELECT *, ${localTime('started_at')} AS started_at_local FROM base.sessions) s
    JOIN session_cost c           ON c.session_id = s.session_id
    LEFT JOIN message_totals mt   ON mt.session_id = s.session_id
    LEFT JOIN repos r   ON r.session_id = s.session_id
    LEFT JOIN models m  ON m.session_id = s.session_id
    LEFT JOIN tools t   ON t.session_id = s.session_id
    ORDER BY s.session_id`,
});

export const SESSION_VIEWS = [sessionFacts];
