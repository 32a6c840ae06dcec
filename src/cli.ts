#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { addConfigOptions, PULLER_SETTINGS, READS_SETTINGS } from './cli/options.js';
import { failedOutcome } from './cli/failed-outcome.js';
import { registerOperatorCommands, type Action } from './cli/operator-commands.js';
import { commandSettings, loadConfig, type FlagValues, type SettingKey } from './shared/config.js';
import { errorLine, exitStatusOf } from './shared/error-registry.js';
import { ConfigError, errorCodeOf, errorMessage } from './shared/errors.js';
import { VERSION } from './shared/version.js';

/**
 * Resolves the command's settings (flag over env over default), loads the command's module, runs
 * it, exits with its code. Modules load only when their command runs: `--version`, `--help` and a
 * bad flag answer without loading DuckDB, Fastify and the MCP SDK (about a second of start-up).
 * An error it ends with is one line, `error[code]: message`, and the registry's exit status for
 * the code (src/shared/error-registry.ts: 2 for a bad setting; `internal`, 1, for anything unregistered).
 */
function run(keys: readonly SettingKey[], load: () => Promise<Action>, onBadSetting?: (err: ConfigError, flags: FlagValues) => boolean) {
  return async (flags: FlagValues) => {
    let code: number;
    try {
      const config = loadConfig(process.env, flags, keys);
      code = await (await load())(config, flags);
    } catch (err) {
      const errorCode = errorCodeOf(err);
      if (!(err instanceof ConfigError && onBadSetting?.(err, flags))) process.stderr.write(`${errorLine(errorCode, errorMessage(err))}\n`);
      code = exitStatusOf(errorCode);
    }
    process.exitCode = code;
  };
}

const WATCH_HELP = `
Prints one line per event: the time (local zone), what happened, its figures. Colour only in a
terminal (NO_COLOR turns it off); --json prints each event's JSON line as it came, for machines
(the reads server's own gap and generation_served events get their type added).

A lost connection is resumed with Last-Event-ID: no event is missed or printed twice (a "gap"
line says when events were rotated out of the log meanwhile). Exit 1 when the connection cannot
be made, or is not back, within --reconnect-seconds; exit 0 on Ctrl-C (SIGINT) or SIGTERM.
`;

/** `pull --json` prints one JSON document whatever happens, a bad setting included (still exit 2). */
function pullJsonFailure(err: ConfigError, flags: FlagValues): boolean {
  if ((flags as Record<string, unknown>).json !== true) return false;
  process.stdout.write(`${JSON.stringify(failedOutcome(err))}\n`);
  return true;
}

export function buildProgram(): Command {
  const program = new Command('session-lattice')
    .description('Materialized DuckDB views over Claude Code sessions pulled from repo-recall')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  addConfigOptions(program.command('serve-puller').description('pull from repo-recall on a tick and publish snapshots (daemon)'), PULLER_SETTINGS).action(
    run(PULLER_SETTINGS, async () => (await import('./cli/puller-commands.js')).servePuller),
  );

  addConfigOptions(program.command('serve-reads').description('serve the published views over HTTP, read-only (daemon)'), READS_SETTINGS).action(
    run(READS_SETTINGS, async () => (await import('./cli/reads-commands.js')).serveReads),
  );

  const bothSettings = commandSettings('serve');
  addConfigOptions(
    program.command('serve').description('run the reads server, with the puller in a child process it supervises (transitional)'),
    bothSettings,
  ).action(run(bothSettings, async () => (await import('./cli/serve-command.js')).serveBoth));

  const pullSettings = commandSettings('pull');
  addConfigOptions(
    program
      .command('pull')
      .description('run one pull tick, publish if anything changed, then exit')
      .option('--json', 'print the outcome as one JSON object on stdout, and JSON log lines on stderr')
      .option(
        '--accept-shrink',
        'load what upstream sends even if the shrink guard would hold it back (it drops most sessions, or its scan_version went backwards)',
      ),
    pullSettings,
  ).action(run(pullSettings, async () => (await import('./cli/puller-commands.js')).pullOnce, pullJsonFailure));

  registerOperatorCommands(program, run);

  const watchSettings = commandSettings('watch');
  addConfigOptions(
    program
      .command('watch')
      .description("follow what the puller does, live: one line per event (the reads server's GET /events)")
      .option('--url <url>', 'the reads server [default http://<host>:<port>]')
      .option('--json', 'print each event as one JSON line (for machines)')
      .option('--tail <n>', 'start with the last N events (0..1000)')
      .option('--reconnect-seconds <s>', 'exit 1 when the connection is not (back) within this long [default 30]')
      .addHelpText('after', WATCH_HELP),
    watchSettings,
  ).action(run(watchSettings, async () => (await import('./cli/watch-command.js')).watchCommand));

  return program;
}

async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; a bad flag or command exits 2 (commander printed why).
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    throw err;
  }
}

await main();
