/**
 * The soak: session-lattice as it lives on a user's machine for weeks, compressed into minutes.
 * The puller and the reads server run as separate processes against a fake upstream; readers read
 * views over HTTP and /mcp the whole time, and a separate process opens the published file over
 * and over. In order: kill -9 the puller 10 times (a second puller refused each time) while the
 * reads server restarts 5 times; take upstream down; inject every fault; fill the home's disk
 * (a tmpfs, as root on Linux) and free it; serve one very large payload; then keep the data changing while resources are measured. Every event waits on what
 * happened (status.json, what readers were served), so a loaded machine takes longer and proves
 * the same things. Prints a table and exits non-zero if anything was lost.
 *
 *   node dist/test/soak/main.js [--seconds 600] [--large-sessions 300000] [--base-sessions 2000] [--record]
 *
 * --seconds is the target duration: the steady phase fills what the events leave of it (but never
 * less than its minimum window). --record writes the table of a completed run into docs/benchmarks.md.
 */
import { parseArgs } from 'node:util';
import { recordSection } from '../../bench/record.js';
import { Checks } from './checks.js';
import { Cleanup } from './cleanup.js';
import type { SoakContext } from './context.js';
import { finish, readerDetails, readerRows } from './finish.js';
import { diskFull } from './disk-full.js';
import { faults, largePayload, pullerKills, start, upstreamOutage } from './phases.js';
import { SoakRig } from './rig.js';
import { steady } from './steady.js';
import { SoakAborted } from './wait.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '600' },
    'large-sessions': { type: 'string', default: '300000' },
    'base-sessions': { type: 'string', default: '2000' },
    record: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(values.seconds);
const LARGE = Number(values['large-sessions']);
const BASE = Number(values['base-sessions']);
for (const [flag, v] of [
  ['--seconds', SECONDS],
  ['--large-sessions', LARGE],
  ['--base-sessions', BASE],
] as const) {
  if (!Number.isInteger(v) || v <= 0) {
    process.stderr.write(`soak: ${flag} must be a positive integer\n`);
    process.exit(2);
  }
}

const t0 = Date.now();
const elapsed = (since = t0) => `${((Date.now() - since) / 1000).toFixed(0)} s`;
const log = (msg: string) => process.stderr.write(`[soak +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);

const abort = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping everything`);
    abort.abort();
  });
}

const PHASES: Array<[string, (ctx: SoakContext) => Promise<void>]> = [
  ['start', start],
  ['kills', pullerKills],
  ['outage', upstreamOutage],
  ['faults', faults],
  ['disk-full', diskFull],
  ['large', largePayload],
  ['steady', steady],
  ['stop', finish],
];

const cleanup = new Cleanup();
const checks = new Checks();
const phaseTimes: string[] = [];
let ctx: SoakContext | null = null;
let failure: unknown = null;
let tails = '';
try {
  const rig = await SoakRig.create(BASE, cleanup, abort.signal);
  ctx = { rig, checks, log, targetEnd: t0 + SECONDS * 1000, largeSessions: LARGE, baseSessions: BASE, readersReported: false };
  for (const [name, phase] of PHASES) {
    const startedAt = Date.now();
    log(`phase ${name}`);
    try {
      await phase(ctx);
    } finally {
      phaseTimes.push(`${name} ${elapsed(startedAt)}`);
    }
  }
} catch (err) {
  failure = err;
  if (!(err instanceof SoakAborted)) log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  if (ctx) {
    readerRows(ctx);
    tails = ctx.rig.tails();
  }
} finally {
  const errors = await cleanup.run();
  for (const e of errors) log(`cleanup: ${e}`);
}

checks.note('duration (per phase)', `${elapsed()} (${phaseTimes.join(', ')})`);
if (values.record && failure === null) {
  await recordSection(
    'soak',
    [
      `## Soak: ${SECONDS} s, ${LARGE.toLocaleString('en-US')}-session large payload`,
      '',
      '`npm run soak -- --seconds ' + SECONDS + ' --record`: the puller and the reads server as separate processes, four',
      'readers over HTTP and /mcp and a separate process opening the published file throughout; 10 kill -9 of the',
      'puller (a second puller refused each time) with 5 reads restarts, an upstream outage, every fault mode, the',
      "home's disk (a tmpfs) filled and freed, the large payload, then the data changing every 1-3 s after each",
      'publish while resources are sampled.',
      '',
      ...checks.markdown(),
    ].join('\n'),
  );
}
process.stdout.write(`\n${checks.table()}`);
if (ctx) for (const line of readerDetails(ctx.rig)) process.stdout.write(`${line}\n`);
if (failure !== null) {
  process.stdout.write(`\nsoak FAILED: ${failure instanceof Error ? failure.message : String(failure)}\n${tails}\n`);
}
process.stdout.write(`\n${checks.summary(failure === null ? 0 : 1)}`);
process.exit(failure === null && checks.failed === 0 ? 0 : 1);
