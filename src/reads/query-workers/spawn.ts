import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { WorkerSettings } from './protocol.js';

/**
 * The worker's entry point: beside this file once compiled (dist/src/reads/query-workers/). When
 * this module runs from its TypeScript source (vitest imports src/), the compiled copy in dist/:
 * node cannot start a .ts file, and the tests run after a build.
 */
function workerMain(): string {
  const beside = resolve(import.meta.dirname, 'worker-main.js');
  return existsSync(beside) ? beside : resolve(import.meta.dirname, '../../../dist/src/reads/query-workers/worker-main.js');
}

/**
 * Address space a worker needs besides what its queries use. Measured on Linux x64, Node 20 with
 * @duckdb/node-api 1.5 and MALLOC_ARENA_MAX=2: a bare node is 0.73 GB of VSZ; with DuckDB loaded
 * and a snapshot open, 0.85 GB at idle, and it stays under 1.35 GB after sorting 10M rows with 8
 * DuckDB threads (without MALLOC_ARENA_MAX, glibc reserves 64 MB arenas per thread: 1.1 GB before
 * DuckDB even opens). So the rlimit is the cap plus 1 GiB: nothing a query does can take more
 * than the cap, and a bare worker never fails for want of address space.
 */
const ADDRESS_SPACE_HEADROOM_BYTES = 1024 * 1024 * 1024;

export interface SpawnWorkerOptions {
  settings: WorkerSettings;
  /** The memory cap (bytes): the address-space limit is this plus the headroom. */
  memoryBytes: number;
  /** Set RLIMIT_AS (default true). Tests turn it off to exercise the RSS watch alone, as on macOS. */
  addressSpaceLimit?: boolean;
}

/**
 * Starts a query worker with an IPC channel. Through `/bin/sh` so that `ulimit -v` (RLIMIT_AS) is
 * set before node starts, then `exec`, so the worker's pid is node's and the IPC descriptor
 * (inherited by sh) passes to it. Where `ulimit -v` is refused or not enforced (macOS), the
 * worker runs without it and the pool's RSS watch holds the cap. stdout is dropped; stderr is
 * piped for the pool to log when a worker dies.
 */
export function spawnWorker(opts: SpawnWorkerOptions): ChildProcess {
  const node = [process.execPath, workerMain(), JSON.stringify(opts.settings)];
  const env = { ...process.env, MALLOC_ARENA_MAX: '2' };
  const options = { cwd: '/', env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] as const, serialization: 'json' as const };
  if (opts.addressSpaceLimit === false) return spawn(node[0]!, node.slice(1), { ...options, stdio: [...options.stdio] });
  const kb = Math.ceil((opts.memoryBytes + ADDRESS_SPACE_HEADROOM_BYTES) / 1024);
  return spawn('/bin/sh', ['-c', 'ulimit -v "$1" 2>/dev/null; shift; exec "$@"', 'sh', String(kb), ...node], { ...options, stdio: [...options.stdio] });
}
