import { FAULT_MODES, type FaultMode, type FaultOptions } from '../fake-recall/server.js';
import type { Checks } from './checks.js';
import { halfPeaks, MIN_WINDOW, ResourceSampler, type Growth } from './resources.js';
import { PULLER_SETTINGS, type SoakRig } from './rig.js';
import { DEADLINES, sleep, waitUntil } from './wait.js';

/**
 * The soak's phases, in order. Each one waits on what happened (status.json, what the readers were
 * served), never on the clock, and adds its rows to the table when it ends, even when it fails.
 */
export interface SoakContext {
  rig: SoakRig;
  checks: Checks;
  log: (msg: string) => void;
  /** When the soak should end if the events leave time for it: the steady phase fills the rest. */
  targetEnd: number;
  largeSessions: number;
  /** Set once the readers' rows are in the table (at the end, or by the failure report). */
  readersReported: boolean;
}

const KILL_ROUNDS = 10;
/** A reads restart after every second kill: five, running while the kills go on. */
const READS_RESTART_EVERY = 2;
/** How long upstream stays down once the puller has noticed. */
const OUTAGE_AFTER_FAILURE_MS = 3_000;
const FAULT_OPTIONS: FaultOptions = {
  // One request: the soak's puller does not retry (PULLER_SETTINGS), so it fails the tick that meets it.
  times: 1,
  oversizeBytes: (PULLER_SETTINGS.maxPayloadMb + 100) * 1024 * 1024,
  // Slow but within the upstream timeout: the tick must still succeed.
  slowChunkBytes: 64 * 1024,
  slowIntervalMs: 50,
};
/** Faults a tick rides out: the data still arrives. */
const SURVIVABLE: ReadonlySet<FaultMode> = new Set<FaultMode>(['slow']);

const seconds = (ms: number) => `${(ms / 1000).toFixed(0)} s`;

/** Each call returns the time since the previous one, for the log. */
function stopwatch(): () => string {
  let last = Date.now();
  return () => {
    const now = Date.now();
    const text = `${((now - last) / 1000).toFixed(1)} s`;
    last = now;
    return text;
  };
}

/** New data upstream, then wait until it is published and a reader has been served it. */
async function publishAndServe(rig: SoakRig): Promise<number> {
  const before = await rig.generation();
  const scan = await rig.changeData();
  return rig.waitServed(await rig.waitPublished(scan, before));
}

/** Phase 1: both daemons, the reader process and the readers; readers served the first generation. */
export async function start({ rig, log }: SoakContext): Promise<void> {
  rig.startPuller();
  await rig.startReads();
  rig.startFileReader();
  rig.startLoad();
  const generation = await rig.waitPublished(rig.recall.scanVersion, 0, DEADLINES.start + DEADLINES.publish);
  log(`generation ${generation} published; readers served ${await rig.waitServed(generation)}`);
}

/** Reads restarts chained behind each other, running alongside the kills. */
class ReadsRestarts {
  readonly exitCodes: Array<number | null> = [];
  private chain: Promise<void> = Promise.resolve();
  private error: unknown = null;

  constructor(
    private readonly rig: SoakRig,
    private readonly log: (msg: string) => void,
  ) {}

  schedule(): void {
    this.chain = this.chain
      .then(async () => {
        if (this.error !== null) return;
        this.exitCodes.push(await this.rig.restartReads());
        this.log(`reads restart ${this.exitCodes.length} done`);
      })
      // Kept for check()/finish(): a rejection nobody awaits yet would end the process.
      .catch((err: unknown) => {
        this.error ??= err;
      });
  }

  check(): void {
    if (this.error !== null) throw this.error;
  }

  async finish(): Promise<void> {
    await this.chain;
    this.check();
  }
}

/**
 * Phase 2: ten rounds of: new data published and served; a second puller refused; new data again
 * and kill -9 at a random moment of the tick that fetches it; restart.
 */
export async function pullerKills({ rig, checks, log }: SoakContext): Promise<void> {
  let kills = 0;
  let insideTick = 0;
  let tried = 0;
  let refused = 0;
  const restarts = new ReadsRestarts(rig, log);
  try {
    for (let round = 1; round <= KILL_ROUNDS; round++) {
      restarts.check();
      const lap = stopwatch();
      await rig.waitPullerHoldsHome();
      const holds = lap();
      const pid = rig.puller?.pid;
      // The second puller is tried while the first one publishes: both only need it to hold the home.
      const [second] = await Promise.all([rig.tryPull(), publishAndServe(rig)]);
      const served = lap();
      tried++;
      if (second.code === 1 && second.stderr.includes(`(PID ${pid})`)) refused++;
      else log(`second puller NOT refused: code ${second.code}, signal ${second.signal}: ${second.stderr.trim()}`);
      await rig.changeData();
      await sleep(Math.random() * 1000, rig.signal);
      if (await rig.killPuller()) insideTick++;
      kills++;
      rig.startPuller();
      log(`kill ${kills} done (puller open ${holds}, published and served, second puller refused ${served}, kill ${lap()})`);
      if (round % READS_RESTART_EVERY === 0) restarts.schedule();
    }
    await restarts.finish();
  } finally {
    const codes = restarts.exitCodes;
    checks.add('puller kill -9 / restarts', `${kills} (${insideTick} inside a tick)`, kills === KILL_ROUNDS);
    checks.add('second puller refused', `${refused}/${tried}`, tried === KILL_ROUNDS && refused === tried);
    checks.add(
      'reads restarts (exit codes on SIGTERM)',
      `${codes.length} (${codes.join(', ')})`,
      codes.length === KILL_ROUNDS / READS_RESTART_EVERY && codes.every((c) => c === 0),
    );
  }
}

/**
 * Phase 3: upstream refuses connections until the puller has recorded a failed tick, a little
 * longer, then comes back; the data changed meanwhile must be published and served.
 */
export async function upstreamOutage({ rig, checks, log }: SoakContext): Promise<void> {
  let failures = 0;
  let downMs = 0;
  let recovered = false;
  try {
    const before = await rig.waitPullerHoldsHome();
    const downAt = Date.now();
    await rig.proxy.down();
    const scan = await rig.changeData();
    const failed = await rig.waitFailedTick(before);
    log(`upstream down: ${failed.last_error}`);
    await sleep(OUTAGE_AFTER_FAILURE_MS, rig.signal);
    failures = (await rig.status())?.consecutive_failures ?? 0;
    downMs = Date.now() - downAt;
    await rig.proxy.up();
    await rig.waitServed(await rig.waitPublished(scan, before.generation ?? 0));
    recovered = true;
  } finally {
    checks.add(
      'upstream outage',
      `${seconds(downMs)} down, ${failures} failed ticks, ${recovered ? 'recovered' : 'NOT recovered'}`,
      failures > 0 && recovered,
    );
  }
}

/**
 * Phase 4: every fault mode of the fake upstream once, armed with a data change; the tick that
 * meets it fails (the slow one survives), and the data is published and served after.
 */
export async function faults({ rig, checks, log }: SoakContext): Promise<void> {
  let injected = 0;
  let failedTicks = 0;
  let recovered = 0;
  const mustFail = FAULT_MODES.filter((m) => !SURVIVABLE.has(m)).length;
  try {
    for (const mode of FAULT_MODES) {
      const before = await rig.waitPullerHoldsHome();
      const scan = await rig.changeData({ fault: [mode, FAULT_OPTIONS] });
      injected++;
      if (!SURVIVABLE.has(mode)) {
        log(`fault ${mode}: ${(await rig.waitFailedTick(before)).last_error}`);
        failedTicks++;
      }
      await rig.waitServed(await rig.waitPublished(scan, before.generation ?? 0));
      recovered++;
    }
  } finally {
    checks.add(
      'faults injected / failed a tick / recovered',
      `${injected} / ${failedTicks} / ${recovered} of ${FAULT_MODES.length}`,
      injected === FAULT_MODES.length && failedTicks === mustFail && recovered === FAULT_MODES.length,
    );
  }
}

/** Phase 5: the large payload, published, served, and opened whole by a separate process. */
export async function largePayload({ rig, checks, largeSessions, log }: SoakContext): Promise<void> {
  let publishedIn: number | null = null;
  let served = false;
  let opened = false;
  try {
    const before = await rig.generation();
    const startedAt = Date.now();
    const scan = await rig.changeData({ sessions: largeSessions, seed: 99 });
    const expected = rig.expectedSessions.get(scan);
    const generation = await rig.waitPublished(scan, before, DEADLINES.large);
    publishedIn = Date.now() - startedAt;
    log(`large payload published in ${seconds(publishedIn)}`);
    await rig.waitServed(generation);
    served = true;
    await waitUntil('the reader process to open the large generation', () => (expected !== undefined && rig.fileOpens().declared.has(expected) ? true : undefined), {
      timeoutMs: DEADLINES.served,
      signal: rig.signal,
    });
    opened = true;
  } finally {
    checks.add(
      `large payload (${largeSessions} sessions) published / served / opened`,
      `${publishedIn === null ? 'no' : `in ${seconds(publishedIn)}`} / ${served} / ${opened}`,
      publishedIn !== null && served && opened,
    );
  }
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

/** What the readers and the reader process saw: added at the end, or at a failure. */
export function readerRows(ctx: SoakContext): void {
  const { rig, checks } = ctx;
  if (ctx.readersReported) return;
  ctx.readersReported = true;
  const load = rig.load;
  const opens = rig.fileOpens();
  const served = rig.servedAwaited.size;
  checks.add('requests served (HTTP + MCP)', `${load.ok} (${load.mcpOk} MCP)`, load.ok > 0 && load.mcpOk > 0);
  checks.add('requests failed while reads was up', String(load.failed.length), load.failed.length === 0);
  checks.note('requests failed while reads was restarting (allowed)', String(load.failedWhileDown));
  checks.add('responses whose rows did not match their generation', String(load.mismatches.length), load.mismatches.length === 0);
  checks.add('responses whose generation went backwards', String(load.backwards), load.backwards === 0);
  checks.add('generations seen by readers (soak waited for)', `${load.generations.size} (${served})`, served > 0 && load.generations.size >= served);
  checks.add('opens of the published file (separate process)', String(opens.opens), opens.opens > 0);
  const torn = opens.errors.length + opens.missingAfterPublish + opens.miscounted.length;
  checks.add('torn, missing or unopenable published file', String(torn), torn === 0);
  checks.add('published generation went backwards (separate process)', String(opens.backwards), opens.backwards === 0);
  checks.note('data changes', String(rig.dataChanges));
}

/** The readers' and the reader process's failures, a few of each, for the report. */
export function readerDetails(rig: SoakRig): string[] {
  const opens = rig.fileOpens();
  return [
    ...rig.load.mismatches.slice(0, 5).map((m) => `mismatch: ${m}`),
    ...rig.load.failed.slice(0, 5).map((f) => `failed: ${f}`),
    ...opens.errors.slice(0, 5).map((e) => `open error: ${e}`),
    ...opens.miscounted.slice(0, 5).map((e) => `open miscounted: ${e}`),
  ];
}

/**
 * The end: readers and the reader process stop, then both daemons get SIGTERM and must exit 0,
 * leaving no temp file.
 */
export async function finish(ctx: SoakContext): Promise<void> {
  const { rig, checks } = ctx;
  // A clean stop is owed by a running daemon: one that holds its home has its handlers installed.
  await rig.waitPullerHoldsHome();
  await rig.stopLoad();
  await rig.stopFileReader();
  const generation = await rig.generation();
  readerRows(ctx);
  const published = rig.publishesAwaited.size;
  checks.add('generations published (soak waited for)', `${generation} (${published})`, published > 0 && generation >= published);
  const exits = await rig.stopDaemons();
  checks.add(
    'clean exits on SIGTERM (puller, reads)',
    `${exits.puller.code ?? exits.puller.signal}, ${exits.reads.code ?? exits.reads.signal}`,
    exits.puller.code === 0 && exits.reads.code === 0,
  );
  const leftovers = await rig.leftovers();
  checks.add('temp files left behind', leftovers.length === 0 ? '0' : `${leftovers.length}: ${leftovers.slice(0, 3).join(', ')}`, leftovers.length === 0);
}
