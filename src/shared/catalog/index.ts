import { assertCatalog, type ViewDefinition } from './define.js';
import { MODEL_VIEWS } from './models.js';
import { REPO_VIEWS } from './repos.js';
import { SESSION_VIEWS } from './sessions.js';
import { STOP_REASON_VIEWS } from './stop-reasons.js';
import { TIME_VIEWS } from './time.js';
import { TOOL_VIEWS } from './tools.js';
import { USAGE_HOURLY_VIEWS } from './usage-hourly.js';
import { USAGE_VIEWS } from './usage.js';

export type { ViewDefinition } from './define.js';

export interface CatalogAxis {
  /** A heading for docs/views.md. */
  readonly title: string;
  /** What the views of this axis have in common (their shared semantics), for docs/views.md. */
  readonly summary: string;
  readonly views: readonly ViewDefinition[];
}

/** The catalog grouped by the axis of the session data each view pivots on (one source file per axis). */
export const CATALOG_AXES: readonly CatalogAxis[] = [
  {
    title: 'Usage per hour',
    summary:
      'The API responses read from Claude Code\'s transcripts, each priced once (by the rule of "Usage and cost") and ' +
      'summed per local hour, session and model: the grain session_facts and every usage view sum from, first in the ' +
      'catalog so that they can. A local hour lies in one local day, week and month in any zone (half-hour offsets and ' +
      'changes of daylight saving time included).',
    views: USAGE_HOURLY_VIEWS,
  },
  {
    title: 'Session facts',
    summary:
      'One wide row per session: the table to filter and pivot on. Every loaded session is there, including sessions ' +
      'with no start time, no repo, no model or unreadable counts. Unknown is NULL, none is 0.',
    views: SESSION_VIEWS,
  },
  {
    title: 'Usage and cost',
    summary:
      'Tokens and their cost in USD, by local day, ISO week (Monday first) and month, by model, by repo and by 5-hour ' +
      "block. Usage is counted per API response read from Claude Code's transcripts (base.messages, de-duplicated): each " +
      "at its own timestamp, in the configured time zone (SESSION_LATTICE_TIMEZONE, the machine's by default; every " +
      "response's freshness.timezone names it), and priced at its own model: input, output, cache reads, 5-minute and " +
      '1-hour cache writes, and for a model with long-context rates (Sonnet 4 and 4.5), a request whose input side ' +
      '(input + cache writes + cache reads) is over the threshold (200k) priced wholly at the long rates. <synthetic> ' +
      'costs nothing and is not a model; an unknown model is unpriced (counted, never guessed). Prices are ' +
      "base.model_prices: the bundled table (data/model-prices.json) with SESSION_LATTICE_PRICING_FILE's overrides, in " +
      'USD per million tokens. Sessions only in transcripts (repo-recall has not scanned them) count everywhere, with their ' +
      'repo unknown. A session repo-recall knows whose transcripts are not here (another machine) counts once, at its ' +
      "start, by an estimate from repo-recall's per-session totals (session_facts.cost_basis): exact only when it used " +
      'one model (single_model); with several, cost_usd prices every token at the dearest and cost_usd_low at the ' +
      'cheapest (multi_model_upper_bound); with some models unpriced, the same over the priced ones (partially_priced, an ' +
      'estimate); with none priced, no cost (unpriced, never guessed).',
    views: USAGE_VIEWS,
  },
  {
    title: 'Tool calls',
    summary:
      'From upstream\'s tool-call counts (base.tool_calls). Tool names keep their exact spelling: "Bash" and "bash" are ' +
      'two tools. A session whose counts could not be read (tool_counts_ok false) contributes only what could be read; ' +
      "a tool key repeated within one session's counts is added up.",
    views: TOOL_VIEWS,
  },
  {
    title: 'Repos',
    summary:
      'A session belongs to no repo, one or several. It counts once for each repo it belongs to, and its tokens, ' +
      'messages and calls are attributed in full to each (not split): summing across repos double-counts multi-repo ' +
      "sessions (shared_session_count says how many). A repo's name and path are the ones sent with its most recent " +
      '(highest id) session. Sessions in no repo are grouped by working directory in sessions_without_repo.',
    views: REPO_VIEWS,
  },
  {
    title: 'Models and tokens',
    summary:
      "Tokens are per session here (session_facts' totals: from the transcripts where they are here, else upstream's), " +
      'not per model: a session that used several models counts in full for each model (usage_by_model and ' +
      'usage_daily_by_model have exact per-model figures). Sessions that report no model appear in no model view (their tokens still count in usage_daily). ' +
      'total_tokens is always input + output + cache read + cache creation.',
    views: MODEL_VIEWS,
  },
  {
    title: 'Stop reasons',
    summary:
      "Why assistant turns ended (upstream's stop-reason counts, exact spelling). Sessions whose counts could not be " +
      'read (stop_reasons_ok false) have NULL counts per session.',
    views: STOP_REASON_VIEWS,
  },
  {
    title: 'Time',
    summary:
      'Days, hours and weekdays are local to the configured time zone (DST included); instants (the _at columns) are UTC ' +
      'TIMESTAMPs everywhere. A session is placed at its start (a session past midnight counts on its start day). ' +
      'Sessions without a start time are left out of every time view. Per-day views have a row only for days with ' +
      'sessions; the weekday x hour grid always has all 168 cells.',
    views: TIME_VIEWS,
  },
];

/** Every view session-lattice materializes. Adding a view is adding its definition to its axis file. */
export const CATALOG: readonly ViewDefinition[] = CATALOG_AXES.flatMap((axis) => axis.views);

assertCatalog(CATALOG);
