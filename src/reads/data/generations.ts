import { basename, dirname } from 'node:path';
import type { Logger } from '../../shared/logger.js';
import { DEFAULTS } from '../../shared/config.js';
import { type DuckDbSettings } from '../../shared/duckdb-settings.js';
import { errorMessage } from '../../shared/errors.js';
import { WatchCoalesce } from '../../shared/watch-coalesce.js';
import { NoSnapshotError, SnapshotUnavailableError } from '../contract/errors.js';
import type { GenerationSource, SwitchListener } from './generation-source.js';
import type { QueryLimiter } from './query-limiter.js';
import { publishedFileId } from './published-file.js';
import { Generation, generationInstanceOptions } from './generation.js';

/**
 * Generations: one read-only DuckDB instance per published file, reference-counted.
 *
 * The puller publishes by renaming a complete file over the published path; a process that has the
 * old file open keeps reading its inode. So the reads server keeps one instance per generation:
 * a request acquires the current generation and releases it when its response is finished; when
 * a new file appears (the path's inode/size/mtime changed; checked every `pollMs` and on an
 * fs.watch event in the home directory) the new one is opened, becomes current, and the old one
 * is closed only once its in-flight requests have drained (closing an instance with a query in
 * flight crashes the process). Never `DuckDBInstance.fromCache`: it is keyed by path and would hand
 * back the old generation.
 */

export interface GenerationManagerOptions {
  /** The published file. */
  path: string;
  logger: Logger;
  limiter: QueryLimiter;
  /** How often the published path is stat'ed (besides fs.watch events). */
  pollMs?: number;
  /** DuckDB memory_limit and threads of each generation's instance (default: the config's defaults). */
  duckdb?: DuckDbSettings;
}

/** The generations of the published file, as the read surfaces see them (generation-source.ts). */
export class GenerationManager implements GenerationSource {
  private current: Generation | null = null;
  private lastOpenError: { fileId: string; message: string; at: number } | null = null;
  private readonly watch: WatchCoalesce;
  private stopped = false;
  private readonly retiring = new Set<Promise<void>>();
  private readonly listeners: SwitchListener[] = [];
  readonly path: string;
  private readonly logger: Logger;
  private readonly limiter: QueryLimiter;
  private readonly instanceOptions: Record<string, string>;

  constructor(opts: GenerationManagerOptions) {
    this.path = opts.path;
    this.logger = opts.logger;
    this.limiter = opts.limiter;
    this.instanceOptions = generationInstanceOptions(opts.duckdb ?? { memoryLimitBytes: DEFAULTS.memoryLimitBytes, threads: DEFAULTS.threads });
    this.watch = new WatchCoalesce({
      dir: dirname(opts.path),
      names: [basename(opts.path)],
      pollMs: opts.pollMs ?? 200,
      run: () => this.checkOnce(),
      onError: (err) => this.logger.warn({ err: errorMessage(err), path: this.path }, 'cannot check the published file'),
    });
  }

  /** Opens the published file if there is one, then keeps watching for new ones. */
  async start(): Promise<void> {
    await this.check();
    this.watch.start();
  }

  onSwitch(listener: SwitchListener): void {
    this.listeners.push(listener);
  }

  /** The generation being served, without taking a reference (null before the first snapshot). */
  peek(): Generation | null {
    return this.current;
  }

  /** The last failure to open a published file, if the current file could not be opened. */
  get openError(): string | null {
    return this.lastOpenError?.message ?? null;
  }

  /** Takes a reference on the current generation; release it with `generation.release()`. */
  acquire(): Generation {
    const gen = this.current;
    if (!gen) {
      if (this.lastOpenError) throw new SnapshotUnavailableError(this.lastOpenError.message);
      throw new NoSnapshotError(this.path);
    }
    gen.retain();
    return gen;
  }

  /** Checks the published path now (coalesced with a check already running). */
  check(): Promise<void> {
    return this.watch.trigger();
  }

  async catchUp(generation: number): Promise<void> {
    if (generation > (this.current?.generation ?? 0)) await this.check();
  }

  private async checkOnce(): Promise<void> {
    if (this.stopped) return;
    let fileId: string;
    try {
      fileId = await publishedFileId(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.logger.warn({ err: errorMessage(err) }, 'cannot stat the published file');
      return;
    }
    if (this.current?.fileId === fileId) return;
    if (this.lastOpenError?.fileId === fileId && Date.now() - this.lastOpenError.at < 1000) return;
    let next: Generation;
    try {
      next = await Generation.open(this.path, fileId, this.limiter, this.instanceOptions);
    } catch (err) {
      const message = errorMessage(err);
      if (this.lastOpenError?.message !== message) this.logger.warn({ err: message, path: this.path }, 'cannot open the published file');
      this.lastOpenError = { fileId, message, at: Date.now() };
      return;
    }
    this.lastOpenError = null;
    if (this.stopped) {
      await next.retire();
      return;
    }
    const previous = this.current;
    this.current = next;
    this.logger.info(
      {
        generation: next.generation,
        previous: previous?.generation ?? null,
        open_ms: Math.round(next.openMs * 10) / 10,
        views: next.views.size,
        duckdb_memory_limit: next.duckdb.memory_limit,
        duckdb_threads: next.duckdb.threads,
      },
      'serving generation',
    );
    if (previous && next.generation < previous.generation) {
      this.logger.warn({ generation: next.generation, previous: previous.generation }, 'the published generation went backwards');
    }
    for (const l of this.listeners) l(next, previous);
    if (previous) this.retireLater(previous);
  }

  private retireLater(gen: Generation): void {
    const done = gen.retire().then(() => {
      this.retiring.delete(done);
      this.logger.debug({ generation: gen.generation }, 'closed generation');
    });
    this.retiring.add(done);
  }

  /**
   * Stops watching and closes every generation once its in-flight requests have drained (or
   * `timeoutMs` passed: then the instances are left open rather than closed under a query).
   */
  async close(timeoutMs = 8_000): Promise<boolean> {
    this.stopped = true;
    await this.watch.stop();
    if (this.current) this.retireLater(this.current);
    this.current = null;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const ok = await Promise.race([Promise.all([...this.retiring]).then(() => true as const), timeout]);
    clearTimeout(timer);
    return ok;
  }
}
