import { watch, type FSWatcher } from 'node:fs';

/**
 * Runs a job whenever some files of a directory may have changed: on an fs.watch event naming one
 * of them, and every `pollMs` as well. fs.watch alone is not enough: it misses events on network
 * file systems, stops when its directory is replaced, and cannot be set on a directory that does
 * not exist yet; the poll covers all three, and the watch is set again at each trigger while it is
 * missing.
 *
 * Never two runs at once: a trigger during a run makes exactly one more run after it (however
 * many arrive), so a burst of events costs at most two runs and no change is left unseen.
 */

export interface WatchCoalesceOptions {
  /** The directory watched. It may not exist yet. */
  dir: string;
  /** The file names in `dir` whose events trigger a run (an event without a name triggers one too). */
  names: readonly string[];
  /** The fallback poll. */
  pollMs: number;
  /** The job. */
  run: () => Promise<void>;
  /** A run that threw; the loop goes on (the next trigger runs again). */
  onError: (err: unknown) => void;
}

export class WatchCoalesce {
  private timer: NodeJS.Timeout | null = null;
  private watcher: FSWatcher | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private readonly names: ReadonlySet<string>;

  constructor(private readonly opts: WatchCoalesceOptions) {
    this.names = new Set(opts.names);
  }

  /** Starts the poll and the watch; does not run the job (await `trigger()` for a first run). */
  start(): void {
    if (this.stopped || this.timer) return;
    this.timer = setInterval(() => void this.trigger(), this.opts.pollMs);
    this.timer.unref();
    this.ensureWatcher();
  }

  /** Runs the job now, or once more after the run in progress; resolves when that run is done. */
  trigger(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          if (this.stopped) break;
          this.ensureWatcher();
          try {
            await this.opts.run();
          } catch (err) {
            this.opts.onError(err);
          }
        } while (this.again);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Drops the watch and sets it again: for a directory that was replaced (a new inode). */
  rewatch(): void {
    this.closeWatcher();
    this.ensureWatcher();
  }

  /** No run starts after this; resolves once a run in progress has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.closeWatcher();
    await this.running;
  }

  private ensureWatcher(): void {
    if (this.watcher || this.stopped) return;
    try {
      this.watcher = watch(this.opts.dir, { persistent: false }, (_event, name) => {
        if (name === null || this.names.has(name)) void this.trigger();
      });
      this.watcher.on('error', () => this.closeWatcher());
    } catch {
      this.watcher = null; // the directory does not exist (yet): the poll carries on, and retries
    }
  }

  private closeWatcher(): void {
    this.watcher?.close();
    this.watcher = null;
  }
}
