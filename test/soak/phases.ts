import { FAULT_MODES, type FaultMode, type FaultOptions } from '../fake-recall/server.js';
import { seconds, stopwatch, type SoakContext } from './context.js';
import { PULLER_SETTINGS, type SoakRig } from './rig.js';
import { DEADLINES, sleep, waitUntil } from './wait.js';

/** The phases of events, in order: start, kills, outage, faults, the large payload. */

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
/**
 * Faults a tick rides out: the data still arrives (slow, a 200 whatever If-None-Match says, an
 * ETag that is not one), or a 304 leaves the data as it is until the next tick loads it.
 */
const SURVIVABLE: ReadonlySet<FaultMode> = new Set<FaultMode>(['slow', 'no-304', 'invalid-etag', 'always-304']);

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

/** `pull` on the home of a running puller: refused, naming it, whichever stream it writes that to. */
async function secondPullerRefused(rig: SoakRig, log: (msg: string) => void): Promise<boolean> {
  const holder = await rig.waitPullerHoldsHome();
  const second = await rig.tryPull();
  if (second.code === 1 && `${second.stderr}${second.stdout}`.includes(`(PID ${holder.pid})`)) return true;
  log(`second puller NOT refused: code ${second.code}, signal ${second.signal}: ${second.stderr.trim()}`);
  return false;
}

/**
 * Phase 2: ten rounds of: new data, published by the (restarted) puller and served, while a second
 * puller is refused; new data again and kill -9 at a random moment of the tick that fetches it;
 * restart.
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
      // Changed before the restarted puller's first tick, so that tick is the one awaited.
      const before = await rig.generation();
      const scan = await rig.changeData();
      const [ok] = await Promise.all([secondPullerRefused(rig, log), rig.waitPublished(scan, before).then((generation) => rig.waitServed(generation))]);
      tried++;
      if (ok) refused++;
      const served = lap();
      await rig.changeData();
      const changedAt = Date.now();
      // Inside the tick that fetches the new data: it starts after the change, the kill lands in
      // its first second (a 2000-session tick takes about that on an idle machine, longer loaded).
      await rig.waitTickStarted(changedAt);
      await sleep(Math.random() * 1000, rig.signal);
      if (await rig.killPuller()) insideTick++;
      kills++;
      rig.startPuller();
      log(`kill ${kills} done (published and served, second puller refused: ${served}; kill: ${lap()})`);
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
    checks.add('upstream outage', `${seconds(downMs)} down, ${failures} failed ticks, ${recovered ? 'recovered' : 'NOT recovered'}`, failures > 0 && recovered);
  }
}

/**
 * Phase 4: every fault mode of the fake upstream once, armed with a data change; the tick that
 * meets it fails (the SURVIVABLE ones do not), and the data is published and served after.
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
    await waitUntil(
      'the reader process to open the large generation',
      () => (expected !== undefined && rig.fileOpens().declared.has(expected) ? true : undefined),
      {
        timeoutMs: DEADLINES.served,
        signal: rig.signal,
      },
    );
    opened = true;
  } finally {
    checks.add(
      `large payload (${largeSessions} sessions) published / served / opened`,
      `${publishedIn === null ? 'no' : `in ${seconds(publishedIn)}`} / ${served} / ${opened}`,
      publishedIn !== null && served && opened,
    );
  }
}
