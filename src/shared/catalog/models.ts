import { defineView } from './define.js';

/*
 * Model and token usage. Upstream gives tokens per session, not per model, and a session often
 * uses several models (a main one plus a small one for housekeeping). A session's tokens are
 * therefore attributed in full to every model it used (summing across models double-counts those
 * sessions; shared_session_count says how many). Sessions that report no model are in no model
 * view (their tokens still count in usage_daily). Model names keep upstream's spelling,
 * including pseudo-models such as "<synthetic>".
 */

const modelSessions = defineView({
  name: 'model_sessions',
  description:
    'Which sessions used a given model? Inverted index from model name to sessions: one row per model name as upstream ' +
    'spells it. session_count: sessions that list the model in models_used; session_ids: those sessions, ascending.',
  keyColumns: ['model'],
  sql: `
    SELECT model,
           count(DISTINCT session_id)                     AS session_count,
           list(DISTINCT session_id ORDER BY session_id)  AS session_ids
    FROM base.session_models
    GROUP BY model
    ORDER BY model`,
});

const modelTokens = defineView({
  name: 'model_tokens',
  description:
    'How many tokens went through sessions using each model? One row per model name. A session that used several models ' +
    "counts in full for each of them (shared_session_count: how many of this model's sessions also used another model). " +
    'session_count: sessions that used the model; input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens: ' +
    "those sessions' token counters summed (session_facts': from the transcripts where they are here); total_tokens: the four added up; first_started_at / last_started_at: earliest / " +
    'latest start (UTC) of those sessions, ignoring sessions with no start time.',
  keyColumns: ['model'],
  readsViews: ['session_facts'],
  sql: `
    WITH session_model AS (
        SELECT DISTINCT session_id, model
        FROM base.session_models
    ),
    models_per_session AS (
        SELECT session_id, count(*) AS models
        FROM session_model
        GROUP BY session_id
    )
    SELECT sm.model,
           count(*)                                       AS session_count,
           count(*) FILTER (WHERE mps.models > 1)         AS shared_session_count,
           sum(s.input_tokens)::HUGEINT                   AS input_tokens,
           sum(s.output_tokens)::HUGEINT                  AS output_tokens,
           sum(s.cache_read_tokens)::HUGEINT              AS cache_read_tokens,
           sum(s.cache_creation_tokens)::HUGEINT          AS cache_creation_tokens,
           sum(s.total_tokens)::HUGEINT                   AS total_tokens,
           min(s.started_at)                              AS first_started_at,
           max(s.started_at)                              AS last_started_at
    FROM session_model sm
    JOIN session_facts s            ON s.session_id = sm.session_id
    JOIN models_per_session mps     ON mps.session_id = sm.session_id
    GROUP BY sm.model
    ORDER BY sm.model`,
});

const modelDailyTokens = defineView({
  name: 'model_daily_tokens',
  description:
    'How many tokens went through each model each day? One row per (local day in the configured time zone, model name) ' +
    'with at least one session that started that day and used the model. Same attribution as model_tokens (a multi-model ' +
    'session counts in full for each model) and the same day rule as usage_daily (start day, undated sessions left out). session_count, ' +
    'input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, total_tokens: as in model_tokens, for that day.',
  keyColumns: ['day', 'model'],
  readsViews: ['session_facts'],
  sql: `
    SELECT f.started_day                                  AS day,
           m.model,
           count(*)                                       AS session_count,
           sum(f.input_tokens)::HUGEINT                   AS input_tokens,
           sum(f.output_tokens)::HUGEINT                  AS output_tokens,
           sum(f.cache_read_tokens)::HUGEINT              AS cache_read_tokens,
           sum(f.cache_creation_tokens)::HUGEINT          AS cache_creation_tokens,
           sum(f.total_tokens)::HUGEINT                   AS total_tokens
    FROM base.session_models m          -- (session, model) is unique here
    JOIN session_facts f ON f.session_id = m.session_id
    WHERE f.started_at IS NOT NULL
    GROUP BY f.started_day, m.model
    ORDER BY day, m.model`,
});

export const MODEL_VIEWS = [modelSessions, modelTokens, modelDailyTokens];
