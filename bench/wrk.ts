import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';

/**
 * wrk, pinned with taskset, and its output parsed: shared by the reads and serve benchmarks.
 * Latencies are wrk's own (`--latency`), in milliseconds.
 */

export interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  /** The slowest request. */
  max: number;
  /** Requests completed. */
  requests: number;
  /** Seconds wrk ran (from its "N requests in Xs" line). */
  seconds: number;
  non2xx: number;
  errors: number;
  mbPerSec: number;
}

export interface WrkOptions {
  connections: number;
  /** Run length; `startWrk` runs until stopped instead. */
  durationS?: number;
  headers?: string[];
  /** A Lua script (`-s`). */
  script?: string;
  /** The CPU list wrk is pinned to (taskset -c); default '1'. */
  cpus?: string;
  /** Seconds before wrk counts a request as a timeout (`--timeout`); wrk's default is 2. */
  timeoutS?: number;
}

/** Throws a clear error when wrk or taskset is missing. */
export function requireWrk(bench: string): void {
  try {
    execFileSync('sh', ['-c', 'command -v wrk && command -v taskset'], { stdio: 'ignore' });
  } catch {
    throw new Error(`the ${bench} benchmark needs wrk and taskset: apt-get install -y wrk util-linux`);
  }
}

export function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(value.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

export function toMb(value: string): number {
  const m = /^([\d.]+)(B|KB|MB|GB)$/.exec(value.trim());
  if (!m) return NaN;
  return Number(m[1]) * ({ B: 1 / 1048576, KB: 1 / 1024, MB: 1, GB: 1024 } as Record<string, number>)[m[2]!]!;
}

/** Parses the output of `wrk --latency`. */
export function parseWrk(out: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
  const max = toMs(/Latency\s+\S+\s+\S+\s+(\S+)/.exec(out)?.[1] ?? '');
  const done = /(\d+) requests in ([\d.]+)(us|ms|s|m),/.exec(out);
  const requests = Number(done?.[1] ?? 0);
  const seconds = done ? toMs(`${done[2]}${done[3]}`) / 1000 : NaN;
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = sock ? Number(sock[1]) + Number(sock[2]) + Number(sock[3]) + Number(sock[4]) : 0;
  const mbPerSec = toMb(/Transfer\/sec:\s+(\S+)/.exec(out)?.[1] ?? '');
  // No request completed, or output we cannot read: a measurement that did not happen fails the
  // run instead of being recorded as NaN.
  if (!(requests > 0) || ![rps, p50, p99, max].every(Number.isFinite)) throw new Error(`wrk measured nothing usable:\n${out}`);
  return { rps, p50, p99, max, requests, seconds, non2xx, errors, mbPerSec };
}

function wrkArgs(url: string, opts: WrkOptions, durationS: number): string[] {
  const args = ['-c', opts.cpus ?? '1', 'wrk', '-t', '1', '-c', String(opts.connections), '-d', `${durationS}s`, '--latency'];
  for (const h of opts.headers ?? []) args.push('-H', h);
  if (opts.script) args.push('-s', opts.script);
  if (opts.timeoutS !== undefined) args.push('--timeout', `${opts.timeoutS}s`);
  args.push(url);
  return args;
}

/** Runs wrk (one thread, pinned) for `durationS` seconds and parses what it printed. */
export function runWrk(url: string, opts: WrkOptions & { durationS: number }): WrkResult {
  return parseWrk(execFileSync('taskset', wrkArgs(url, opts, opts.durationS), { encoding: 'utf8' }));
}

export interface RunningWrk {
  /** Interrupts wrk (SIGINT: it prints its statistics so far) and parses them. */
  stop(): Promise<WrkResult & { output: string }>;
}

/** Starts wrk (one thread, pinned) in the background; it runs until `stop()` (at most `maxS` seconds). */
export function startWrk(url: string, opts: WrkOptions, maxS = 600): RunningWrk {
  // taskset execs wrk, so the signal reaches wrk itself.
  const child = spawn('taskset', wrkArgs(url, opts, maxS), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = once(child, 'exit');
  return {
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      const [code] = (await exited) as [number | null];
      if (code !== 0) throw new Error(`wrk exited with ${String(code)}: ${err}${out}`);
      return { ...parseWrk(out), output: out };
    },
  };
}
