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
 * V8's heap limit in a worker. A worker's JS holds one result (at most 8 MB of JSON text, parsed,
 * then serialised once for the IPC channel), far below this; the limit keeps V8 collecting
 * garbage rather than growing towards its default of a quarter of RAM.
 */
const V8_HEAP_MB = 256;

/**
 * Address space a worker needs besides what its queries use. Measured on Linux x64, Node 20 with
 * @duckdb/node-api 1.5 and MALLOC_ARENA_MAX=2: a bare node is 0.73 GB of VSZ (0.5 GB of it V8's
 * code range, reserved, never resident); with DuckDB loaded and a snapshot open, 0.85 GB at idle,
 * and it stays under 1.35 GB after sorting 10M rows with 8 DuckDB threads (without
 * MALLOC_ARENA_MAX, glibc reserves 64 MB arenas per thread: 1.1 GB before DuckDB even opens). So
 * the rlimit is the cap plus 1 GiB for that, plus V8's heap limit: V8 cannot survive a failed
 * allocation (it aborts, as does a thread that cannot get its stack), DuckDB can (its "Out of
 * Memory Error"), so a query near the cap must not leave V8 without room. With 1 GiB alone,
 * `repeat('y', 10000)` x 10,000 rows at a 512 MB cap with 4 threads reached the limit in its
 * ordinary course, and a V8 garbage collection running meanwhile aborted the worker.
 */
const ADDRESS_SPACE_HEADROOM_BYTES = (1024 + V8_HEAP_MB) * 1024 * 1024;

/**
 * The allocator settings of a worker.
 * - MALLOC_ARENA_MAX=2: glibc reserves 64 MB of address space per thread's arena otherwise.
 * - DuckDB allocates through its own jemalloc (prefix `duckdb_je_`, configured by
 *   DUCKDB_JE_MALLOC_CONF), which by default retains every address range it ever mapped: a worker
 *   that once ran a big query kept that address space for life, and the next query's V8 strings
 *   or thread stacks found none left under the limit (30 runs of the query above, 4 threads, 1 GB
 *   cap: VSZ reached 2.04 GB of the 2 GiB limit while RSS stayed under 0.65 GB). With
 *   `retain:false` freed memory goes back to the OS, so the limit measures what the worker holds
 *   now (1.70 GB at most, with the collection after each query, worker-main.ts).
 */
const ALLOCATOR_ENV = { MALLOC_ARENA_MAX: '2', DUCKDB_JE_MALLOC_CONF: 'retain:false' };

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
  // --expose-gc: the worker collects after each query, which frees DuckDB's result and chunks
  // (their native memory is released only by their JS finalizers).
  const node = [process.execPath, `--max-old-space-size=${V8_HEAP_MB}`, '--expose-gc', workerMain(), JSON.stringify(opts.settings)];
  const env = { ...process.env, ...ALLOCATOR_ENV };
  const options = { cwd: '/', env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] as const, serialization: 'json' as const };
  if (opts.addressSpaceLimit === false) return spawn(node[0]!, node.slice(1), { ...options, stdio: [...options.stdio] });
  const kb = Math.ceil((opts.memoryBytes + ADDRESS_SPACE_HEADROOM_BYTES) / 1024);
  return spawn('/bin/sh', ['-c', 'ulimit -v "$1" 2>/dev/null; shift; exec "$@"', 'sh', String(kb), ...node], { ...options, stdio: [...options.stdio] });
}
