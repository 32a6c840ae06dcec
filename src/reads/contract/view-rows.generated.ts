/**
 * Generated from the catalog (src/shared/catalog/) by `npm run generate`. Do not edit by hand: a
 * test fails when this file is stale.
 *
 * One interface per view: a row of it as the read API returns it in JSON (`GET /views/{name}`;
 * rows are rendered by DuckDB's to_json). BIGINT and DOUBLE are numbers, DATE and TIMESTAMP
 * strings (`2024-01-02`, `2024-01-02 03:04:05`, UTC), lists arrays. Key columns are never null;
 * any other column may be (a DOUBLE that is NaN or infinite is rendered as null too), and so may
 * a list's elements (DuckDB's types do not say when they cannot be).
 */

/**
 * `usage_hourly`: How much did each session use, and what did it cost, hour by hour? The API
 * responses read from Claude Code's transcripts on this machine (base.messages), each priced at its
 * own model (see "Usage and cost"), summed per local hour in the configured time zone, session and
 * model: what usage charts and a "now" panel read, and what session_facts and the usage views sum
 * from. Sessions whose transcripts are not here (repo-recall's estimates) have no rows. One row per
 * (hour_start, session_uuid, model) with responses. hour_start: the UTC instant the local hour
 * began (its wall-clock start in the zone; for a zone half an hour off UTC, such as Asia/Kolkata, a
 * half hour in UTC; the hour repeated when the clocks go back is two rows); hour_start_local: the
 * local hour the responses are in, as wall-clock time in the zone (its ::DATE is their local day);
 * session_uuid: the transcript's session id (session_facts.session_uuid for a session repo-recall
 * knows); model: the responses' model, '(no model)' for those of <synthetic> (Claude Code's own,
 * which cost nothing) or of no model; input_tokens, output_tokens, cache_read_tokens,
 * cache_creation_tokens (5-minute and 1-hour cache writes), cache_creation_1h_tokens (the 1-hour
 * part): summed over the responses; api_response_count: the responses; unpriced_responses: those of
 * a model with no known price (counted in the tokens, not in the cost); cost_usd: the cost in USD
 * of the priced responses, summed unrounded (round the sums you take of it), NULL when none of them
 * is priced; first_used_at / last_used_at: the first and last response (UTC).
 */
export interface UsageHourlyRow {
  /** `TIMESTAMP`, key */
  hour_start: string;
  /** `TIMESTAMP` */
  hour_start_local: string | null;
  /** `VARCHAR`, key */
  session_uuid: string;
  /** `VARCHAR`, key */
  model: string;
  /** `BIGINT` */
  input_tokens: number | null;
  /** `BIGINT` */
  output_tokens: number | null;
  /** `BIGINT` */
  cache_read_tokens: number | null;
  /** `BIGINT` */
  cache_creation_tokens: number | null;
  /** `BIGINT` */
  cache_creation_1h_tokens: number | null;
  /** `BIGINT` */
  api_response_count: number | null;
  /** `BIGINT` */
  unpriced_responses: number | null;
  /** `DOUBLE` */
  cost_usd: number | null;
  /** `TIMESTAMP` */
  first_used_at: string | null;
  /** `TIMESTAMP` */
  last_used_at: string | null;
}

/**
 * `session_facts`: What happened in each session? One row per session (every loaded session, dated
 * or not). session_id, session_uuid, cwd: as upstream sent them; started_at / ended_at: UTC, NULL
 * when unknown; started_day: the local date of started_at (in the configured time zone, see
 * freshness.timezone); started_at_local: started_at as wall-clock time in that zone (what every
 * calendar view buckets on); duration_seconds: upstream's duration_ms / 1000 when sent, otherwise
 * ended_at - started_at when both are known and in order, otherwise NULL; message_count,
 * user_message_count, assistant_message_count: as upstream sent them; input_tokens, output_tokens,
 * cache_read_tokens, cache_creation_tokens: summed over the session's API responses read from
 * Claude Code's transcripts on this machine (base.messages, de-duplicated, priced in usage_hourly;
 * cache_creation_tokens counts 5-minute and 1-hour cache writes) where there are any, otherwise as
 * upstream sent them (repo-recall sums every transcript line, so its totals over-count);
 * total_tokens: the four token counters added up; repo_count / repo_ids / repo_names: the repos the
 * session belongs to (ids ascending, names in the same order; 0 and empty lists for none); models /
 * model_count: the distinct models used, names ascending, and how many; tool_count: distinct tools
 * called; tool_calls / tool_errors: calls and failed calls over all tools (the three tool columns
 * are NULL when tool_counts_ok is false, i.e. upstream's tool-call counts could not be read);
 * sidechain_message_count: upstream's is_sidechain_count (messages in sub-agent sidechains);
 * uses_sidechain: sidechain_message_count > 0; stop_reasons_ok: whether the stop-reason counts
 * could be read (see session_stop_reasons); cost_usd / cost_usd_low / cost_basis: what the session
 * cost in USD, by the rule of the "Usage and cost" views. With API responses here: each response
 * priced at its own model (messages: exact, both equal; messages_partially_priced: some responses
 * are of an unpriced model, the sum of the priced ones; messages_unpriced: none priced, both NULL).
 * Without (transcripts on another machine), an estimate from upstream's totals (single_model:
 * exact, both equal; multi_model_upper_bound: cost_usd prices every token at the dearest model
 * used, cost_usd_low at the cheapest; partially_priced: the same over the priced models only, an
 * estimate; unpriced: both NULL). api_response_count: the session's API responses read from the
 * transcripts (NULL when none are here: then the token and cost columns are upstream's);
 * unpriced_responses: those of an unpriced model; cache_creation_1h_tokens: the part of
 * cache_creation_tokens written to the 1-hour cache (NULL without responses: upstream does not
 * tell). Should several sessions share one session_uuid, its responses count for the lowest
 * session_id; the others show 0.
 */
export interface SessionFactsRow {
  /** `BIGINT`, key */
  session_id: number;
  /** `VARCHAR` */
  session_uuid: string | null;
  /** `VARCHAR` */
  cwd: string | null;
  /** `TIMESTAMP` */
  started_at: string | null;
  /** `TIMESTAMP` */
  ended_at: string | null;
  /** `DATE` */
  started_day: string | null;
  /** `TIMESTAMP` */
  started_at_local: string | null;
  /** `DOUBLE` */
  duration_seconds: number | null;
  /** `BIGINT` */
  message_count: number | null;
  /** `BIGINT` */
  user_message_count: number | null;
  /** `BIGINT` */
  assistant_message_count: number | null;
  /** `HUGEINT` */
  input_tokens: number | null;
  /** `HUGEINT` */
  output_tokens: number | null;
  /** `HUGEINT` */
  cache_read_tokens: number | null;
  /** `HUGEINT` */
  cache_creation_tokens: number | null;
  /** `HUGEINT` */
  total_tokens: number | null;
  /** `BIGINT` */
  repo_count: number | null;
  /** `BIGINT[]` */
  repo_ids: (number | null)[] | null;
  /** `VARCHAR[]` */
  repo_names: (string | null)[] | null;
  /** `VARCHAR[]` */
  models: (string | null)[] | null;
  /** `BIGINT` */
  model_count: number | null;
  /** `BIGINT` */
  tool_count: number | null;
  /** `HUGEINT` */
  tool_calls: number | null;
  /** `HUGEINT` */
  tool_errors: number | null;
  /** `BIGINT` */
  sidechain_message_count: number | null;
  /** `BOOLEAN` */
  uses_sidechain: boolean | null;
  /** `BOOLEAN` */
  tool_counts_ok: boolean | null;
  /** `BOOLEAN` */
  stop_reasons_ok: boolean | null;
  /** `DOUBLE` */
  cost_usd: number | null;
  /** `DOUBLE` */
  cost_usd_low: number | null;
  /** `VARCHAR` */
  cost_basis: string | null;
  /** `BIGINT` */
  api_response_count: number | null;
  /** `BIGINT` */
  unpriced_responses: number | null;
  /** `HUGEINT` */
  cache_creation_1h_tokens: number | null;
}

/**
 * `usage_daily`: How much was used, and what did it cost, each day? One row per day with usage
 * (day: the local date in the configured time zone, of each response's own timestamp, or of an
 * estimated session's start; no row for days without usage; undated estimates are left out). Usage
 * is counted per API response read from Claude Code's transcripts (at its own instant and model,
 * exact), and for each session repo-recall knows whose transcripts are not here, once, by its
 * session-level estimate at its start; sessions only in transcripts count too. session_count:
 * sessions with usage in it (a session counts in every bucket it has usage in: a session across
 * local midnight on both days, a two-model session under both models); input_tokens, output_tokens,
 * cache_read_tokens, cache_creation_tokens (5-minute and 1-hour cache writes): the tokens summed;
 * total_tokens: the four added up; cost_usd: the cost in USD summed (never NULL: unpriced usage
 * adds nothing; an estimated session adds its upper bound); cost_usd_low: the same with estimated
 * sessions at their cheapest model (equal to cost_usd where every figure is exact; for estimates
 * whose models are all priced, the true cost lies between the two); estimated_sessions: sessions
 * counted from an estimate that is no exact figure (no transcripts here, several models);
 * unpriced_sessions: sessions with usage of no known price in the bucket (an unknown model: at
 * least one such response, or an estimate with no priced model); cache_hit_ratio: cache reads / all
 * input-side tokens (input + cache read + cache creation), 4 decimals (NULL when there are none);
 * cache_creation_1h_tokens: the part of cache_creation_tokens written to the 1-hour cache (known
 * from responses only); api_response_count: API responses counted (0 where only estimates are);
 * unpriced_responses: those of an unpriced model (counted in the tokens, not in the cost).
 */
export interface UsageDailyRow {
  /** `DATE`, key */
  day: string;
  /** `BIGINT` */
  session_count: number | null;
  /** `HUGEINT` */
  input_tokens: number | null;
  /** `HUGEINT` */
  output_tokens: number | null;
  /** `HUGEINT` */
  cache_read_tokens: number | null;
  /** `HUGEINT` */
  cache_creation_tokens: number | null;
  /** `HUGEINT` */
  total_tokens: number | null;
  /** `DOUBLE` */
  cost_usd: number | null;
  /** `DOUBLE` */
  cost_usd_low: number | null;
  /** `BIGINT` */
  estimated_sessions: number | null;
  /** `BIGINT` */
  unpriced_sessions: number | null;
  /** `DOUBLE` */
  cache_hit_ratio: number | null;
  /** `HUGEINT` */
  cache_creation_1h_tokens: number | null;
  /** `BIGINT` */
  api_response_count: number | null;
  /** `BIGINT` */
  unpriced_responses: number | null;
}

/**
 * `usage_weekly`: How much was used, and what did it cost, each ISO week (Monday to Sunday)? One
 * row per week with usage (week: the local date the week starts on in the configured time zone, of
 * each response's own timestamp, or of an estimated session's start; no row for weeks without
 * usage; undated estimates are left out). Usage is counted per API response read from Claude Code's
 * transcripts (at its own instant and model, exact), and for each session repo-recall knows whose
 * transcripts are not here, once, by its session-level estimate at its start; sessions only in
 * transcripts count too. session_count: sessions with usage in it (a session counts in every bucket
 * it has usage in: a session across local midnight on both days, a two-model session under both
 * models); input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens (5-minute and
 * 1-hour cache writes): the tokens summed; total_tokens: the four added up; cost_usd: the cost in
 * USD summed (never NULL: unpriced usage adds nothing; an estimated session adds its upper bound);
 * cost_usd_low: the same with estimated sessions at their cheapest model (equal to cost_usd where
 * every figure is exact; for estimates whose models are all priced, the true cost lies between the
 * two); estimated_sessions: sessions counted from an estimate that is no exact figure (no
 * transcripts here, several models); unpriced_sessions: sessions with usage of no known price in
 * the bucket (an unknown model: at least one such response, or an estimate with no priced model);
 * cache_hit_ratio: cache reads / all input-side tokens (input + cache read + cache creation), 4
 * decimals (NULL when there are none); cache_creation_1h_tokens: the part of cache_creation_tokens
 * written to the 1-hour cache (known from responses only); api_response_count: API responses
 * counted (0 where only estimates are); unpriced_responses: those of an unpriced model (counted in
 * the tokens, not in the cost).
 */
export interface UsageWeeklyRow {
  /** `DATE`, key */
  week: string;
  /** `BIGINT` */
  session_count: number | null;
  /** `HUGEINT` */
  input_tokens: number | null;
  /** `HUGEINT` */
  output_tokens: number | null;
  /** `HUGEINT` */
  cache_read_tokens: number | null;
  /** `HUGEINT` */
  cache_creation_tokens: number | null;
  /** `HUGEINT` */
  total_tokens: number | null;
  /** `DOUBLE` */
  cost_usd: number | null;
  /** `DOUBLE` */
  cost_usd_low: number | null;
  /** `BIGINT` */
  estimated_sessions: number | null;
  /** `BIGINT` */
  unpriced_sessions: number | null;
  /** `DOUBLE` */
  cache_hit_ratio: number | null;
  /** `HUGEINT` */
  cache_creation_1h_tokens: number | null;
  /** `BIGINT` */
  api_response_count: number | null;
  /** `BIGINT` */
  unpriced_responses: number | null;
}

/**
 * `usage_monthly`: How much was used, and what did it cost, each calendar month? One row per month
 * with usage (month: the local date the month starts on in the configured time zone, of each
 * response's own timestamp, or of an estimated session's start; no row for months without usage;
 * undated estimates are left out). Usage is counted per API response read from Claude Code's
 * transcripts (at its own instant and model, exact), and for each session repo-recall knows whose
 * transcripts are not here, once, by its session-level estimate at its start; sessions only in
 * transcripts count too. session_count: sessions with usage in it (a session counts in every bucket
 * it has usage in: a session across local midnight on both days, a two-model session under both
 * models); input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens (5-minute and
 * 1-hour cache writes): the tokens summed; total_tokens: the four added up; cost_usd: the cost in
 * USD summed (never NULL: unpriced usage adds nothing; an estimated session adds its upper bound);
 * cost_usd_low: the same with estimated sessions at their cheapest model (equal to cost_usd where
 * every figure is exact; for estimates whose models are all priced, the true cost lies between the
 * two); estimated_sessions: sessions counted from an estimate that is no exact figure (no
 * transcripts here, several models); unpriced_sessions: sessions with usage of no known price in
 * the bucket (an unknown model: at least one such response, or an estimate with no priced model);
 * cache_hit_ratio: cache reads / all input-side tokens (input + cache read + cache creation), 4
 * decimals (NULL when there are none); cache_creation_1h_tokens: the part of cache_creation_tokens
 * written to the 1-hour cache (known from responses only); api_response_count: API responses
 * counted (0 where only estimates are); unpriced_responses: those of an unpriced model (counted in
 * the tokens, not in the cost).
 */
export interface UsageMonthlyRow {
  /** `DATE`, key */
  month: string;
  /** `BIGINT` */
  session_count: number | null;
  /** `HUGEINT` */
  input_tokens: number | null;
  /** `HUGEINT` */
  output_tokens: number | null;
  /** `HUGEINT` */
  cache_read_tokens: number | null;
  /** `HUGEINT` */
  cache_creation_tokens: number | null;
  /** `HUGEINT` */
  total_tokens: number | null;
  /** `DOUBLE` */
  cost_usd: number | null;
  /** `DOUBLE` */
  cost_usd_low: number | null;
  /** `BIGINT` */
  estimated_sessions: number | null;
  /** `BIGINT` */
  unpriced_sessions: number | null;
  /** `DOUBLE` */
  cache_hit_ratio: number | null;
  /** `HUGEINT` */
  cache_creation_1h_tokens: number | null;
  /** `BIGINT` */
  api_response_count: number | null;
  /** `BIGINT` */
  unpriced_responses: number | null;
}

/**
 * `usage_daily_by_model`: How much did each model use and cost each day, in parts that add up to
 * usage_daily? One row per (local day in the configured time zone, model) with usage. model: the
 * model of each API response (exact); for an estimated session (no transcripts here) its one model,
 * '(several models)' when it used more than one; '(no model)' for responses of <synthetic> (Claude
 * Code's own, which cost nothing) or of no model, and for estimated sessions with none. Every
 * response and estimate counts in one row, so summing a day's rows gives that day's usage_daily row
 * (except session_count: a session with two models counts under both). Usage is counted per API
 * response read from Claude Code's transcripts (at its own instant and model, exact), and for each
 * session repo-recall knows whose transcripts are not here, once, by its session-level estimate at
 * its start; sessions only in transcripts count too. session_count: sessions with usage in it (a
 * session counts in every bucket it has usage in: a session across local midnight on both days, a
 * two-model session under both models); input_tokens, output_tokens, cache_read_tokens,
 * cache_creation_tokens (5-minute and 1-hour cache writes): the tokens summed; total_tokens: the
 * four added up; cost_usd: the cost in USD summed (never NULL: unpriced usage adds nothing; an
 * estimated session adds its upper bound); cost_usd_low: the same with estimated sessions at their
 * cheapest model (equal to cost_usd where every figure is exact; for estimates whose models are all
 * priced, the true cost lies between the two); estimated_sessions: sessions counted from an
 * estimate that is no exact figure (no transcripts here, several models); unpriced_sessions:
 * sessions with usage of no known price in the bucket (an unknown model: at least one such
 * response, or an estimate with no priced model); cache_hit_ratio: cache reads / all input-side
 * tokens (input + cache read + cache creation), 4 decimals (NULL when there are none);
 * cache_creation_1h_tokens: the part of cache_creation_tokens written to the 1-hour cache (known
 * from responses only); api_response_count: API responses counted (0 where only estimates are);
 * unpriced_responses: those of an unpriced model (counted in the tokens, not in the cost).
 */
export interface UsageDailyByModelRow {
  /** `DATE`, key */
  day: string;
  /** `VARCHAR`, key */
  model: string;
  /** `BIGINT` */
  session_count: number | null;
  /** `HUGEINT` */
  input_tokens: number | null;
  /** `HUGEINT` */
  output_tokens: number | null;
  /** `HUGEINT` */
  cache_read_tokens: number | null;
  /** `HUGEINT` */
  cache_creation_tokens: number | null;
  /** `HUGEINT` */
  total_tokens: number | null;
  /** `DOUBLE` */
  cost_usd: number | null;
  /** `DOUBLE` */
  cost_usd_low: number | null;
  /** `BIGINT` */
  estimated_sessions: number | null;
  /** `BIGINT` */
  unpriced_sessions: number | null;
  /** `DOUBLE` */
  cache_hit_ratio: number | null;
  /** `HUGEINT` */
  cache_creation_1h_tokens: number | null;
  /** `BIGINT` */
  api_response_count: number | null;
  /** `BIGINT` */
  unpriced_responses: number | null;
}

/**
 * `usage_by_model`: What did each model cost? One row per model used (exact spelling; <synthetic>
 * is not a model and has no row). priced: whether base.model_prices has the model; session_count:
 * sessions that used it; single_model_sessions: those that used no other model;
 * multi_model_sessions: those that also used another. input_tokens, output_tokens,
 * cache_read_tokens, cache_creation_tokens, total_tokens and cost_usd: the model's own API
 * responses (exact), plus, for sessions with no transcripts here (tokens per session, not per
 * model), those of the single-model sessions only; cost_usd is NULL for an unpriced model.
 * cache_creation_1h_tokens, api_response_count: the model's responses' 1-hour cache writes and
 * count.
 */
export interface UsageByModelRow {
  /** `VARCHAR`, key */
  model: string;
  /** `BOOLEAN` */
  priced: boolean | null;
  /** `BIGINT` */
  session_count: number | null;
  /** `BIGINT` */
  single_model_sessions: number | null;
  /** `BIGINT` */
  multi_model_sessions: number | null;
  /** `HUGEINT` */
  input_tokens: number | null;
  /** `HUGEINT` */
  output_tokens: number | null;
  /** `HUGEINT` */
  cache_read_tokens: number | null;
  /** `HUGEINT` */
  cache_creation_tokens: number | null;
  /** `HUGEINT` */
  total_tokens: number | null;
  /** `DOUBLE` */
  cost_usd: number | null;
  /** `HUGEINT` */
  cache_creation_1h_tokens: number | null;
  /** `BIGINT` */
  api_response_count: number | null;
}

/**
 * `usage_by_repo`: What did each repo cost? One row per repo_id. A session in several repos counts
 * in full in each (summing across repos double-counts it); sessions repo-recall knows in no repo
 * are in no row. repo_name, repo_path: see repo_sessions. repo_id -1 (repo_name '(repo unknown)',
 * repo_path NULL) holds the usage of sessions only in transcripts, which repo-recall has not
 * scanned yet (there is no such row without them). Usage is counted per API response read from
 * Claude Code's transcripts (at its own instant and model, exact), and for each session repo-recall
 * knows whose transcripts are not here, once, by its session-level estimate at its start; sessions
 * only in transcripts count too. session_count: sessions of the repo, dated or not (a session
 * counts in every bucket it has usage in: a session across local midnight on both days, a two-model
 * session under both models); input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens
 * (5-minute and 1-hour cache writes): the tokens summed; total_tokens: the four added up; cost_usd:
 * the cost in USD summed (never NULL: unpriced usage adds nothing; an estimated session adds its
 * upper bound); cost_usd_low: the same with estimated sessions at their cheapest model (equal to
 * cost_usd where every figure is exact; for estimates whose models are all priced, the true cost
 * lies between the two); estimated_sessions: sessions counted from an estimate that is no exact
 * figure (no transcripts here, several models); unpriced_sessions: sessions with usage of no known
 * price in the bucket (an unknown model: at least one such response, or an estimate with no priced
 * model); cache_hit_ratio: cache reads / all input-side tokens (input + cache read + cache
 * creation), 4 decimals (NULL when there are none); cache_creation_1h_tokens: the part of
 * cache_creation_tokens written to the 1-hour cache (known from responses only);
 * api_response_count: API responses counted (0 where only estimates are); unpriced_responses: those
 * of an unpriced model (counted in the tokens, not in the cost). first_activity_at: the earliest
 * response or estimated session start (UTC); last_activity_at: the latest response, or estimated
 * session end (or start when the end is unknown) (UTC).
 */
export interface UsageByRepoRow {
  /** `BIGINT`, key */
  repo_id: number;
  /** `VARCHAR` */
  repo_name: string | null;
  /** `VARCHAR` */
  repo_path: string | null;
  /** `BIGINT` */
  session_count: number | null;
  /** `HUGEINT` */
  input_tokens: number | null;
  /** `HUGEINT` */
  output_tokens: number | null;
  /** `HUGEINT` */
  cache_read_tokens: number | null;
  /** `HUGEINT` */
  cache_creation_tokens: number | null;
  /** `HUGEINT` */
  total_tokens: number | null;
  /** `DOUBLE` */
  cost_usd: number | null;
  /** `DOUBLE` */
  cost_usd_low: number | null;
  /** `BIGINT` */
  estimated_sessions: number | null;
  /** `BIGINT` */
  unpriced_sessions: number | null;
  /** `DOUBLE` */
  cache_hit_ratio: number | null;
  /** `HUGEINT` */
  cache_creation_1h_tokens: number | null;
  /** `BIGINT` */
  api_response_count: number | null;
  /** `BIGINT` */
  unpriced_responses: number | null;
  /** `TIMESTAMP` */
  first_activity_at: string | null;
  /** `TIMESTAMP` */
  last_activity_at: string | null;
}

/**
 * `usage_blocks`: How much went into each 5-hour usage block? Claude's usage limits count in 5-hour
 * windows; these are ccusage's blocks: walking the API responses (and estimated sessions' starts)
 * in time order, a block starts at the first one floored to the UTC hour and lasts 5 hours; one
 * more than 5 hours after its block's start, or more than 5 hours after the one before it, starts a
 * new block. An estimated session (no transcripts here) counts whole in the block it started in.
 * One row per block. block_start / block_end: UTC; block_start_local: block_start as wall-clock
 * time in the configured zone; first_activity_at: its first response or estimated start (UTC);
 * last_activity_at: its latest response, or estimated session end (or start) (UTC); is_active:
 * block_end is still in the future (the puller redoes the view on its first tick after an active
 * block ends, even when nothing new came). For the active block only (NULL otherwise, and NULL when
 * its first and last activity are the same instant), as of the view's materialization
 * (lattice.views.materialized_at), as ccusage computes them: burn_rate_tokens_per_minute:
 * total_tokens / the minutes from the first to the last activity of the block (4 decimals);
 * burn_rate_usd_per_hour: cost_usd / those minutes x 60 (6 decimals); remaining_minutes: minutes
 * until block_end, rounded; projected_tokens: total_tokens + burn_rate_tokens_per_minute x
 * remaining_minutes, rounded; projected_cost_usd: cost_usd + burn_rate_usd_per_hour / 60 x
 * remaining_minutes (6 decimals, where ccusage rounds to cents). session_count: sessions with usage
 * in the block (a session counts in every bucket it has usage in: a session across local midnight
 * on both days, a two-model session under both models); input_tokens, output_tokens,
 * cache_read_tokens, cache_creation_tokens (5-minute and 1-hour cache writes): the tokens summed;
 * total_tokens: the four added up; cost_usd: the cost in USD summed (never NULL: unpriced usage
 * adds nothing; an estimated session adds its upper bound); cost_usd_low: the same with estimated
 * sessions at their cheapest model (equal to cost_usd where every figure is exact; for estimates
 * whose models are all priced, the true cost lies between the two); estimated_sessions: sessions
 * counted from an estimate that is no exact figure (no transcripts here, several models);
 * unpriced_sessions: sessions with usage of no known price in the bucket (an unknown model: at
 * least one such response, or an estimate with no priced model); cache_hit_ratio: cache reads / all
 * input-side tokens (input + cache read + cache creation), 4 decimals (NULL when there are none);
 * cache_creation_1h_tokens: the part of cache_creation_tokens written to the 1-hour cache (known
 * from responses only); api_response_count: API responses counted (0 where only estimates are);
 * unpriced_responses: those of an unpriced model (counted in the tokens, not in the cost).
 */
export interface UsageBlocksRow {
  /** `TIMESTAMP`, key */
  block_start: string;
  /** `TIMESTAMP` */
  block_end: string | null;
  /** `TIMESTAMP` */
  block_start_local: string | null;
  /** `TIMESTAMP` */
  last_activity_at: string | null;
  /** `BOOLEAN` */
  is_active: boolean | null;
  /** `BIGINT` */
  session_count: number | null;
  /** `HUGEINT` */
  input_tokens: number | null;
  /** `HUGEINT` */
  output_tokens: number | null;
  /** `HUGEINT` */
  cache_read_tokens: number | null;
  /** `HUGEINT` */
  cache_creation_tokens: number | null;
  /** `HUGEINT` */
  total_tokens: number | null;
  /** `DOUBLE` */
  cost_usd: number | null;
  /** `DOUBLE` */
  cost_usd_low: number | null;
  /** `BIGINT` */
  estimated_sessions: number | null;
  /** `BIGINT` */
  unpriced_sessions: number | null;
  /** `DOUBLE` */
  cache_hit_ratio: number | null;
  /** `HUGEINT` */
  cache_creation_1h_tokens: number | null;
  /** `BIGINT` */
  api_response_count: number | null;
  /** `BIGINT` */
  unpriced_responses: number | null;
  /** `TIMESTAMP` */
  first_activity_at: string | null;
  /** `DOUBLE` */
  burn_rate_tokens_per_minute: number | null;
  /** `DOUBLE` */
  burn_rate_usd_per_hour: number | null;
  /** `BIGINT` */
  projected_tokens: number | null;
  /** `DOUBLE` */
  projected_cost_usd: number | null;
  /** `BIGINT` */
  remaining_minutes: number | null;
}

/**
 * `tool_sessions`: Which sessions used a given tool? Inverted index from tool name to sessions: one
 * row per tool_name (exact spelling: "Bash" and "bash" are separate rows). session_count is how
 * many sessions list the tool in their tool-call counts; session_ids are those sessions, ascending.
 */
export interface ToolSessionsRow {
  /** `VARCHAR`, key */
  tool_name: string;
  /** `BIGINT` */
  session_count: number | null;
  /** `BIGINT[]` */
  session_ids: (number | null)[] | null;
}

/**
 * `tool_usage`: How much is each tool called, and how often does it fail? One row per tool_name
 * (exact spelling). session_count: sessions that used the tool; calls / errors: calls and failed
 * calls summed over those sessions; error_rate: errors / calls, 4 decimals (NULL when calls is 0);
 * calls_per_session: calls / session_count, 2 decimals.
 */
export interface ToolUsageRow {
  /** `VARCHAR`, key */
  tool_name: string;
  /** `BIGINT` */
  session_count: number | null;
  /** `HUGEINT` */
  calls: number | null;
  /** `HUGEINT` */
  errors: number | null;
  /** `DOUBLE` */
  error_rate: number | null;
  /** `DOUBLE` */
  calls_per_session: number | null;
}

/**
 * `tool_pairs`: Which tools are used together in the same session? Tool co-occurrence: one row per
 * pair of tool names that appear in at least one session together, tool_a < tool_b (byte order of
 * the exact names). sessions_with_both: sessions that used both; sessions_with_a / sessions_with_b:
 * sessions that used each; jaccard: both / (a + b - both), 4 decimals (1 = always together); lift:
 * how much more often the pair occurs than if the two tools were independent, over the sessions
 * that used any tool, 3 decimals (1 = chance, > 1 = attracted).
 */
export interface ToolPairsRow {
  /** `VARCHAR`, key */
  tool_a: string;
  /** `VARCHAR`, key */
  tool_b: string;
  /** `BIGINT` */
  sessions_with_both: number | null;
  /** `BIGINT` */
  sessions_with_a: number | null;
  /** `BIGINT` */
  sessions_with_b: number | null;
  /** `DOUBLE` */
  jaccard: number | null;
  /** `DOUBLE` */
  lift: number | null;
}

/**
 * `tool_adoption`: When did each tool first and last appear? One row per tool_name (exact
 * spelling). first_used_at / last_used_at: start time (UTC) of the earliest / latest session that
 * used it; first_session_id / last_session_id: those sessions (ties broken by the lower id);
 * active_days: distinct local days (configured time zone) with a session that used it (month by
 * month: tool_monthly); session_count: all sessions that used it; undated_session_count: those
 * among them with no start time (they count here but in no date column; a tool only ever used in
 * undated sessions has NULL dates).
 */
export interface ToolAdoptionRow {
  /** `VARCHAR`, key */
  tool_name: string;
  /** `TIMESTAMP` */
  first_used_at: string | null;
  /** `TIMESTAMP` */
  last_used_at: string | null;
  /** `BIGINT` */
  first_session_id: number | null;
  /** `BIGINT` */
  last_session_id: number | null;
  /** `BIGINT` */
  active_days: number | null;
  /** `BIGINT` */
  session_count: number | null;
  /** `BIGINT` */
  undated_session_count: number | null;
}

/**
 * `tool_monthly`: How is each tool's use trending month by month? One row per (tool_name, month) in
 * which the tool was used; month is the first day of the month in the configured time zone.
 * session_count: sessions started that month that used the tool; calls / errors: their calls and
 * failed calls of it; month_session_count: all sessions started that month; session_share:
 * session_count / month_session_count, 4 decimals (the share of that month's sessions that used the
 * tool). Sessions without a start time are left out.
 */
export interface ToolMonthlyRow {
  /** `VARCHAR`, key */
  tool_name: string;
  /** `DATE`, key */
  month: string;
  /** `BIGINT` */
  session_count: number | null;
  /** `HUGEINT` */
  calls: number | null;
  /** `HUGEINT` */
  errors: number | null;
  /** `BIGINT` */
  month_session_count: number | null;
  /** `DOUBLE` */
  session_share: number | null;
}

/**
 * `repo_sessions`: Which sessions worked in a given repo? Inverted index from repo to sessions: one
 * row per repo_id (upstream's repo id). repo_name / repo_path: as upstream reported them with the
 * repo's most recent session (highest id); session_count: sessions that belong to the repo (a
 * session in several repos is listed under each); first_started_at / last_started_at: earliest /
 * latest session start (UTC), ignoring sessions with no start time; session_ids: the sessions,
 * ascending.
 */
export interface RepoSessionsRow {
  /** `BIGINT`, key */
  repo_id: number;
  /** `VARCHAR` */
  repo_name: string | null;
  /** `VARCHAR` */
  repo_path: string | null;
  /** `BIGINT` */
  session_count: number | null;
  /** `TIMESTAMP` */
  first_started_at: string | null;
  /** `TIMESTAMP` */
  last_started_at: string | null;
  /** `BIGINT[]` */
  session_ids: (number | null)[] | null;
}

/**
 * `repo_tokens`: How many tokens and messages went into each repo? One row per repo_id, with its
 * repo_name (see repo_sessions). Every session of the repo counts in full, also when it belongs to
 * other repos too (summing across repos double-counts those; shared_session_count says how many of
 * this repo's sessions are shared). session_count: sessions in the repo; message_count: their
 * messages; input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens: their token
 * counters summed (session_facts': from the transcripts where they are here); total_tokens: the
 * four added up.
 */
export interface RepoTokensRow {
  /** `BIGINT`, key */
  repo_id: number;
  /** `VARCHAR` */
  repo_name: string | null;
  /** `BIGINT` */
  session_count: number | null;
  /** `BIGINT` */
  shared_session_count: number | null;
  /** `HUGEINT` */
  message_count: number | null;
  /** `HUGEINT` */
  input_tokens: number | null;
  /** `HUGEINT` */
  output_tokens: number | null;
  /** `HUGEINT` */
  cache_read_tokens: number | null;
  /** `HUGEINT` */
  cache_creation_tokens: number | null;
  /** `HUGEINT` */
  total_tokens: number | null;
}

/**
 * `repo_tools`: Which tools are used in each repo? One row per (repo_id, tool_name) pair that
 * occurred; repo_name: see repo_sessions. session_count: sessions of the repo that used the tool (a
 * session in several repos counts for each); calls / errors: their calls and failed calls of the
 * tool; error_rate: errors / calls, 4 decimals (NULL when calls is 0).
 */
export interface RepoToolsRow {
  /** `BIGINT`, key */
  repo_id: number;
  /** `VARCHAR` */
  repo_name: string | null;
  /** `VARCHAR`, key */
  tool_name: string;
  /** `BIGINT` */
  session_count: number | null;
  /** `HUGEINT` */
  calls: number | null;
  /** `HUGEINT` */
  errors: number | null;
  /** `DOUBLE` */
  error_rate: number | null;
}

/**
 * `sessions_without_repo`: Which sessions ran outside any known repo, and where? One row per
 * working directory (cwd, exact text) among sessions that belong to no repo; cwd is '' for sessions
 * upstream sent without a cwd. session_count: those sessions; first_started_at / last_started_at:
 * earliest / latest start (UTC, ignoring sessions with no start time); message_count and
 * total_tokens (all four token counters, session_facts'): summed over them; session_ids: the
 * sessions, ascending.
 */
export interface SessionsWithoutRepoRow {
  /** `VARCHAR`, key */
  cwd: string;
  /** `BIGINT` */
  session_count: number | null;
  /** `TIMESTAMP` */
  first_started_at: string | null;
  /** `TIMESTAMP` */
  last_started_at: string | null;
  /** `HUGEINT` */
  message_count: number | null;
  /** `HUGEINT` */
  total_tokens: number | null;
  /** `BIGINT[]` */
  session_ids: (number | null)[] | null;
}

/**
 * `model_sessions`: Which sessions used a given model? Inverted index from model name to sessions:
 * one row per model name as upstream spells it. session_count: sessions that list the model in
 * models_used; session_ids: those sessions, ascending.
 */
export interface ModelSessionsRow {
  /** `VARCHAR`, key */
  model: string;
  /** `BIGINT` */
  session_count: number | null;
  /** `BIGINT[]` */
  session_ids: (number | null)[] | null;
}

/**
 * `model_tokens`: How many tokens went through sessions using each model? One row per model name. A
 * session that used several models counts in full for each of them (shared_session_count: how many
 * of this model's sessions also used another model). session_count: sessions that used the model;
 * input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens: those sessions' token
 * counters summed (session_facts': from the transcripts where they are here); total_tokens: the
 * four added up; first_started_at / last_started_at: earliest / latest start (UTC) of those
 * sessions, ignoring sessions with no start time.
 */
export interface ModelTokensRow {
  /** `VARCHAR`, key */
  model: string;
  /** `BIGINT` */
  session_count: number | null;
  /** `BIGINT` */
  shared_session_count: number | null;
  /** `HUGEINT` */
  input_tokens: number | null;
  /** `HUGEINT` */
  output_tokens: number | null;
  /** `HUGEINT` */
  cache_read_tokens: number | null;
  /** `HUGEINT` */
  cache_creation_tokens: number | null;
  /** `HUGEINT` */
  total_tokens: number | null;
  /** `TIMESTAMP` */
  first_started_at: string | null;
  /** `TIMESTAMP` */
  last_started_at: string | null;
}

/**
 * `model_daily_tokens`: How many tokens went through each model each day? One row per (local day in
 * the configured time zone, model name) with at least one session that started that day and used
 * the model. Same attribution as model_tokens (a multi-model session counts in full for each model)
 * and the same day rule as usage_daily (start day, undated sessions left out). session_count,
 * input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, total_tokens: as in
 * model_tokens, for that day.
 */
export interface ModelDailyTokensRow {
  /** `DATE`, key */
  day: string;
  /** `VARCHAR`, key */
  model: string;
  /** `BIGINT` */
  session_count: number | null;
  /** `HUGEINT` */
  input_tokens: number | null;
  /** `HUGEINT` */
  output_tokens: number | null;
  /** `HUGEINT` */
  cache_read_tokens: number | null;
  /** `HUGEINT` */
  cache_creation_tokens: number | null;
  /** `HUGEINT` */
  total_tokens: number | null;
}

/**
 * `stop_reason_totals`: How do assistant turns end, overall? One row per stop_reason (exact
 * spelling, e.g. end_turn, tool_use, max_tokens). session_count: sessions with at least one turn
 * that ended this way; occurrences: turns that ended this way, summed over all sessions;
 * share_of_occurrences: occurrences / all turns of all reasons, 4 decimals.
 */
export interface StopReasonTotalsRow {
  /** `VARCHAR`, key */
  stop_reason: string;
  /** `BIGINT` */
  session_count: number | null;
  /** `HUGEINT` */
  occurrences: number | null;
  /** `DOUBLE` */
  share_of_occurrences: number | null;
}

/**
 * `session_stop_reasons`: How did the turns of each session end? One row per session_id (every
 * loaded session). total_stops: turns with any stop reason; end_turn, tool_use, max_tokens,
 * stop_sequence, pause_turn, refusal: turns that ended with that exact reason; other_stops: turns
 * with any other reason (including case variants such as End_Turn); other_stop_reasons: the names
 * counted in other_stops, ascending. When stop_reasons_ok is false (upstream's stop-reason counts
 * could not be read) every count is NULL and other_stop_reasons is empty: unknown, not zero.
 */
export interface SessionStopReasonsRow {
  /** `BIGINT`, key */
  session_id: number;
  /** `BOOLEAN` */
  stop_reasons_ok: boolean | null;
  /** `HUGEINT` */
  total_stops: number | null;
  /** `HUGEINT` */
  end_turn: number | null;
  /** `HUGEINT` */
  tool_use: number | null;
  /** `HUGEINT` */
  max_tokens: number | null;
  /** `HUGEINT` */
  stop_sequence: number | null;
  /** `HUGEINT` */
  pause_turn: number | null;
  /** `HUGEINT` */
  refusal: number | null;
  /** `HUGEINT` */
  other_stops: number | null;
  /** `VARCHAR[]` */
  other_stop_reasons: (string | null)[] | null;
}

/**
 * `daily_activity`: How active was each day? One row per local day (configured time zone) on which
 * at least one session started (no row for days without sessions). session_count: sessions started
 * that day; message_count, user_message_count, assistant_message_count, total_tokens (all four
 * token counters): summed over them; tool_calls / tool_errors: their tool calls and failed calls
 * (readable counts only); active_repo_count: distinct repos those sessions belong to;
 * sessions_without_repo: those that belong to no repo; sidechain_session_count: those that used a
 * sub-agent sidechain.
 */
export interface DailyActivityRow {
  /** `DATE`, key */
  day: string;
  /** `BIGINT` */
  session_count: number | null;
  /** `HUGEINT` */
  message_count: number | null;
  /** `HUGEINT` */
  user_message_count: number | null;
  /** `HUGEINT` */
  assistant_message_count: number | null;
  /** `HUGEINT` */
  total_tokens: number | null;
  /** `HUGEINT` */
  tool_calls: number | null;
  /** `HUGEINT` */
  tool_errors: number | null;
  /** `BIGINT` */
  active_repo_count: number | null;
  /** `BIGINT` */
  sessions_without_repo: number | null;
  /** `BIGINT` */
  sidechain_session_count: number | null;
}

/**
 * `repo_daily_activity`: How active was each repo each day? One row per (repo_id, day) on which at
 * least one session of the repo started (day: local date in the configured time zone). A session in
 * several repos counts in full for each. repo_name: see repo_sessions; session_count: sessions of
 * the repo started that day; message_count, total_tokens (all four token counters), tool_calls,
 * tool_errors: summed over them.
 */
export interface RepoDailyActivityRow {
  /** `BIGINT`, key */
  repo_id: number;
  /** `DATE`, key */
  day: string;
  /** `VARCHAR` */
  repo_name: string | null;
  /** `BIGINT` */
  session_count: number | null;
  /** `HUGEINT` */
  message_count: number | null;
  /** `HUGEINT` */
  total_tokens: number | null;
  /** `HUGEINT` */
  tool_calls: number | null;
  /** `HUGEINT` */
  tool_errors: number | null;
}

/**
 * `activity_heatmap`: When in the week do sessions start? An hour-of-day x weekday grid in the
 * configured time zone: always exactly 168 rows, one per (iso_weekday, hour), including empty
 * cells. iso_weekday: 1 = Monday ... 7 = Sunday; weekday_name: Mon ... Sun; hour: 0-23, local (on
 * the day clocks go back, the repeated hour counts twice in its cell); session_count: sessions that
 * started in that hour of that weekday (over all weeks); message_count, total_tokens (all four
 * token counters): summed over them; session_share: session_count / all dated sessions, 4 decimals
 * (NULL when there are none).
 */
export interface ActivityHeatmapRow {
  /** `BIGINT`, key */
  iso_weekday: number;
  /** `VARCHAR` */
  weekday_name: string | null;
  /** `BIGINT`, key */
  hour: number;
  /** `BIGINT` */
  session_count: number | null;
  /** `HUGEINT` */
  message_count: number | null;
  /** `HUGEINT` */
  total_tokens: number | null;
  /** `DOUBLE` */
  session_share: number | null;
}

/** Every view by name, with the type of its rows. */
export interface ViewRows {
  usage_hourly: UsageHourlyRow;
  session_facts: SessionFactsRow;
  usage_daily: UsageDailyRow;
  usage_weekly: UsageWeeklyRow;
  usage_monthly: UsageMonthlyRow;
  usage_daily_by_model: UsageDailyByModelRow;
  usage_by_model: UsageByModelRow;
  usage_by_repo: UsageByRepoRow;
  usage_blocks: UsageBlocksRow;
  tool_sessions: ToolSessionsRow;
  tool_usage: ToolUsageRow;
  tool_pairs: ToolPairsRow;
  tool_adoption: ToolAdoptionRow;
  tool_monthly: ToolMonthlyRow;
  repo_sessions: RepoSessionsRow;
  repo_tokens: RepoTokensRow;
  repo_tools: RepoToolsRow;
  sessions_without_repo: SessionsWithoutRepoRow;
  model_sessions: ModelSessionsRow;
  model_tokens: ModelTokensRow;
  model_daily_tokens: ModelDailyTokensRow;
  stop_reason_totals: StopReasonTotalsRow;
  session_stop_reasons: SessionStopReasonsRow;
  daily_activity: DailyActivityRow;
  repo_daily_activity: RepoDailyActivityRow;
  activity_heatmap: ActivityHeatmapRow;
}

/** The name of a view of the catalog. */
export type ViewName = keyof ViewRows;
