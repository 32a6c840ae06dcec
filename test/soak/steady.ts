import type { Checks } from './checks.js';
import { publishAndServe, seconds, type SoakContext } from './context.js';
import { halfPeaks, MIN_WINDOW, ResourceSampler, type Growth } from './resources.js';
import { sleep } from './wait.js';

function growthRow(checks: Checks, name: string, g: Growth | null, valid: boolean): void {
  if (g === null) return checks.add(name, 'no samples', false);
  const growth = g.first > 0 ? (g.second - g.first) / g.first : Number.POSITIVE_INFINITY;
  checks.add(name, `${g.first.toFixed(0)} -> ${g.second.toFixed(0)} MB (${(growth * 100).toFixed(1)}%)`, valid && growth < 0.1);
}

function fdRow(checks: Checks, name: string, g: Growth | null, valid: boolean): void {
  if (g === null) return checks.add(name, 'no samples', false);
  checks.add(name, `${g.first} -> ${g.second}`, valid && g.second <= g.first + 8);
}

/**
 * Phase 6: data keeps changing (each change published and served, then a pause of 1-3 s) while
 * RSS and open descriptors of both daemons are sampled every second, until the target duration
 * and at least the minimum window are reached.
 */
export async function steady({ rig, checks, targetEnd }: SoakContext): Promise<void> {
  // Readers off the large generation first: it would weigh on the window's first half only.
  await publishAndServe(rig);
  const pids = () => ({ puller: rig.puller?.pid ?? -1, reads: rig.reads?.pid ?? -1 });
  const sampler = new ResourceSampler(pids, rig.signal);
  const startGeneration = await rig.generation();
  const startedAt = Date.now();
  const publishes = async () => (await rig.generation()) - startGeneration;
  try {
    while (Date.now() < targetEnd || sampler.samples.length < MIN_WINDOW.samples || (await publishes()) < MIN_WINDOW.publishes) {
      sampler.check();
      await publishAndServe(rig);
      await sleep(1000 + Math.random() * 2000, rig.signal);
    }
  } catch (err) {
    await sampler.stop().catch(() => undefined);
    throw err;
  }
  await sampler.stop();
  const samples = sampler.samples;
  const published = await publishes();
  const valid = samples.length >= MIN_WINDOW.samples && published >= MIN_WINDOW.publishes;
  checks.add(
    `measurement window (min ${MIN_WINDOW.samples} samples, ${MIN_WINDOW.publishes} publishes)`,
    `${seconds(Date.now() - startedAt)}: ${samples.length} samples, ${published} publishes`,
    valid,
  );
  growthRow(checks, 'puller RSS peak, 1st -> 2nd half of window', halfPeaks(samples, (s) => s.puller.rssMb), valid);
  growthRow(checks, 'reads RSS peak, 1st -> 2nd half of window', halfPeaks(samples, (s) => s.reads.rssMb), valid);
  fdRow(checks, 'puller open fds peak, 1st -> 2nd half', halfPeaks(samples, (s) => s.puller.fds), valid);
  fdRow(checks, 'reads open fds peak, 1st -> 2nd half', halfPeaks(samples, (s) => s.reads.fds), valid);
}

