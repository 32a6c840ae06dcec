import { defineView } from './define.js';
import { localTime } from './sql.js';
import { NO_MODEL, PRICED_MESSAGES_CTE } from './usage-units.js';

/*
 * Usage per hour: every API response read from the transcripts, priced once (priced_messages) and
 * summed per local hour, session and model. The other usage views and session_facts sum these
 * rows instead of pricing every response again; a local hour lies in one local day, week and
 * month, so those buckets are exact in any zone (a half-hour offset, a change of daylight saving
 * time). The rows are keyed by the UTC instant the local hour began: the hour repeated when the
 * clocks go back is two rows, each with its own instants.
 */

const usageHourly = defineView({
  name: 'usage_hourly',
  description:
    "How much did each session use, and what did it cost, hour by hour? The API responses read from Claude Code's " +
    'transcripts on this machine (base.messages), each priced at its own model (see "Usage and cost"), summed per local ' +
    'hour in the configured time zone, session and model: what usage charts and a "now" panel read, and what ' +
    "session_facts and the usage views sum from. Sessions whose transcripts are not here (repo-recall's estimates) " +
    'have no rows. One row per (hour_start, session_uuid, model) with responses. hour_start: the UTC instant the local ' +
    'hour began (its wall-clock start in the zone; for a zone half an hour off UTC, such as Asia/Kolkata, a half hour in ' +
    'UTC; the hour repeated when the clocks go back is two rows); hour_start_local: the local hour the responses are in, ' +
    "as wall-clock time in the zone (its ::DATE is their local day); session_uuid: the transcript's session id " +
    `(session_facts.session_uuid for a session repo-recall knows); model: the responses' model, ${NO_MODEL} for those of <synthetic> ` +
    "(Claude Code's own, which cost nothing) or of no model; input_tokens, output_tokens, cache_read_tokens, " +
    'cache_creation_tokens (5-minute and 1-hour cache writes), cache_creation_1h_tokens (the 1-hour part): summed over ' +
    'the responses; api_response_count: the responses; unpriced_responses: those of a model with no known price (counted ' +
    'in the tokens, not in the cost); cost_usd: the cost in USD of the priced responses, summed unrounded (round the ' +
    'sums you take of it), NULL when none of them is priced; first_used_at / last_used_at: the first and last response ' +
    '(UTC).',
  keyColumns: ['hour_start', 'session_uuid', 'model'],
  sql: `
    WITH ${PRICED_MESSAGES_CTE},
    placed AS (
        -- each response's local hour, on the wall clock and as the UTC instant it began: the
        -- response's instant less its minutes and seconds past the local hour (exact for any
        -- offset, whole hour or not)
        SELECT pm.*,
               date_trunc('hour', local_at)                              AS hour_start_local,
               pm.timestamp - (local_at - date_trunc('hour', local_at))  AS hour_start
        FROM (SELECT *, ${localTime('timestamp')} AS local_at FROM priced_messages) pm
    ),
    hourly AS (
        -- BIGINT sums, not HUGEINT: every view that sums these rows reads them, and DuckDB reads a
        -- stored HUGEINT column some 100x slower than a BIGINT one (docs/design.md, "Known
        -- pitfalls"). A response counts at most 10^12 tokens of a kind (the transcripts reader's
        -- bound), so a row overflows only past 9 million responses of one session and model in one
        -- hour, and then the cast fails the view (it keeps its rows, last_error says why); it
        -- never wraps. The sums over these rows are HUGEINT.
        SELECT hour_start,
               session_uuid,
               model,
               -- the same for all the row's responses (zones change offset as a local hour starts); min()
               -- keeps the key unique should a zone's old history say otherwise
               min(hour_start_local)                                 AS hour_start_local,
               sum(input_tokens)::BIGINT                             AS input_tokens,
               sum(output_tokens)::BIGINT                            AS output_tokens,
               sum(cache_read_tokens)::BIGINT                        AS cache_read_tokens,
               sum(cache_creation_tokens)::BIGINT                    AS cache_creation_tokens,
               sum(cache_creation_1h_tokens)::BIGINT                 AS cache_creation_1h_tokens,
               count(*)                                              AS api_response_count,
               count(*) FILTER (WHERE cost_usd IS NULL)              AS unpriced_responses,
               sum(cost_usd)                                         AS cost_usd,
               min(timestamp)                                        AS first_used_at,
               max(timestamp)                                        AS last_used_at
        FROM placed
        GROUP BY hour_start, session_uuid, model
    )
    SELECT hour_start, hour_start_local, session_uuid, model,
           input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, cache_creation_1h_tokens,
           api_response_count, unpriced_responses, cost_usd, first_used_at, last_used_at
    FROM hourly
    ORDER BY hour_start, session_uuid, model`,
});

export const USAGE_HOURLY_VIEWS = [usageHourly];
