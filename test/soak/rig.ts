import { spawn } from 'node:child_process';
import { readdir, statfs, writeFile } from 'node:fs/promises';
import { request } from 'undici';
import { join, resolve } from 'node:path';
import { homePaths, type HomePaths } from '../../src/shared/paths.js';
import { readPullerStatus, type PullerStatus } from '../../src/shared/status.js';
import { describeMessiness } from '../fake-recall/generate.js';
import { startFakeRecall, type FakeRecall, type FaultMode, type FaultOptions } from '../fake-recall/server.js';
import { Daemon, freePort, startDaemon, tempHome, type RunResult } from '../helpers/processes.js';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';
import type { Cleanup } from './cleanup.js';
import { LoadGenerator } from './load.js';
import { OpenLog } from './open-log.js';
import { DownableProxy } from './proxy.js';
import { DEADLINES, waitUntil } from './wait.js';

/**
 * How the soak runs the puller: ticks every half second and short upstream timeouts. No retries
 * within a tick, so each injected fault fails exactly the tick that meets it (retries have their
 * own tests in test/puller.test.ts).
 */
export const PULLER_SETTINGS = { refreshIntervalSeconds: 0.5, upstreamTimeoutSeconds: 3, upstreamRetries: 0, maxPayloadMb: 600 } as const;
const READER_LOOPS = 4;

type Exit = { code: number | null; signal: NodeJS.Signals | null };

function exitText(d: Daemon): string {
  return `code ${d.child.exitCode}, signal ${d.child.signalCode}`;
}

/** Sends `signal`, waits for the exit; SIGKILL and an error if it does not come by the deadline. */
async function stopWithin(d: Daemon, signal: NodeJS.Signals, what: string, abort: AbortSignal): Promise<Exit> {
  if (d.running) d.child.kill(signal);
  try {
    await waitUntil(`${what} to exit on ${signal}`, () => (d.running ? undefined : true), { timeoutMs: DEADLINES.command, signal: abort });
  } catch (err) {
    d.child.kill('SIGKILL');
    throw err;
  }
  return d.exited;
}

/** Waits until `d` has printed `text`; fails at once if it exits first. */
function waitPrinted(d: Daemon, text: string, what: string, abort: AbortSignal): Promise<true> {
  return waitUntil(
    what,
    () => {
      if (d.stdout.includes(text)) return true;
      if (!d.running) throw new Error(`exited (${exitText(d)}) before ${what}\n${d.stderr.slice(-2000)}`);
      return undefined;
    },
    { timeoutMs: DEADLINES.start, signal: abort, pollMs: 25 },
  );
}

/**
 * The world the soak runs: a temp home, the fake upstream behind a proxy that can go down, the
 * puller and the reads server as real processes, a separate process opening the published file,
 * and the readers. Its waits are on events: status.json, what readers were served, log lines.
 */
export class SoakRig {
  readonly expectedSessions = new Map<number, number>();
  readonly openLog = new OpenLog();
  readonly load: LoadGenerator;
  dataChanges = 0;
  /** Generations the soak waited to see published, and (distinct) served to readers. */
  readonly publishesAwaited = new Set<number>();
  readonly servedAwaited = new Set<number>();
  puller: Daemon | null = null;
  reads: Daemon | null = null;
  private fileReader: Daemon | null = null;
  private loadRun: Promise<void> | null = null;
  private readsRestarting = false;
  /** Set while the soak itself restarts a puller that exits (the disk-full episode): an exit is then no error. */
  pullerMayExit = false;
  private seed = 2;
  readonly paths: HomePaths;
  private readonly pullerArgs: string[];
  private readonly readsArgs: string[];

  private constructor(
    /** The tmpfs the home is on (root on Linux), for the disk-full episode; null elsewhere. */
    readonly tmpfs: Tmpfs | null,
    readonly home: string,
    readonly recall: FakeRecall,
    readonly proxy: DownableProxy,
    readsPort: number,
    private readonly base: number,
    private readonly cleanup: Cleanup,
    readonly signal: AbortSignal,
  ) {
    this.paths = homePaths(home);
    const s = PULLER_SETTINGS;
    this.pullerArgs = [
      'serve-puller',
      '--home',
      home,
      '--repo-recall-url',
      proxy.url,
      '--refresh-interval-seconds',
      String(s.refreshIntervalSeconds),
      '--upstream-timeout-seconds',
      String(s.upstreamTimeoutSeconds),
      '--upstream-retries',
      String(s.upstreamRetries),
      '--max-payload-mb',
      String(s.maxPayloadMb),
    ];
    this.readsArgs = ['serve-reads', '--home', home, '--port', String(readsPort)];
    this.readsUrl = `http://127.0.0.1:${readsPort}`;
    this.load = new LoadGenerator(this.readsUrl, this.expectedSessions);
  }

  readonly readsUrl: string;

  /** The home, the upstream and the proxy; each registered with `cleanup` as soon as it exists. */
  static async create(base: number, cleanup: Cleanup, signal: AbortSignal): Promise<SoakRig> {
    // As root on Linux the home is a tmpfs, so that the disk-full episode can fill and free it.
    const canMount = process.platform === 'linux' && process.getuid?.() === 0;
    const tmpfs = canMount ? await mountTmpfs(null, 'lattice-soak-') : null;
    const home = tmpfs ? { dir: tmpfs.dir, cleanup: () => tmpfs.unmount() } : await tempHome('lattice-soak-');
    cleanup.add(() => home.cleanup());
    const recall = await startFakeRecall({ sessions: base, seed: 1 });
    cleanup.add(() => recall.close());
    const proxy = new DownableProxy(await freePort(), recall.port);
    cleanup.add(() => proxy.down());
    await proxy.up();
    const rig = new SoakRig(tmpfs, home.dir, recall, proxy, await freePort(), base, cleanup, signal);
    rig.expectedSessions.set(recall.scanVersion, describeMessiness({ sessions: base, seed: 1 }).validRows);
    return rig;
  }

  private spawnTracked(args: string[]): Daemon {
    this.cleanup.assertOpen();
    const d = startDaemon(args);
    this.cleanup.add(async () => {
      if (d.running) d.child.kill('SIGKILL');
      await d.exited;
    });
    return d;
  }

  startPuller(): Daemon {
    this.puller = this.spawnTracked(this.pullerArgs);
    return this.puller;
  }

  async startReads(): Promise<void> {
    const reads = this.spawnTracked(this.readsArgs);
    this.reads = reads;
    await waitPrinted(reads, '"msg":"listening"', 'the reads server to listen', this.signal);
  }

  /** A separate process opening the published file read-only over and over, for the whole soak. */
  startFileReader(): void {
    this.cleanup.assertOpen();
    const script = resolve(import.meta.dirname, '../helpers/reader-loop.js');
    const d = new Daemon(spawn(process.execPath, [script, this.paths.published, this.stopFile], { stdio: ['ignore', 'pipe', 'pipe'] }));
    this.cleanup.add(async () => {
      if (d.running) d.child.kill('SIGKILL');
      await d.exited;
    });
    this.fileReader = d;
  }

  private get stopFile(): string {
    return join(this.home, '.soak-stop');
  }

  startLoad(): void {
    this.cleanup.assertOpen();
    const run = this.load.run(READER_LOOPS);
    this.loadRun = run;
    this.cleanup.add(async () => {
      this.load.stop();
      await run;
    });
  }

  /** What the reader process has seen so far. */
  fileOpens(): OpenLog {
    if (this.fileReader) this.openLog.update(this.fileReader.stdout);
    return this.openLog;
  }

  async stopFileReader(): Promise<void> {
    const d = this.fileReader;
    if (!d) return;
    await writeFile(this.stopFile, '');
    await waitUntil('the reader process to stop', () => (d.running ? undefined : true), { timeoutMs: DEADLINES.command, signal: this.signal });
    this.fileOpens();
  }

  async stopLoad(): Promise<void> {
    this.load.stop();
    await this.loadRun;
  }

  status(): Promise<PullerStatus | null> {
    return readPullerStatus(this.paths.status);
  }

  private runningPuller(): Daemon | null {
    const p = this.puller;
    if (!p) throw new Error('no puller started');
    if (!p.running && this.pullerMayExit) return null;
    if (!p.running) throw new Error(`the puller exited unexpectedly (${exitText(p)})`);
    return p;
  }

  /** Throws if the reads server is gone other than by a restart of the soak's own. */
  private assertReadsRunning(): void {
    const r = this.reads;
    if (!r) throw new Error('no reads server started');
    if (!r.running && !this.readsRestarting) throw new Error(`the reads server exited unexpectedly (${exitText(r)})`);
  }

  /** status.json as written by the running puller (it holds the home), or undefined. */
  private async ownStatus(): Promise<PullerStatus | undefined> {
    const pid = this.runningPuller()?.pid;
    if (pid === undefined) return undefined;
    const s = await this.status();
    return s?.pid === pid ? s : undefined;
  }

  /** The running puller has opened its working database and written its status. */
  waitPullerHoldsHome(): Promise<PullerStatus> {
    return waitUntil(`the puller (pid ${this.puller?.pid}) to hold its home`, () => this.ownStatus(), {
      timeoutMs: DEADLINES.start,
      signal: this.signal,
    });
  }

  /**
   * New upstream data (a new scan_version), returned. `fault` is armed in the same synchronous
   * step as the data is installed, so the very request that would fetch the new data gets it.
   */
  async changeData(opts: { sessions?: number; seed?: number; fault?: [FaultMode, FaultOptions] } = {}): Promise<number> {
    const sessions = opts.sessions ?? this.base + Math.floor(Math.random() * 500);
    const seed = opts.seed ?? this.seed++;
    const scan = this.recall.scanVersion + 1;
    // Known before upstream serves it, so no reader can be served a scan the soak cannot check.
    this.expectedSessions.set(scan, describeMessiness({ sessions, seed }).validRows);
    await this.recall.setData({ sessions, seed });
    if (opts.fault) this.recall.setFault(opts.fault[0], opts.fault[1]);
    if (this.recall.scanVersion !== scan) throw new Error(`upstream is at scan ${this.recall.scanVersion}, expected ${scan}`);
    this.dataChanges++;
    return scan;
  }

  /** The generation the running puller has published (from its status), 0 if none. */
  async generation(): Promise<number> {
    return (await this.status())?.generation ?? 0;
  }

  /** Waits until the running puller has published `scan` (or later) in a generation after `after`. */
  async waitPublished(scan: number, after: number, timeoutMs: number = DEADLINES.publish): Promise<number> {
    const generation = await waitUntil(
      `the puller (pid ${this.puller?.pid}) to publish scan ${scan} after generation ${after}`,
      async () => {
        const s = await this.ownStatus();
        return s && (s.scan_version ?? 0) >= scan && (s.generation ?? 0) > after ? (s.generation ?? 0) : undefined;
      },
      { timeoutMs, signal: this.signal },
    );
    this.publishesAwaited.add(generation);
    return generation;
  }

  /** Waits until a reader has been served `generation` or a later one; returns the one it saw. */
  async waitServed(generation: number): Promise<number> {
    const seen = await waitUntil(
      `a reader to be served generation ${generation}`,
      () => {
        this.assertReadsRunning();
        return this.load.maxGeneration >= generation ? this.load.maxGeneration : undefined;
      },
      { timeoutMs: DEADLINES.served, signal: this.signal },
    );
    this.servedAwaited.add(seen);
    return seen;
  }

  /** Waits until the running puller has recorded a failed tick after the one `before` names. */
  waitFailedTick(before: PullerStatus): Promise<PullerStatus> {
    // last_error_at survives the recovery, so a failure between two polls is not missed.
    return waitUntil(
      `the puller (pid ${this.puller?.pid}) to record a failed tick`,
      async () => {
        const s = await this.ownStatus();
        return s && s.last_error_at !== null && s.last_error_at !== before.last_error_at ? s : undefined;
      },
      { timeoutMs: DEADLINES.failure, signal: this.signal },
    );
  }

  /** Waits until the running puller has started a tick after `at` (Date.now() scale). */
  waitTickStarted(at: number): Promise<PullerStatus> {
    return waitUntil(
      `the puller (pid ${this.puller?.pid}) to start a tick`,
      async () => {
        const s = await this.ownStatus();
        return s?.last_tick_started_at && Date.parse(s.last_tick_started_at) > at ? s : undefined;
      },
      { timeoutMs: DEADLINES.publish, signal: this.signal, pollMs: 20 },
    );
  }

  /** kill -9; says whether the puller was inside a tick by its status. */
  async killPuller(): Promise<boolean> {
    const p = this.runningPuller();
    if (!p) return false;
    const s = await this.status();
    p.child.kill('SIGKILL');
    await p.exited;
    return s?.pid === p.pid && s.state === 'pulling';
  }

  /** The reads server's /healthz body (its verdict and reasons). */
  async health(): Promise<{ status: string; reasons: string[] }> {
    const res = await request(`${this.readsUrl}/healthz`);
    return (await res.body.json()) as { status: string; reasons: string[] };
  }

  /** Bytes used and the size of the home's filesystem. */
  async homeUsage(): Promise<{ usedBytes: number; totalBytes: number }> {
    const s = await statfs(this.home);
    return { usedBytes: (s.blocks - s.bfree) * s.bsize, totalBytes: s.blocks * s.bsize };
  }

  /** `pull` on the same home while a puller runs: it must be refused. */
  async tryPull(): Promise<RunResult> {
    const d = this.spawnTracked(['pull', '--home', this.home, '--repo-recall-url', this.proxy.url]);
    await waitUntil('`pull` to exit', () => (d.running ? undefined : true), { timeoutMs: DEADLINES.command, signal: this.signal });
    return { code: d.child.exitCode, signal: d.child.signalCode, stdout: d.stdout, stderr: d.stderr };
  }

  /**
   * SIGTERM, start again on the same port, wait until it listens and a reader has been served by
   * it. Returns the exit code of the stopped one.
   */
  async restartReads(): Promise<number | null> {
    const old = this.reads;
    if (!old) throw new Error('no reads server started');
    this.readsRestarting = true;
    this.load.markReadsDown();
    const exit = await stopWithin(old, 'SIGTERM', 'the reads server', this.signal);
    await this.startReads();
    this.load.markReadsUp();
    this.readsRestarting = false;
    const served = this.load.ok;
    await waitUntil('a reader to be served by the restarted reads server', () => (this.load.ok > served ? true : undefined), {
      timeoutMs: DEADLINES.served,
      signal: this.signal,
    });
    return exit.code;
  }

  /** SIGTERM to both daemons; their exits. */
  async stopDaemons(): Promise<{ puller: Exit; reads: Exit }> {
    const puller = this.puller ? await stopWithin(this.puller, 'SIGTERM', 'the puller', this.signal) : { code: null, signal: null };
    const reads = this.reads ? await stopWithin(this.reads, 'SIGTERM', 'the reads server', this.signal) : { code: null, signal: null };
    return { puller, reads };
  }

  /** Temp files under the home (snapshot and status temp files, incoming payloads). */
  async leftovers(): Promise<string[]> {
    const top = (await readdir(this.home)).filter((n) => n.includes('.tmp'));
    const puller = (await readdir(this.paths.pullerDir)).filter((n) => n.includes('.tmp') || n.startsWith('incoming'));
    return [...top, ...puller];
  }

  /** The last lines each daemon wrote, for a failure report. */
  tails(lines = 15): string {
    const tail = (text: string) => text.trimEnd().split('\n').slice(-lines).join('\n');
    const parts: string[] = [];
    for (const [name, d] of [
      ['puller', this.puller],
      ['reads', this.reads],
    ] as const) {
      if (!d) continue;
      parts.push(`--- ${name} (pid ${d.pid}, ${d.running ? 'running' : exitText(d)}) stdout:\n${tail(d.stdout)}`);
      if (d.stderr.trim()) parts.push(`--- ${name} stderr:\n${tail(d.stderr)}`);
    }
    return parts.join('\n');
  }
}
