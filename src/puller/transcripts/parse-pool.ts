import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { FileState } from './file-state.js';
import type { FileRead } from './read-file.js';

/** One file for a worker: its place in the read order, its path, and what is known of it. */
export interface ParseTask {
  index: number;
  path: string;
  known: FileState | undefined;
}

export interface ParseResult {
  index: number;
  read: FileRead;
}

/**
 * When the pool is worth its start-up: a worker costs tens of milliseconds to start (more on a
 * busy machine) while parsing 64 MiB takes about half a second on one thread, so below this, and
 * for a single file (which one thread reads anyway), the main thread reads (an incremental tick,
 * a few KB, never waits for a worker).
 */
export const POOL_MIN_BYTES = 64 * 1024 * 1024;

/**
 * Files handed to a worker ahead of its answers (posted in batches, parse-worker.ts): with thousands
 * of small files, a worker waiting for its next file after each answer idled a third of the time on
 * a busy machine.
 */
const IN_FLIGHT = 16;

/** Workers at most: past a few, staging on the main thread is the bound, not parsing. */
const MAX_WORKERS = 4;

export function poolSize(files: number): number {
  return Math.max(1, Math.min(availableParallelism(), MAX_WORKERS, files));
}

/**
 * The worker's entry point: beside this file once compiled. When this module runs from its
 * TypeScript source (vitest imports src/), the compiled copy in dist/ (as query-workers/spawn.ts).
 */
function workerMain(): string {
  const beside = resolve(import.meta.dirname, 'parse-worker.js');
  return existsSync(beside) ? beside : resolve(import.meta.dirname, '../../../dist/src/puller/transcripts/parse-worker.js');
}

export interface PoolOptions {
  workers: number;
  signal?: AbortSignal;
  /** Tests: limits that make a worker die. */
  resourceLimits?: ResourceLimits;
}

/** A parse worker died: the ingest fails (nothing is committed) and names the file it was reading. */
export class ParseWorkerError extends Error {
  constructor(readonly file: string, cause: unknown) {
    // The cause's name and code only: an error from inside a parse could quote a transcript.
    const what = cause instanceof Error ? ('code' in cause && typeof cause.code === 'string' ? cause.code : cause.name) : String(cause);
    super(`a transcript parse worker failed while reading ${file} (${what}); nothing was loaded this tick`);
    this.name = 'ParseWorkerError';
  }
}

/**
 * Reads `tasks` in worker threads, the largest first (so that the last to finish is a small one),
 * calling `onRead` on the main thread as each file's result arrives (in any order: ParseResult's
 * index says which). Resolves when every file is read; rejects on `signal` (with its reason) or
 * when a worker dies, after ending every worker.
 */
export function readInWorkers(tasks: readonly (ParseTask & { size: number })[], onRead: (result: ParseResult) => void, options: PoolOptions): Promise<void> {
  const queue = [...tasks].sort((a, b) => b.size - a.size || a.index - b.index);
  const workers: Worker[] = [];
  return new Promise<void>((resolvePool, rejectPool) => {
    let pending = queue.length;
    let settled = false;
    const end = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      for (const w of workers) void w.terminate();
      if (err === undefined) resolvePool();
      else rejectPool(err);
    };
    const onAbort = (): void => end(options.signal?.reason);
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (pending === 0) return end();

    const start = (): void => {
      const worker = new Worker(workerMain(), { resourceLimits: options.resourceLimits });
      workers.push(worker);
      // Handed out but not answered, oldest first: the first is the one being read.
      const given: ParseTask[] = [];
      const next = (): void => {
        while (given.length < IN_FLIGHT) {
          const task = queue.shift();
          if (!task) return;
          given.push(task);
          worker.postMessage({ index: task.index, path: task.path, known: task.known } satisfies ParseTask);
        }
      };
      worker.on('message', (results: ParseResult[]) => {
        if (settled) return;
        try {
          for (const result of results) {
            if (settled) return;
            given.shift();
            onRead(result);
          }
        } catch (err) {
          return end(err);
        }
        pending -= results.length;
        if (pending === 0) return end();
        next();
      });
      const died = (cause: unknown): void => end(new ParseWorkerError(given[0]?.path ?? '(no file yet)', cause));
      worker.on('error', died);
      worker.on('exit', (code) => {
        if (!settled) died(new Error(`exit code ${code}`));
      });
      next();
    };
    for (let i = 0; i < Math.min(options.workers, queue.length); i++) start();
  });
}
