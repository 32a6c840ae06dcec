import { BusyError } from '../contract/errors.js';

/**
 * A small FIFO semaphore bounding how many DuckDB queries run at once, across every open
 * generation. Queries run on libuv's thread pool (4 threads by default), shared with fs and DNS
 * work: more concurrent queries than that stall everything else, so the default is 3.
 */
export class QueryLimiter {
  private active = 0;
  private readonly waiting: Array<{ grant: () => void; timer: NodeJS.Timeout }> = [];
  /**
   * Told how long each acquire waited for a slot, in seconds (0 when one was free), granted or
   * timed out; /metrics sets it (a refusal because the queue is full waited for nothing).
   */
  onWait: ((seconds: number) => void) | null = null;

  constructor(
    readonly maxConcurrent = 3,
    readonly maxQueued = 512,
    readonly queueTimeoutMs = 10_000,
  ) {}

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves with a release function once a slot is free; BusyError when the queue is full or the wait too long. */
  acquire(): Promise<() => void> {
    if (this.active < this.maxConcurrent) {
      this.active++;
      this.onWait?.(0);
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.maxQueued) return Promise.reject(new BusyError());
    const since = performance.now();
    return new Promise((resolve, reject) => {
      const entry = {
        grant: () => {
          clearTimeout(entry.timer);
          this.onWait?.((performance.now() - since) / 1000);
          resolve(this.releaser());
        },
        timer: setTimeout(() => {
          const i = this.waiting.indexOf(entry);
          if (i !== -1) this.waiting.splice(i, 1);
          this.onWait?.((performance.now() - since) / 1000);
          reject(new BusyError(`no query slot became free within ${this.queueTimeoutMs} ms; retry shortly`));
        }, this.queueTimeoutMs),
      };
      this.waiting.push(entry);
    });
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiting.shift();
      if (next) next.grant();
      else this.active--;
    };
  }
}
