import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';

/** The built CLI (tests run after `npm run build`). */
const CLI = resolve(import.meta.dirname, '../../../dist/src/cli.js');
const CLI_FROM_SOURCE_TREE = resolve(import.meta.dirname, '../../dist/src/cli.js');

/** dist/src/cli.js whether this file runs from test/ (vitest) or dist/test/ (benchmarks). */
export function cliPath(): string {
  return import.meta.dirname.includes(`${join('dist', 'test')}`) ? CLI : CLI_FROM_SOURCE_TREE;
}

export interface TempHome {
  dir: string;
  cleanup(): Promise<void>;
}

export async function tempHome(prefix = 'lattice-home-'): Promise<TempHome> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion (a one-shot command such as `pull` or `status`). */
export async function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<RunResult> {
  const child = spawn(process.execPath, [cliPath(), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
  async waitFor(predicate: (d: Daemon) => boolean, what: string, timeoutMs = 30_000): Promise<void> {
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
  return new Daemon(spawn(command, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Polls `check` until it returns a value other than undefined. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
