import { CATALOG } from '../shared/catalog/index.js';
import type { Config, FlagValues } from '../shared/config.js';
import { errorLine, exitStatusOf } from '../shared/error-registry.js';
import { errorCodeOf, PullerLockedError } from '../shared/errors.js';
import { createLogger, type Logger } from '../shared/logger.js';
import type { FetchProgress } from '../puller/fetch.js';
import { FATAL_EXIT_CODE, fatalFailure } from '../puller/fatal-errors.js';
import { homePaths } from '../shared/paths.js';
import { Puller, type PullerOptions } from '../puller/puller.js';
import type { TickReport } from '../puller/tick.js';
import { paintFor } from './colour.js';
import { acceptedWhy, daemonLogger, retryWords } from './log-output.js';
import { failedOutcome, failedTick } from './failed-outcome.js';
import { lockRefusal } from './lock-advice.js';
import { preflight } from './preflight.js';
import { supervisorChannel, type SupervisorChannel } from './puller-supervisor.js';
import { exitAfterDeadline, StopSignal } from './signals.js';

type Feedback = Pick<PullerOptions, 'onProgress' | 'onRetry' | 'acceptShrink' | 'oneShot'>;

/** Opens the puller; another one holding this home is refused with advice that fits who runs it. */
async function openOrRefuse(config: Config, logger: Logger, feedback: Feedback): Promise<Puller> {
  try {
    return await Puller.open({ config, catalog: CATALOG, logger, ...feedback });
  } catch (err) {
    throw err instanceof PullerLockedError ? lockRefusal(err) : err;
  }
}

/** Opens the puller, or prints why another one holds this home and returns null. */
export async function openPuller(config: Config, logger: Logger, feedback: Feedback = {}): Promise<Puller | null> {
  try {
    return await openOrRefuse(config, logger, feedback);
  } catch (err) {
    if (err instanceof PullerLockedError) {
      process.stderr.write(`${errorLine(err.code, err.message)}\n`);
      return null;
    }
    throw err;
  }
}

/** The puller's first words: what it pulls, how often, into where, and with what DuckDB memory and threads (as DuckDB reports them). */
export function logStarted(logger: Logger, config: Config, puller: Puller): void {
  const duckdb = puller.status.status.duckdb;
  logger.info(
    {
      repo_recall_url: config.repoRecallUrl,
      refresh_interval_seconds: config.refreshIntervalSeconds,
      home: config.home,
      duckdb_memory_limit: duckdb?.memory_limit,
      duckdb_threads: duckdb?.threads,
    },
    'started',
  );
}

/**
 * `serve-puller`: ticks until SIGINT/SIGTERM, then releases the working database. A fatal storage
 * error (src/puller/fatal-errors.ts: a full, read-only or failing disk, an invalidated database),
 * at open or in a tick, ends it with FATAL_EXIT_CODE (75) so that serve's supervisor, launchd or
 * systemd starts a new process: only a new DuckDB instance recovers.
 */
export async function servePuller(config: Config): Promise<number> {
  // Under `serve`: the supervisor is told once the lock is held, and its exit stops the puller.
  // The channel keeps this process alive until released: on every way out, or a puller that
  // could not open would outlive its failure.
  const supervisor = supervisorChannel();
  try {
    return await runServePuller(config, supervisor);
  } finally {
    supervisor?.release();
  }
}

async function runServePuller(config: Config, supervisor: SupervisorChannel | null): Promise<number> {
  const stop = new StopSignal();
  const logger = daemonLogger('puller', config);
  await preflight(config, { puller: true });
  const puller = await openPuller(config, logger).catch(async (err: unknown) => {
    const home = homePaths(config.home);
    const fatal = await fatalFailure(err, home.workDb, home.home);
    if (!fatal) throw err;
    logger.error({ fatal: fatal.cause, free_bytes: fatal.space?.freeBytes, exit_code: FATAL_EXIT_CODE }, fatal.error);
    return FATAL_EXIT_CODE;
  });
  if (typeof puller === 'number') return puller;
  if (!puller) return exitStatusOf('locked');
  let stopping = false;
  const stopWith = (reason: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal: reason }, 'stopping');
    puller.stop(reason);
    exitAfterDeadline(() => logger.error('did not stop within the deadline; exiting'));
  };
  void stop.promise.then(stopWith);
  void supervisor?.gone.then(() => stopWith('serve exited'));
  supervisor?.ready();
  if (stop.received === null) {
    logStarted(logger, config, puller);
    await puller.run();
  } else {
    // Signalled while opening: say so now, before close() would call it an ordinary close.
    puller.stop(stop.received);
  }
  await puller.close();
  const fatal = puller.fatal;
  if (fatal) logger.error({ fatal: fatal.cause, exit_code: FATAL_EXIT_CODE }, 'stopped after a fatal storage error; exiting to be restarted');
  else logger.info('stopped');
  return fatal ? FATAL_EXIT_CODE : 0;
}

/**
 * One self-overwriting line on stderr while a terminal watches `pull`: bytes and sessions
 * received, then retries in words. Cleared before the outcome is printed.
 */
function terminalFeedback(): Feedback & { clear(): void } {
  let last = 0;
  const line = (text: string) => process.stderr.write(`\r\x1b[K${text}`);
  return {
    onProgress({ bytes, totalBytes, sessions }: FetchProgress) {
      const now = Date.now();
      if (now - last < 200 && bytes !== totalBytes) return;
      last = now;
      const mb = (n: number) => (n / 1048576).toFixed(1);
      line(
        `received ${mb(bytes)}${totalBytes ? ` / ${mb(totalBytes)}` : ''} MiB, ${sessions.toLocaleString('en-US')} sessions${bytes === totalBytes ? ', loading...' : ''}`,
      );
    },
    onRetry(attempt, retries, reason, delayMs) {
      line(retryWords(reason, attempt, retries, delayMs));
    },
    clear() {
      process.stderr.write('\r\x1b[K');
    },
  };
}

/** What upstream's answer came to, in words. */
function upstreamWords(r: TickReport): string {
  switch (r.upstream) {
    case 'loaded':
      return `loaded ${r.load?.sessions ?? 0} sessions${r.load?.rejected ? ` (${r.load.rejected} rejected)` : ''} from scan ${r.scanVersion}`;
    case 'identical':
      return 'upstream unchanged (identical payload)';
    case 'not-modified':
      return 'upstream not modified';
    case 'failed':
      return 'repo-recall failed (the warning says why)';
    case 'held': {
      const h = r.held;
      if (!h) return 'upstream payload held back';
      return (
        `held back what upstream sent (${h.sessions} sessions from scan ${h.scan_version}): ${h.reasons.join('; ')}; ` +
        `seen on ${h.seen_ticks} of ${h.confirm_ticks} consecutive pulls, it is loaded if it keeps coming, or now with --accept-shrink`
      );
    }
  }
}

/** What the transcripts source read, in words. */
function transcriptsWords(r: TickReport): string | null {
  const t = r.transcripts;
  if (t.kind === 'off') return null;
  if (t.kind === 'failed') return t.error;
  const { messages, files, added, updated } = t.report;
  const skipped = t.report.skipped.reduce((n, s) => n + s.malformed + s.oversized, 0);
  return `transcripts: ${messages} messages from ${files} files (${added} added, ${updated} updated${skipped ? `, ${skipped} lines skipped` : ''})`;
}

/** The outcome of a pull in one sentence. */
function pullSentence(r: TickReport): string {
  const parts = [
    r.outcome === 'published' ? `published generation ${r.generation}` : `unchanged (generation ${r.generation})`,
    upstreamWords(r),
    ...[transcriptsWords(r) ?? []].flat(),
    `${r.views.filter((v) => v.status === 'materialized').length} views refreshed`,
  ];
  if (r.acceptedShrink) {
    parts.push(`loaded although ${r.acceptedShrink.reasons.join('; ')} (${acceptedWhy(r.acceptedShrink.by, r.acceptedShrink.seenTicks)})`);
  }
  const failed = r.views.filter((v) => v.status === 'failed');
  if (failed.length) parts.push(`${failed.length} views failed: ${failed.map((v) => `${v.name} (${v.error})`).join('; ')}`);
  const warnings = r.warnings.length ? `; warning: ${r.warnings.join('; ')}` : '';
  return `${parts.join(', ')} in ${(r.durationMs / 1000).toFixed(2)} s${warnings}`;
}

/** The transcripts' part of `pull --json`: counts, directories and file paths, never a line's text. */
function transcriptsDocument(r: TickReport): object {
  const t = r.transcripts;
  if (t.kind !== 'read') return { outcome: t.kind, error: t.kind === 'failed' ? t.error : null };
  const { directories, files, filesRead, messages, added, updated, skipped, warnings } = t.report;
  return {
    outcome: 'read',
    error: null,
    directories,
    files,
    files_read: filesRead,
    messages,
    added,
    updated,
    skipped_lines: skipped,
    warnings,
  };
}

/** The outcome of a pull for scripts (`pull --json`). */
function pullDocument(result: Awaited<ReturnType<Puller['tick']>>): object {
  if (!result.ok) return failedTick(result.error, result.code);
  const r = result.report;
  return {
    outcome: r.outcome,
    generation: r.generation,
    upstream: r.upstream,
    scan_version: r.scanVersion,
    sessions: r.load?.sessions ?? null,
    rejected: r.load?.rejected ?? null,
    views_refreshed: r.views.filter((v) => v.status === 'materialized').map((v) => v.name),
    views_failed: r.views.filter((v) => v.status === 'failed').map((v) => ({ name: v.name, error: v.error })),
    held: r.held,
    accepted_shrink: r.acceptedShrink && { reasons: r.acceptedShrink.reasons, by: r.acceptedShrink.by },
    failed_sources: r.failedSources,
    repo_recall: { outcome: r.repoRecall.kind, error: r.repoRecall.kind === 'failed' ? r.repoRecall.error : null },
    transcripts: transcriptsDocument(r),
    warnings: r.warnings,
    duration_ms: Math.round(r.durationMs),
  };
}

/**
 * The log of a one-shot `pull`: JSON lines on stderr with `--json`; none otherwise (a person gets
 * the progress line and the outcome sentence), unless `--log-level debug` (or trace) asks for them.
 */
function pullLogger(config: Config, json: boolean): Logger {
  const verbose = config.logLevel === 'debug' || config.logLevel === 'trace';
  if (json) return createLogger('session-lattice-puller', config.logLevel, process.stderr);
  if (!verbose) return createLogger('session-lattice-puller', 'silent');
  return daemonLogger('puller', { logLevel: config.logLevel, logFormat: 'auto' }, process.stderr);
}

/**
 * `pull`: one tick, then exit 0 (published, unchanged or held back: all said on stdout), or with
 * the registry's status for the failure's code (1; 75 for a fatal storage error) and the reason.
 */
export async function pullOnce(config: Config, flags: FlagValues): Promise<number> {
  const stop = new StopSignal();
  const json = (flags as Record<string, unknown>).json === true;
  const feedback = !json && process.stderr.isTTY === true ? terminalFeedback() : null;
  const acceptShrink = (flags as Record<string, unknown>).acceptShrink === true;
  let puller: Puller;
  try {
    await preflight(config, { puller: true });
    puller = await openOrRefuse(config, pullLogger(config, json), { ...feedback, acceptShrink, oneShot: true });
  } catch (err) {
    // src/cli.ts says why on stderr (exit 2 for a bad setting, 1 otherwise); a script asked for one JSON document.
    if (!json) throw err;
    process.stdout.write(`${JSON.stringify(failedOutcome(err))}\n`);
    return exitStatusOf(errorCodeOf(err));
  }
  void stop.promise.then((signal) => puller.stop(signal));
  if (stop.received !== null) puller.stop(stop.received);
  try {
    const result = await puller.tick();
    feedback?.clear();
    if (json) {
      process.stdout.write(`${JSON.stringify(pullDocument(result))}\n`);
      return result.ok ? 0 : exitStatusOf(result.code);
    }
    if (!result.ok) {
      process.stderr.write(`${paintFor(process.stderr).red(errorLine(result.code, 'pull failed:'))} ${result.error}\n`);
      return exitStatusOf(result.code);
    }
    process.stdout.write(`${pullSentence(result.report)}\n`);
    return 0;
  } finally {
    await puller.close();
  }
}
