import { defineView } from './define.js';

/*
 * Stop reasons: why each assistant turn ended (upstream's stop_reason_counts_json, exploded into
 * base.stop_reasons). Names keep upstream's exact spelling. A session whose counts could not be
 * read (base.sessions.stop_reasons_ok is false) contributes only what could be read to the totals,
 * and has NULL counts in the per-session view.
 */

/** The stop reasons with their own column in session_stop_reasons; any other goes to other_stops. */
const KNOWN_STOP_REASONS = ['end_turn', 'tool_use', 'max_tokens', 'stop_sequence', 'pause_turn', 'refusal'] as const;

const stopReasonTotals = defineView({
  name: 'stop_reason_totals',
  description:
    'How do assistant turns end, overall? One row per stop_reason (exact spelling, e.g. end_turn, tool_use, max_tokens). ' +
    'session_count: sessions with at least one turn that ended this way; occurrences: turns that ended this way, summed ' +
    'over all sessions; share_of_occurrences: occurrences / all turns of all reasons, 4 decimals.',
  keyColumns: ['stop_reason'],
  sql: `
    WITH per_reason AS (
        SELECT stop_reason,
               -- a count of 0 is a reason named with no turn behind it: no session "ended this way"
               count(DISTINCT session_id) FILTER (WHERE count > 0)  AS session_count,
               sum(count)                                           AS occurrences
        FROM base.stop_reasons
        GROUP BY stop_reason
    )
    SELECT stop_reason,
           session_count,
           occurrences::HUGEINT                                             AS occurrences,
           round(occurrences / nullif(sum(occurrences) OVER (), 0), 4)      AS share_of_occurrences
    FROM per_reason
    ORDER BY stop_reason`,
});

/** `expr  AS name,` lines with the AS aligned, for the generated parts of the SQL below. */
function aligned(pairs: ReadonlyArray<readonly [string, string]>, indent: string): string {
  const width = Math.max(...pairs.map(([expr]) => expr.length));
  return pairs.map(([expr, name]) => `${expr.padEnd(width)}  AS ${name},`).join(`\n${indent}`);
}
const perSessionSums = aligned(
  [
    ['sum(count)', 'total_stops'],
    ...KNOWN_STOP_REASONS.map((r) => [`sum(count) FILTER (WHERE stop_reason = '${r}')`, r] as const),
    ['sum(count) FILTER (WHERE NOT known)', 'other_stops'],
  ],
  '               ',
);
const unknownWhenUnreadable = aligned(
  ['total_stops', ...KNOWN_STOP_REASONS, 'other_stops'].map((c) => [`CASE WHEN s.stop_reasons_ok THEN coalesce(c.${c}, 0) END::HUGEINT`, c] as const),
  '           ',
);
const knownList = KNOWN_STOP_REASONS.map((r) => `'${r}'`).join(', ');

const sessionStopReasons = defineView({
  name: 'session_stop_reasons',
  description:
    'How did the turns of each session end? One row per session_id (every loaded session). ' +
    `total_stops: turns with any stop reason; ${KNOWN_STOP_REASONS.join(', ')}: turns that ended with that exact reason; ` +
    'other_stops: turns with any other reason (including case variants such as End_Turn); other_stop_reasons: ' +
    "the names counted in other_stops, ascending. When stop_reasons_ok is false (upstream's stop-reason counts could " +
    'not be read) every count is NULL and other_stop_reasons is empty: unknown, not zero.',
  keyColumns: ['session_id'],
  sql: `
    WITH classified AS (
        SELECT session_id,
               stop_reason,
               count,
               stop_reason IN (${knownList})  AS known
        FROM base.stop_reasons
    ),
    per_session AS (
        SELECT session_id,
               ${perSessionSums}
               list_sort(list_distinct(list(stop_reason) FILTER (WHERE NOT known)))  AS other_stop_reasons
        FROM classified
        GROUP BY session_id
    )
    SELECT s.session_id,
           s.stop_reasons_ok,
           ${unknownWhenUnreadable}
           CASE WHEN s.stop_reasons_ok THEN coalesce(c.other_stop_reasons, []) ELSE [] END  AS other_stop_reasons
    FROM base.sessions s
    LEFT JOIN per_session c ON c.session_id = s.session_id
    ORDER BY s.session_id`,
});

export const STOP_REASON_VIEWS = [stopReasonTotals, sessionStopReasons];
