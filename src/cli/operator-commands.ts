import type { Command } from 'commander';
import { commandSettings, type Config, type FlagValues, type SettingKey } from '../shared/config.js';
import { addConfigOptions } from './options.js';
import { STATUS_FORMAT } from './status-format.js';

/**
 * The operator commands' declarations (`status`, `views`): flags, help and settings. The commands
 * themselves (status-command.ts) open DuckDB, so they are loaded only when one of them runs.
 */

/** A command's body: the resolved settings and the raw flags in, the exit code out. */
export type Action = (config: Config, flags: FlagValues) => Promise<number>;
type Runner = (keys: readonly SettingKey[], load: () => Promise<Action>) => (flags: FlagValues) => Promise<void>;

const STATUS_SETTINGS = commandSettings('status');
const VIEWS_SETTINGS = commandSettings('views');

const STATUS_HELP = `
Reads only: the puller's status.json and event log (puller/events.jsonl) and the published
snapshot (lattice.meta, lattice.views), opened read-only. Safe to run at any time, whether or not the daemons run.

Health and exit status (the verdict GET /healthz and the MCP lattice_status tool give too):
  failing   exit 1  the data is older than --stale-after-intervals refresh intervals, the
                    puller's last 3 ticks failed, or the published snapshot cannot be read
  starting  exit 1  nothing is published yet (the first pull has not finished, or no
                    puller has run on this home)
  degraded  exit 0  (1 with --strict) served and current, but a tick failed, the puller is
                    not running, a view failed to refresh, a payload is held back, or
                    status.json cannot be read
  ok        exit 0
  exit 2 on a bad flag or environment variable.

--json prints one object (format ${STATUS_FORMAT}; fields are only ever added):
  { format, version, home, checked_at, health, reasons[], problems[] (the reasons for exit 1:
    failing, or nothing published yet), warnings[] (the degraded ones), events[] (the puller's
    last few events),
    snapshot: null | { path, generation, published_at, age_seconds, data_age_seconds,
                       stale_after_seconds, schema_version, scan_version, etag,
                       upstream_generated_at, base_version, session_count, rejected_rows,
                       timezone },
    puller: null | { ...status.json, running, next_tick_due_in_seconds },
    views: [{ name, description, refresh_interval_seconds, key_columns, in_catalog, state,
              materialized_at, age_seconds, row_count, last_duration_ms, last_error,
              last_error_at }] }
  Instants are ISO-8601 UTC, ages are seconds, unknown is null.
`;

const VIEWS_HELP = `
Lists the catalog's views with what the published snapshot holds for each (rows, when it was
materialized, its refresh interval, its last error). Read-only. Exit 0, or 1 when the published
file exists but cannot be read; exit 2 on a bad flag or environment variable.

--json prints { format, version, home, checked_at, generation, published_at, timezone, error,
views[] }
with views[] as in \`status --json\`.
`;

export function registerOperatorCommands(program: Command, run: Runner): void {
  addConfigOptions(
    program
      .command('status')
      .description("show the published generation, the puller's health and every view's freshness")
      .option('--json', 'print a JSON object (for scripts) instead of the table')
      .option('--strict', 'exit 1 when degraded too, not only when failing or starting')
      .addHelpText('after', STATUS_HELP),
    STATUS_SETTINGS,
  ).action(run(STATUS_SETTINGS, async () => (await import('./status-command.js')).statusCommand));

  addConfigOptions(
    program
      .command('views')
      .description('list the views of the catalog with their row counts and freshness')
      .option('--json', 'print a JSON object (for scripts) instead of the table')
      .addHelpText('after', VIEWS_HELP),
    VIEWS_SETTINGS,
  ).action(run(VIEWS_SETTINGS, async () => (await import('./status-command.js')).viewsCommand));
}
