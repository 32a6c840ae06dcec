import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { isProcessAlive } from '../../src/shared/status.js';

// Kept importable from here for the process-level tests; the unit tier imports ./temp-home.js.
export { removeTempHomes, tempHome, type TempHome } from './temp-home.js';

/** The built CLI (tests run after `npm run build`). */
const CLI = resolve(import.meta.dirname, '../../../dist/src/cli.js');
const CLI_FROM_SOURCE_TREE = resolve(import.meta.dirname, '../../dist/src/cli.js');

/**
 * Deadlines. A deadline only matters when something is really broken (a passing wait returns as
 * soon as its event happens), so they are generous enough for a machine whose cores are all busy;
 * vitest's testTimeout (vitest.config.ts) is set above them so that the helper's message, which
 * says what was awaited and what the process printed, is the one a failure shows.
 */
export const WAIT_MS = 120_000;
/** A one-shot command (`pull`, `status`, ...) that has not exited by then is killed. */
export const RUN_CLI_MS = 180_000;

/** dist/src/cli.js whether this file runs from test/ (vitest) or dist/test/ (benchmarks). */
export function cliPath(): string {
  return import.meta.dirname.includes(`${join('dist', 'test')}`) ? CLI : CLI_FROM_SOURCE_TREE;
}

// ---------------------------------------------------------------------------------------------
// Registry: every child spawned through these helpers, so that test/helpers/setup.ts can kill
// what a failing test left running, and every temp home, so that it can remove them.

interface Tracked {
  child: ChildProcess;
  exited: Promise<unknown>;
  /** The test that spawned it (null: a beforeAll/afterAll hook, i.e. the whole file). */
  test: string | null;
  /** Processes this one wraps (strace's node), not necessarily our children. */
  extraPids: Set<number>;
}

const live = new Map<ChildProcess, Tracked>();
let currentTest: string | null = null;

/** Records a child: it leaves the registry when it exits. */
export function trackChild(child: ChildProcess): void {
  if (live.has(child)) return;
  const entry: Tracked = {
    child,
    // 'close' would wait for stdio, which a grandchild can hold open: 'exit' is the process itself.
    exited: child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit').catch(() => undefined),
    test: currentTest,
    extraPids: new Set(),
  };
  live.set(child, entry);
  void entry.exited.then(() => live.delete(child));
}

/** Also kill `pid` (a process `child` wraps, such as the node under strace) along with `child`. */
export function trackExtraPid(child: ChildProcess, pid: number): void {
  live.get(child)?.extraPids.add(pid);
}

/** Called by the setup file around each test, so that processes know which test spawned them. */
export function enterTest(id: string | null): void {
  currentTest = id;
}

/** True while a process with this pid exists (the rule `status` uses for the puller's pid). */
export const alive = isProcessAlive;

/** Every descendant of `pid` (ps works on Linux and macOS alike). */
export function descendants(pid: number): number[] {
  return descendantProcesses(pid).map((p) => p.pid);
}

/** The processes below `pid` (children, theirs, ...) with their command lines, from one `ps`. */
export function descendantProcesses(pid: number): Array<{ pid: number; command: string }> {
  let table: Array<{ pid: number; ppid: number; command: string }>;
  try {
    table = execFileSync('ps', ['-A', '-o', 'pid=,ppid=,command='], { encoding: 'utf8' })
      .split('\n')
      .map((l) => /^\s*(\d+)\s+(\d+)\s?(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), command: m[3] ?? '' }));
  } catch {
    return [];
  }
  const out: Array<{ pid: number; command: string }> = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const p of table) {
      if (p.ppid === parent && !out.some((o) => o.pid === p.pid)) {
        out.push({ pid: p.pid, command: p.command });
        queue.push(p.pid);
      }
    }
  }
  return out;
}

/**
 * SIGKILLs every tracked process still running (of one test, or all of them) with its whole
 * process tree, and waits until they are gone. Returns what was killed, for the warning.
 */
export async function killStragglers(which: 'current-test' | 'all'): Promise<string[]> {
  const victims = [...live.values()].filter((t) => which === 'all' || (t.test !== null && t.test === currentTest));
  const killed: string[] = [];
  for (const t of victims) {
    const pid = t.child.pid;
    // Collect the tree first: once the parent dies its children are re-parented and lost to us.
    const tree = [...t.extraPids, ...(pid === undefined ? [] : descendants(pid))];
    for (const p of tree) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (t.child.exitCode === null && t.child.signalCode === null) {
      t.child.kill('SIGKILL');
      killed.push(`${t.child.spawnfile} (pid ${pid ?? '?'})`);
    }
    await t.exited;
    // The others are not our children: wait until they are reaped by whoever adopted them.
    for (let i = 0; i < 400 && tree.some(alive); i++) await new Promise((r) => setTimeout(r, 25));
    live.delete(t.child);
  }
  return killed;
}

// ---------------------------------------------------------------------------------------------

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of every CLI child: the test process's, with days counted in UTC unless a test
 * says otherwise, so that the zone of the machine running the suite cannot move a bucket. (The
 * transcripts source is off unless a test says otherwise: test/helpers/setup.ts.)
 */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, SESSION_LATTICE_TIMEZONE: process.env.SESSION_LATTICE_TIMEZONE ?? 'UTC', ...env };
}

/** Runs the CLI to completion (a one-shot command such as `pull` or `status`). */
export async function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = RUN_CLI_MS): Promise<RunResult> {
  const child = spawn(process.execPath, [cliPath(), ...args], {
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  return { code, signal, stdout, stderr };
}

/** A long-running CLI process (a daemon), with its output collected as it comes. */
export class Daemon {
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  constructor(readonly child: ChildProcess) {
    trackChild(child);
    child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = once(child, 'exit').then(([code, signal]) => {
      this.exitInfo = { code: code as number | null, signal: signal as NodeJS.Signals | null };
      return this.exitInfo;
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  /** JSON log lines written so far on stdout. */
  logLines(): Array<Record<string, unknown>> {
    return this.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Waits until `predicate` holds for the output, or fails with what was printed. */
  async waitFor(predicate: (d: Daemon) => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      if (!this.running) throw new Error(`daemon exited while waiting for ${what}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Sends a signal and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill(signal);
    return this.exited;
  }
}

/** Starts `session-lattice <args>` as a child process. */
export function startDaemon(args: string[], env: Record<string, string> = {}, wrapper: string[] = []): Daemon {
  const command = wrapper.length > 0 ? wrapper[0]! : process.execPath;
  const argv = wrapper.length > 0 ? [...wrapper.slice(1), process.execPath, cliPath(), ...args] : [cliPath(), ...args];
  return new Daemon(spawn(command, argv, { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Polls `check` until it returns a value other than undefined. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A port that was free a moment ago (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

/** A loopback port with nothing listening on it (an upstream that is down refuses at once). */
export const deadPort = freePort;
