import type { Checks } from './checks.js';
import { publishAndServe, seconds, type SoakContext } from './context.js';
import { halfPeaks, MIN_WINDOW, ResourceSampler, settled, type Growth, type Sample } from './resources.js';
import { sleep } from './wait.js';

/** Longest warm-up before the window starts anyway (memory still falling only makes growth look smaller). */
const MAX_WARM_UP_MS = 2 * 60_000;

/**
 * Payload sizes of the steady phase, in turn: a tick's memory peak follows its payload, so sizes
 * that vary little keep the halves' peaks comparable, and consecutive scans still differ in count
 * (what lets the readers tell one generation's rows from another's).
 */
function steadySessions(base: number, n: number): number {
  return base + 10 * (n % 5);
}

function growthRow(checks: Checks, name: string, g: Growth | null, valid: boolean): void {
  if (g === null) return checks.add(name, 'no samples', false);
  const growth = g.first > 0 ? (g.second - g.first) / g.first : Number.POSITIVE_INFINITY;
  checks.add(name, `${g.first.toFixed(0)} -> ${g.second.toFixed(0)} MB (${(growth * 100).toFixed(1)}%)`, valid && growth < 0.1);
}

function fdRow(checks: Checks, name: string, g: Growth | null, valid: boolean): void {
  if (g === null) return checks.add(name, 'no samples', false);
  checks.add(name, `${g.first} -> ${g.second}`, valid && g.second <= g.first + 8);
}

interface Window {
  /** Index of the window's first sample. */
  from: number;
  generation: number;
  at: number;
}

/**
 * Phase 6: data keeps changing (each change published and served, then a pause of 1-3 s) while
 * RSS and open descriptors of both daemons are sampled every second. The window opens once memory
 * has settled after the large payload and closes at the target duration, but not before it holds
 * the minimum samples and publishes.
 */
export async function steady({ rig, checks, targetEnd, log, baseSessions: base }: SoakContext): Promise<void> {
  let n = 0;
  // Readers off the large generation first: it would weigh on the window's first half only.
  await publishAndServe(rig, steadySessions(base, n++));
  const startedAt = Date.now();
  const sampler = new ResourceSampler(() => ({ puller: rig.puller?.pid ?? -1, reads: rig.reads?.pid ?? -1 }), rig.signal);
  let window: Window | null = null;
  const publishes = async (w: Window) => (await rig.generation()) - w.generation;
  const full = async (w: Window) =>
    Date.now() >= targetEnd && sampler.samples.length - w.from >= MIN_WINDOW.samples && (await publishes(w)) >= MIN_WINDOW.publishes;
  try {
    while (window === null || !(await full(window))) {
      sampler.check();
      if (window === null && (settled(sampler.samples) || Date.now() - startedAt > MAX_WARM_UP_MS)) {
        window = { from: sampler.samples.length, generation: await rig.generation(), at: Date.now() };
        log(`measurement window opens after ${seconds(window.at - startedAt)} of warm-up`);
      }
      await publishAndServe(rig, steadySessions(base, n++));
      await sleep(1000 + Math.random() * 2000, rig.signal);
    }
  } catch (err) {
    await sampler.stop().catch(() => undefined);
    throw err;
  }
  await sampler.stop();
  windowRows(checks, sampler.samples.slice(window.from), await publishes(window), Date.now() - window.at, window.at - startedAt);
}

function windowRows(checks: Checks, samples: readonly Sample[], published: number, durationMs: number, warmUpMs: number): void {
  const valid = samples.length >= MIN_WINDOW.samples && published >= MIN_WINDOW.publishes;
  checks.add(
    `measurement window (min ${MIN_WINDOW.samples} samples, ${MIN_WINDOW.publishes} publishes)`,
    `${seconds(durationMs)} after ${seconds(warmUpMs)} warm-up: ${samples.length} samples, ${published} publishes`,
    valid,
  );
  growthRow(
    checks,
    'puller RSS peak, 1st -> 2nd half of window',
    halfPeaks(samples, (s) => s.puller.rssMb),
    valid,
  );
  growthRow(
    checks,
    'reads RSS peak, 1st -> 2nd half of window',
    halfPeaks(samples, (s) => s.reads.rssMb),
    valid,
  );
  fdRow(
    checks,
    'puller open fds peak, 1st -> 2nd half',
    halfPeaks(samples, (s) => s.puller.fds),
    valid,
  );
  fdRow(
    checks,
    'reads open fds peak, 1st -> 2nd half',
    halfPeaks(samples, (s) => s.reads.fds),
    valid,
  );
}
