import { seconds, type SoakContext } from './context.js';
import type { SoakRig } from './rig.js';
import { DEADLINES, sleep, waitUntil } from './wait.js';

/**
 * The disk-full episode: the home's tmpfs is shrunk to what it holds (filled, without a filler
 * file costing memory), the data changes, and the puller's tick fails with ENOSPC: it must exit
 * 75, and /healthz must say the disk is full, while readers keep being served the last
 * generation (the soak's other promises: no torn file, no backwards generation, no failed read).
 * The soak plays the service manager: it restarts an exited puller after a second, like systemd's
 * Restart=always. Then the disk is freed and the data must be published and served, no one acting.
 */

/** What is left free when the disk is "full": below health's 1 MB, too little for any tick. */
const LEFT_FREE_KIB = 256;
/** Fatal exits seen on the full disk before it is freed: the first, and one by a restarted puller. */
const FULL_EXITS = 2;
/** Restart delay of the soak's stand-in for a service manager (systemd's RestartSec is 2). */
const RESTART_AFTER_MS = 1_000;
/** The fatal storage error's exit code (src/puller/fatal-errors.ts). */
const FATAL_EXIT = 75;

/** Restarts the puller whenever it exits with 75; any other exit is recorded and stops it. */
class Restarter {
  readonly fatalExits: number[] = [];
  otherExit: string | null = null;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(private readonly rig: SoakRig) {
    rig.pullerMayExit = true;
    // An abort of the soak ends the loop with SoakAborted: the phase's own wait reports that.
    this.loop = this.watch().catch(() => undefined);
  }

  private async watch(): Promise<void> {
    while (this.running && this.otherExit === null) {
      const p = this.rig.puller;
      if (p && !p.running) {
        const { code, signal } = await p.exited;
        if (code !== FATAL_EXIT) {
          this.otherExit = `code ${code}, signal ${signal}`;
          break;
        }
        this.fatalExits.push(Date.now());
        await sleep(RESTART_AFTER_MS, this.rig.signal);
        if (this.running) this.rig.startPuller();
      }
      await sleep(50, this.rig.signal);
    }
  }

  check(): void {
    if (this.otherExit !== null) throw new Error(`the puller exited with ${this.otherExit} on a full disk; expected ${FATAL_EXIT}`);
  }

  /** Stops restarting; leaves a puller running (starts one if the last exit left none). */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    if (this.rig.puller && !this.rig.puller.running && this.otherExit === null) this.rig.startPuller();
    this.rig.pullerMayExit = false;
  }
}

/**
 * Keeps the home full: shrinks the tmpfs to what it holds plus LEFT_FREE_KIB, again every 100 ms,
 * since space comes back by itself (the reads server lets go of an old generation's file, the
 * puller removes its staged payload) as it would on a real disk that something else keeps filling.
 */
class KeepFull {
  /** Set once the home has been shrunk the first time. */
  filled = false;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(
    private readonly rig: SoakRig,
    private readonly resizeKiB: (kib: number) => void,
  ) {
    // An abort of the soak ends the loop with SoakAborted: the phase's own wait reports that.
    this.loop = this.fill().catch(() => undefined);
  }

  private async fill(): Promise<void> {
    while (this.running) {
      try {
        // Refused when what is used grew between the two calls: the next round takes the new figure.
        this.resizeKiB((await this.rig.homeUsage()).usedBytes / 1024 + LEFT_FREE_KIB);
        this.filled = true;
      } catch {
        // tried again below
      }
      await sleep(100, this.rig.signal);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

export async function diskFull({ rig, checks, log }: SoakContext): Promise<void> {
  const tmpfs = rig.tmpfs;
  if (!tmpfs) {
    checks.note('disk full: fatal exits / health said so / recovered', 'not run: the home is a tmpfs only as root on Linux');
    return;
  }
  let healthSaid: string | null = null;
  let recoveredIn: number | null = null;
  let restarter: Restarter | null = null;
  let filler: KeepFull | null = null;
  const size = (await rig.homeUsage()).totalBytes;
  try {
    const before = await rig.waitPullerHoldsHome();
    filler = new KeepFull(rig, tmpfs.resizeKiB.bind(tmpfs));
    const f = filler;
    await waitUntil('the home to be filled', () => (f.filled ? true : undefined), { timeoutMs: DEADLINES.command, signal: rig.signal });
    restarter = new Restarter(rig);
    const scan = await rig.changeData();
    log(`disk full: home shrunk to ${((await rig.homeUsage()).totalBytes / 1e6).toFixed(1)} MB; data changed (scan ${scan})`);
    const r = restarter;
    healthSaid = await waitUntil(
      `${FULL_EXITS} fatal exits of the puller and /healthz saying the disk is full`,
      async () => {
        r.check();
        const h = await rig.health().catch(() => null);
        const reason = h?.reasons.find((t) => t.startsWith('no space left on device at '));
        if (reason) healthSaid = reason;
        return r.fatalExits.length >= FULL_EXITS && healthSaid !== null ? healthSaid : undefined;
      },
      { timeoutMs: DEADLINES.failure, signal: rig.signal },
    );
    log(`disk full: ${r.fatalExits.length} fatal exits; /healthz: ${healthSaid}`);
    const freedAt = Date.now();
    await filler.stop();
    tmpfs.resizeKiB(size / 1024);
    // Published by whichever restarted puller finds the room (one may still fail before it).
    const generation = await rig.waitPublished(scan, before.generation ?? 0);
    recoveredIn = Date.now() - freedAt;
    await r.stop();
    await rig.waitServed(generation);
    log(`disk freed: generation ${generation} published ${seconds(recoveredIn)} later and served`);
  } finally {
    await filler?.stop();
    await restarter?.stop();
    // Whatever happened, the rest of the soak gets its disk back.
    await Promise.resolve()
      .then(() => tmpfs.resizeKiB(size / 1024))
      .catch(() => undefined);
    const exits = restarter?.fatalExits.length ?? 0;
    checks.add(
      'disk full: fatal exits (75) / health said so / recovered',
      `${exits} / ${healthSaid ? 'yes' : 'no'} / ${recoveredIn === null ? 'NOT recovered' : `in ${seconds(recoveredIn)} after freeing`}`,
      exits >= FULL_EXITS && healthSaid !== null && recoveredIn !== null && restarter?.otherExit === null,
    );
  }
}
