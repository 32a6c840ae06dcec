import { readdir, readFile } from 'node:fs/promises';
import { sleep } from './wait.js';

interface Resources {
  rssMb: number;
  fds: number;
}

export interface Sample {
  puller: Resources;
  reads: Resources;
}

/** A window shorter than this proves nothing about growth: its checks fail. */
export const MIN_WINDOW = { samples: 20, publishes: 5 } as const;
/** Samples compared by settled(): the last this many against the ones before. */
const SETTLE_SPAN = 5;

/**
 * True once neither daemon's RSS is still falling: the peak of the last few samples is at least
 * 95% of the peak of the few before. After a large payload the puller's allocator hands memory
 * back over several seconds; a window that started then would compare a first half inflated by it.
 */
export function settled(samples: readonly Sample[]): boolean {
  if (samples.length < 2 * SETTLE_SPAN) return false;
  const last = samples.slice(-SETTLE_SPAN);
  const before = samples.slice(-2 * SETTLE_SPAN, -SETTLE_SPAN);
  const peak = (part: readonly Sample[], pick: (s: Sample) => number) => Math.max(...part.map(pick));
  return (['puller', 'reads'] as const).every((who) => peak(last, (s) => s[who].rssMb) >= 0.95 * peak(before, (s) => s[who].rssMb));
}

async function resources(pid: number): Promise<Resources> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return { rssMb: Number(kb) / 1024, fds: (await readdir(`/proc/${pid}/fd`)).length };
}

/** Samples both daemons every second until stop(). A daemon that is gone ends it with an error. */
export class ResourceSampler {
  readonly samples: Sample[] = [];
  private stopped = false;
  private failure: unknown = null;
  private readonly done: Promise<void>;

  constructor(pids: () => { puller: number; reads: number }, signal: AbortSignal) {
    // Kept, not left unhandled: the soak asks for it at its next step (check()) or at stop().
    this.done = this.loop(pids, signal).catch((err: unknown) => {
      this.failure = err;
    });
  }

  private async loop(pids: () => { puller: number; reads: number }, signal: AbortSignal): Promise<void> {
    while (!this.stopped) {
      const { puller, reads } = pids();
      this.samples.push({ puller: await resources(puller), reads: await resources(reads) });
      await sleep(1000, signal);
    }
  }

  /** Throws what ended sampling early, if anything did. */
  check(): void {
    if (this.failure !== null) throw this.failure;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    this.check();
  }
}

export interface Growth {
  first: number;
  second: number;
}

/**
 * Peaks of each half of the window. Memory rises and falls with every tick and every generation
 * switch: a leak shows as the peaks climbing. Null when a half is empty (Math.max() of nothing is
 * -Infinity, which once passed as "no growth").
 */
export function halfPeaks(samples: readonly Sample[], pick: (s: Sample) => number): Growth | null {
  const half = Math.floor(samples.length / 2);
  const first = samples.slice(0, half).map(pick);
  const second = samples.slice(half).map(pick);
  if (first.length === 0 || second.length === 0) return null;
  return { first: Math.max(...first), second: Math.max(...second) };
}
