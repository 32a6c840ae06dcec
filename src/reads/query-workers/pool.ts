import { availableParallelism } from 'node:os';
import { settingName } from '../../shared/config.js';
import { LatticeError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { homePaths } from '../../shared/paths.js';
import { BusyError, NoSnapshotError, QueryTimeoutError, SnapshotUnavailableError } from '../contract/errors.js';
import { QueryMemoryError, QueryWorkerError } from './errors.js';
import { residentBytes } from './memory.js';
import type { QueryResultMessage, WorkerSettings } from './protocol.js';
import { QueryWorker, WorkerLost, type WorkerAnswer } from './worker-process.js';

/**
 * The query worker pool: a few warm child processes (worker-main.ts) that run the MCP `query`
 * tool's SQL, so that no query can take the reads server's memory, CPU or shutdown with it.
 *
 * - Memory: each worker is capped at `memoryBytes`, from outside DuckDB: an address-space rlimit
 *   where the OS enforces one (Linux: DuckDB then fails fast with its own "Out of Memory Error"),
 *   and this pool samples a busy worker's RSS every `sampleMs` and kills it past the cap (what
 *   holds on macOS, where memory rlimits are not enforced). DuckDB's own memory_limit inside the
 *   worker is three quarters of the cap (the rest is for Node and what DuckDB allocates outside
 *   its buffer pool), so ordinary big queries fail cleanly, with DuckDB's message, before either.
 * - Time: at the query's deadline the worker is SIGKILLed (DuckDB's interrupt does not reach
 *   every operator) and the caller answered at once; a replacement starts.
 * - Queue: a query waits for an idle worker at most `queueTimeoutMs`, behind at most `maxQueued`
 *   others, then gets a "busy" error.
 * - A worker that dies is replaced (with a growing delay while new ones keep dying at start);
 *   `close()` kills every worker and answers every waiting query without waiting on any of them.
 */

export interface PoolQuery {
  sql: string;
  maxRows: number;
  maxResultBytes: number;
  timeoutMs: number;
}

/** What `query` runs on: the pool, or anything that answers like it. */
export interface QueryRunner {
  run(query: PoolQuery): Promise<QueryResultMessage>;
}

export interface QueryWorkerPoolOptions {
  home: string;
  /** Each worker's memory cap, in bytes. */
  memoryBytes: number;
  logger: Logger;
  /** Workers kept warm (default 2). */
  size?: number;
  maxQueued?: number;
  queueTimeoutMs?: number;
  /** How often a busy worker's RSS is sampled (default 150 ms). */
  sampleMs?: number;
  /** Set RLIMIT_AS on the workers (default true; tests turn it off to exercise the RSS watch alone). */
  addressSpaceLimit?: boolean;
  /** DuckDB threads per worker (default: from the cores, workerDuckdbSettings); tests pin it. */
  threads?: number;
}

const DEFAULT_POOL_SIZE = 2;
const MIB = 1024 * 1024;
const SHUTTING_DOWN = 'the server is shutting down; retry once it is back';

/** DuckDB's own limits inside a worker with this memory cap (also the benchmark's in-process baseline). */
export function workerDuckdbSettings(memoryBytes: number): Pick<WorkerSettings, 'duckdbMemoryMb' | 'threads'> {
  return {
    duckdbMemoryMb: Math.max(64, Math.floor((memoryBytes / MIB) * 0.75)),
    // Leave cores to the HTTP server: an agent's query is not worth the whole machine.
    threads: Math.max(1, Math.min(4, Math.floor(availableParallelism() / 2))),
  };
}

interface Waiter {
  resolve: (w: QueryWorker) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class QueryWorkerPool implements QueryRunner {
  private readonly workers = new Set<QueryWorker>();
  private readonly waiting: Waiter[] = [];
  /** Why the last worker that died before it was ready died (cleared by the next ready one). */
  private startError: string | null = null;
  private startFailures = 0;
  /** Workers that reached `ready` (one that dies before it failed to start). */
  private readonly readyOnce = new WeakSet<QueryWorker>();
  private respawnTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly settings: WorkerSettings;
  private readonly size: number;
  private readonly maxQueued: number;
  private readonly queueTimeoutMs: number;
  private readonly sampleMs: number;

  constructor(private readonly opts: QueryWorkerPoolOptions) {
    this.size = opts.size ?? DEFAULT_POOL_SIZE;
    this.maxQueued = opts.maxQueued ?? 64;
    this.queueTimeoutMs = opts.queueTimeoutMs ?? 30_000;
    this.sampleMs = opts.sampleMs ?? 150;
    const paths = homePaths(opts.home);
    const duckdb = workerDuckdbSettings(opts.memoryBytes);
    this.settings = { published: paths.published, home: paths.home, ...duckdb, threads: opts.threads ?? duckdb.threads };
  }

  get capMb(): number {
    return Math.round(this.opts.memoryBytes / MIB);
  }

  /** The workers' process ids (for diagnostics and tests). */
  pids(): number[] {
    return [...this.workers].map((w) => w.pid).filter((p): p is number => p !== undefined);
  }

  start(): void {
    while (this.workers.size < this.size) this.spawn();
  }

  /** Resolves once no worker is starting (all are warm), for callers that measure or must not queue. */
  async ready(): Promise<void> {
    while ([...this.workers].some((w) => w.state === 'starting') || this.workers.size === 0) {
      if (this.closed) return;
      if (this.startError) throw new QueryWorkerError(this.startError);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** A new generation is current: idle workers reopen now, so the next query does not wait for it. */
  sync(): void {
    for (const w of this.workers) w.sync();
  }

  async run(query: PoolQuery): Promise<QueryResultMessage> {
    const worker = await this.acquire();
    const answer = await this.runOn(worker, query);
    if (answer.type === 'result') return answer;
    switch (answer.kind) {
      case 'refused':
      case 'failed':
        // The worker's message is already the agent's ("query refused: ...", "query failed: ...").
        throw new LatticeError(answer.kind === 'refused' ? 'query_refused' : 'query_failed', answer.message);
      case 'no_snapshot':
        throw new NoSnapshotError(this.settings.published);
      case 'unavailable':
        throw new SnapshotUnavailableError(answer.message);
      default:
        throw new QueryWorkerError(answer.message);
    }
  }

  /** Kills every worker and answers everything waiting; never waits on a query. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.respawnTimer) clearTimeout(this.respawnTimer);
    for (const w of this.waiting.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new QueryWorkerError(SHUTTING_DOWN));
    }
    const exits = [...this.workers].map((w) => {
      w.kill();
      return w.exited;
    });
    await Promise.all(exits);
  }

  private spawn(): void {
    const worker = new QueryWorker({ settings: this.settings, memoryBytes: this.opts.memoryBytes, addressSpaceLimit: this.opts.addressSpaceLimit }, (w) => {
      this.readyOnce.add(w);
      this.startError = null;
      this.startFailures = 0;
      this.opts.logger.debug({ worker_pid: w.pid, generation: w.snapshot?.generation ?? null }, 'query worker ready');
      this.release(w);
    });
    this.workers.add(worker);
    void worker.exited.then((exit) => {
      this.workers.delete(worker);
      if (this.closed) return;
      this.opts.logger.debug({ worker_pid: worker.pid, code: exit.code, signal: exit.signal }, 'query worker exited');
      this.replace(exit.stderr, !this.readyOnce.has(worker));
    });
  }

  /** Starts a replacement: at once, or after a growing delay while workers keep dying before they are ready. */
  private replace(stderr: string, diedStarting: boolean): void {
    if (diedStarting) {
      this.startFailures++;
      this.startError = `the query workers cannot start${stderr ? `: ${stderr.split('\n').slice(-3).join(' ')}` : ''}`;
      this.opts.logger.error({ err: this.startError, failures: this.startFailures }, 'query worker failed to start');
      for (const w of this.waiting.splice(0)) {
        clearTimeout(w.timer);
        w.reject(new QueryWorkerError(this.startError));
      }
      if (this.respawnTimer) return;
      const delay = Math.min(30_000, 250 * 2 ** Math.min(this.startFailures, 7));
      this.respawnTimer = setTimeout(() => {
        this.respawnTimer = null;
        if (!this.closed) this.start();
      }, delay);
      this.respawnTimer.unref();
      return;
    }
    this.start();
  }

  /** An idle worker for the next waiter, or back to idle. */
  private release(worker: QueryWorker): void {
    if (worker.state === 'exited') return;
    const next = this.waiting.shift();
    if (next) {
      clearTimeout(next.timer);
      worker.state = 'busy';
      next.resolve(worker);
      return;
    }
    worker.state = 'idle';
  }

  private acquire(): Promise<QueryWorker> {
    if (this.closed) return Promise.reject(new QueryWorkerError(SHUTTING_DOWN));
    for (const w of this.workers) {
      if (w.state === 'idle') {
        w.state = 'busy';
        return Promise.resolve(w);
      }
    }
    if (this.startError && ![...this.workers].some((w) => this.readyOnce.has(w))) return Promise.reject(new QueryWorkerError(this.startError));
    if (this.waiting.length >= this.maxQueued) {
      return Promise.reject(new BusyError(`all ${this.size} query workers are busy and ${this.waiting.length} queries are waiting; retry shortly`));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.waiting.indexOf(waiter);
          if (i !== -1) this.waiting.splice(i, 1);
          reject(new BusyError(`no query worker became free within ${this.queueTimeoutMs} ms (all ${this.size} are busy); retry shortly`));
        }, this.queueTimeoutMs),
      };
      this.waiting.push(waiter);
    });
  }

  /** Runs one query on a reserved worker, under its deadline and the memory cap. */
  private runOn(worker: QueryWorker, query: PoolQuery): Promise<WorkerAnswer> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        clearInterval(sampler);
        outcome();
      };
      // Answer the caller at once; the worker's exit then starts its replacement.
      const stop = (err: Error) => {
        worker.kill();
        finish(() => reject(err));
      };
      const deadline = setTimeout(() => {
        this.opts.logger.info({ worker_pid: worker.pid, timeout_ms: query.timeoutMs }, 'query worker stopped at the query deadline');
        stop(new QueryTimeoutError(query.timeoutMs, 'was stopped (its worker process was killed and replaced)'));
      }, query.timeoutMs);
      const sampler = setInterval(() => {
        void residentBytes(worker.pid ?? -1).then((rss) => {
          if (settled || rss === null || rss <= this.opts.memoryBytes) return;
          this.opts.logger.warn({ worker_pid: worker.pid, rss_mb: Math.round(rss / MIB), cap_mb: this.capMb }, 'query worker stopped past the memory cap');
          stop(new QueryMemoryError(this.capMb, Math.round(rss / MIB)));
        });
      }, this.sampleMs);
      worker.run(query).then(
        (answer) =>
          finish(() => {
            this.release(worker);
            resolve(answer);
          }),
        (err: unknown) => finish(() => reject(this.lostError(err))),
      );
    });
  }

  /** The caller's error when a worker stopped under its query (killed by the OS, crashed). */
  private lostError(err: unknown): Error {
    if (this.closed) return new QueryWorkerError(SHUTTING_DOWN);
    if (!(err instanceof WorkerLost)) return err instanceof Error ? err : new Error(String(err));
    const how = err.exit ? (err.exit.signal ?? `exit code ${err.exit.code}`) : err.message;
    this.opts.logger.warn({ err: err.message, stderr: err.exit?.stderr.slice(-500) }, 'query worker lost under a query');
    return new QueryWorkerError(
      `the query's worker process stopped before answering (${how}), most likely out of memory (cap ${this.capMb} MB per worker); narrow the query, or raise ${settingName('queryMemoryBytes')}`,
    );
  }
}
