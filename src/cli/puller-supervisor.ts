import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { DestinationStream } from 'pino';
import { SETTINGS, flagKey, type Config, type FlagValues } from '../shared/config.js';
import { errorLine } from '../shared/error-registry.js';
import type { Logger } from '../shared/logger.js';
import { PULLER_SETTINGS } from './options.js';

/**
 * `serve`'s puller, off the reads server's event loop: a supervised `session-lattice serve-puller`
 * child process (a process is the boundary: a crashing or out-of-memory puller cannot take the
 * reads down, and a tick's JavaScript work, JSON parsing and GC pauses no longer sit between two
 * requests). Measured in bench/serve.ts against a worker thread (the other candidate).
 *
 * The child gets the same settings as `serve` (the flags it was given, with the home and the zone
 * resolved; the environment is inherited) and logs JSON lines to a pipe, which are relayed line by
 * line through `serve`'s own log destination: one writer on stdout, so lines of the two never tear
 * each other, and a terminal still gets readable lines. Its stderr is passed through as it comes.
 * It says `ready` over an IPC channel once it holds the working database; the same channel
 * closing tells it that `serve` is gone (it then stops, instead of living on holding the lock).
 */

/** Between restarts of a crashed puller: from a second, doubling, up to a minute. */
const FIRST_RESTART_S = 1;
const MAX_RESTART_S = 60;
/** A puller that ran this long before it crashed restarts after FIRST_RESTART_S again. */
const HEALTHY_RUN_S = 60;
/** The last bytes of a crashed child's stderr, quoted in the log line about it. */
const STDERR_TAIL = 2000;

export type StartOutcome = { ok: true } | { ok: false; code: number | null; signal: NodeJS.Signals | null };

/** The message a supervised serve-puller sends once it holds the working database. */
const READY_MESSAGE = 'session-lattice-puller-ready';

/** `serve-puller` arguments that resolve to the same puller settings as `serve`'s. */
export function pullerArgs(config: Config, flags: FlagValues): string[] {
  const args = ['serve-puller'];
  for (const key of PULLER_SETTINGS) {
    const s = SETTINGS[key];
    let value = flags[flagKey(s.flag)];
    if (key === 'home') value = config.home;
    if (key === 'timezone') value = config.timezone;
    if (key === 'logFormat') value = 'json';
    if (value !== undefined) args.push(`--${s.flag}`, value);
  }
  return args;
}

export class PullerSupervisor {
  private child: ChildProcess | null = null;
  private childExited: Promise<void> = Promise.resolve();
  private stopping = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private wakeRestart: (() => void) | null = null;
  private restarts = 0;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly cli: string,
    private readonly args: readonly string[],
    /** Where the child's log lines are relayed (serve's stdout destination). */
    private readonly logLines: DestinationStream,
    /** serve's puller logger: restarts are logged under the puller's name. */
    private readonly logger: Logger,
  ) {}

  /**
   * Starts the first child and waits until it holds the working database (ok), or exits before
   * (refused: another puller holds the home, or it could not open; it said why on stderr).
   * Once started, a child that exits is restarted with a backoff until stop().
   */
  async start(): Promise<StartOutcome> {
    const first = this.spawnChild();
    const outcome = await first.ready;
    if (outcome.ok) this.loop = this.supervise(first);
    return outcome;
  }

  /** The child's pid, while one runs. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Asks the child to stop (SIGTERM) and waits for its exit; no restart follows. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.wakeRestart?.();
    this.kill(signal);
    await this.childExited;
    await this.loop;
  }

  /** Sends a signal to the child, if one runs (SIGKILL when serve gives up waiting). */
  kill(signal: NodeJS.Signals): void {
    const c = this.child;
    if (c && c.exitCode === null && c.signalCode === null) c.kill(signal);
  }

  private async supervise(running: Running): Promise<void> {
    let current = running;
    for (;;) {
      const { code, signal } = await current.exit;
      if (this.stopping) return;
      const ranS = (Date.now() - current.startedAt) / 1000;
      if (ranS >= HEALTHY_RUN_S) this.restarts = 0;
      const delayS = Math.min(MAX_RESTART_S, FIRST_RESTART_S * 2 ** this.restarts);
      this.restarts++;
      this.logger.error(
        { puller_pid: current.pid, code, signal, ran_seconds: Math.round(ranS), restart_in_seconds: delayS, stderr: current.stderrTail() || undefined },
        'the puller process exited; restarting it',
      );
      await new Promise<void>((resolve) => {
        this.wakeRestart = resolve;
        this.restartTimer = setTimeout(resolve, delayS * 1000);
      });
      this.wakeRestart = null;
      this.restartTimer = null;
      if (this.stopping) return;
      current = this.spawnChild();
      void current.ready.then((o) => {
        if (o.ok) this.logger.info({ puller_pid: current.pid, restarts: this.restarts }, 'the puller process is back');
      });
    }
  }

  private spawnChild(): Running {
    const startedAt = Date.now();
    const child = spawn(process.execPath, [this.cli, ...this.args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.child = child;
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      // Not started at all (no exit event follows): counts as an exit, said on stderr.
      child.once('error', (err) => {
        if (child.pid !== undefined) return;
        process.stderr.write(`${errorLine('internal', `cannot start the puller process: ${err.message}`)}\n`);
        resolve({ code: null, signal: null });
      });
    });
    // stdout ends after the exit event when a grandchild (none here) holds it: wait for both, so
    // no line is lost, but never for the pipe alone.
    const relayed = new Promise<void>((resolve) => {
      const lines = createInterface({ input: child.stdout!, crlfDelay: Infinity });
      lines.on('line', (line) => this.logLines.write(`${line}\n`));
      lines.on('close', resolve);
    });
    let tail = '';
    child.stderr!.on('data', (d: Buffer) => {
      process.stderr.write(d);
      tail = (tail + d.toString()).slice(-STDERR_TAIL);
    });
    const ready = new Promise<StartOutcome>((resolve) => {
      child.on('message', (m) => {
        if (m === READY_MESSAGE) resolve({ ok: true });
      });
      void exit.then(({ code, signal }) => resolve({ ok: false, code, signal }));
    });
    this.childExited = Promise.all([exit, relayed]).then(() => undefined);
    return { pid: child.pid ?? null, startedAt, exit: this.childExited.then(() => exit), ready, stderrTail: () => tail.trim() };
  }
}

interface Running {
  pid: number | null;
  startedAt: number;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  ready: Promise<StartOutcome>;
  stderrTail(): string;
}

export interface SupervisorChannel {
  ready(): void;
  gone: Promise<void>;
  release(): void;
}

/**
 * The child's side: under `serve` (an IPC channel to it), says `ready` and resolves `gone` when
 * the channel closes (serve exited, even by SIGKILL). Null when run on its own.
 */
export function supervisorChannel(): SupervisorChannel | null {
  if (typeof process.send !== 'function' || !process.connected) return null;
  let onGone: () => void = () => undefined;
  const gone = new Promise<void>((resolve) => (onGone = resolve));
  const listener = () => onGone();
  process.once('disconnect', listener);
  return {
    ready: () => process.send?.(READY_MESSAGE),
    gone,
    // The listener keeps the channel (and so the process) alive: released when the puller is done.
    release: () => {
      process.off('disconnect', listener);
      if (process.connected) process.disconnect();
    },
  };
}
