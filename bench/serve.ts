import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startFakeRecall, type FakeRecall } from '../test/fake-recall/server.js';
import { Daemon, startDaemon } from '../test/helpers/processes.js';
import { homePaths } from '../src/shared/paths.js';
import { readPullerStatus, type PullerStatus } from '../src/shared/status.js';
import type { BenchModule } from './run.js';
import { requireWrk, startWrk, type WrkResult } from './wrk.js';
import { max, median, percentile } from './stats.js';

/**
 * `serve` under load (issue 16): where the puller runs in `serve`. A 100k-session tick of
 * `serve-puller` alone (no read load) against the same tick inside `serve` under a 32-connection
 * wrk load, and the read p99 idle against during that tick, for both candidates in the same run:
 * the puller in a supervised child process (what `serve` runs) and in a worker thread
 * (bench/serve-worker.ts, kept only here). Targets: tick in serve <= 1.3x standalone; read p99
 * during the tick <= 2x idle.
 *
 * Pinning: wrk (1 thread, 32 connections) and this process (the fake repo-recall and the probe)
 * are pinned to core 1, as in the reads benchmarks; the server side (reads and puller, and the
 * standalone puller) is left to the OS on every core. Pinning the server to core 0, as when the
 * puller shared the reads event loop, would make the two processes share one core and measure
 * that core's time slicing, not the isolation this split buys; the OS placing the puller beside
 * the reads is what a 2-core machine does in service. The standalone tick is measured under the
 * same placement, so the ratio is the cost of the read load and of sharing the process.
 *
 * Each measured tick loads changed data (a new seed). Serve variants, per read kind: wrk runs a
 * warm-up, an idle window, then from the moment status.json says `pulling` until the tick has
 * ended and `/healthz` serves the new generation. Beside wrk (closed loop, which hides stalls: a
 * blocked loop just sends fewer requests), an open-loop probe sends a `304` request every 20 ms.
 */

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 100_000);
const CONNECTIONS = 32;
const IDLE_S = 10;
const WARMUP_S = 2;
/** Long enough for setData + warm-up + the idle window between two ticks. */
const INTERVAL_S = Number(process.env.BENCH_INTERVAL_S ?? 30);
const PROBE_EVERY_MS = 20;
/** wrk's request timeout: its 2 s default capped the p99 of a query per request on a busy machine. */
const WRK_TIMEOUT_S = 30;
const PATH = '/views/tool_sessions?limit=100';
const TICK_TARGET = 1.3;
const P99_TARGET = 2;
/** Rounds: each a standalone tick and, per read kind, a tick of each candidate under load. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

interface ProbeResult {
  n: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
}

interface Window {
  wrk: WrkResult;
  probe: ProbeResult;
}

interface TickLine {
  tick: string;
  outcome: string;
  generation: number;
  sessions?: number;
  duration_ms: number;
  phases_ms: Record<string, number>;
  peak_rss_mb: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Open loop: one request every `everyMs` whatever the previous ones are doing. */
function startProbe(url: string, everyMs: number): { stop(): Promise<ProbeResult> } {
  const agent = new Agent({ connections: 64 });
  const latencies: number[] = [];
  const pending = new Set<Promise<void>>();
  let errors = 0;
  const timer = setInterval(() => {
    const t0 = performance.now();
    const p = request(url, { dispatcher: agent, headers: { 'if-none-match': '*' } })
      .then(async (res) => {
        await res.body.dump();
        if (res.statusCode !== 304) errors++;
        latencies.push(performance.now() - t0);
      })
      .catch(() => {
        errors++;
      })
      .finally(() => pending.delete(p));
    pending.add(p);
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(pending);
      await agent.close();
      const what = 'the 304 probe';
      return { n: latencies.length, p50: percentile(latencies, 50, what), p99: percentile(latencies, 99, what), max: max(latencies, what), errors };
    },
  };
}

/** wrk and the probe together, until `until` resolves. */
async function measure(url: string, script: string | undefined, until: () => Promise<unknown>): Promise<Window> {
  const probe = startProbe(`${url}${PATH}`, PROBE_EVERY_MS);
  const wrk = startWrk(script ? `${url}/views/tool_sessions` : `${url}${PATH}`, {
    connections: CONNECTIONS,
    timeoutS: WRK_TIMEOUT_S,
    ...(script && { script }),
  });
  let failed: unknown = null;
  await until().catch((err: unknown) => (failed = err));
  const w = await wrk.stop();
  const p = await probe.stop();
  if (failed !== null) throw failed;
  return { wrk: w, probe: p };
}

async function health(url: string): Promise<{ generation: number | null }> {
  const res = await request(`${url}/healthz`);
  return (await res.body.json()) as { generation: number | null };
}

async function until<T>(check: () => Promise<T | undefined>, what: string, timeoutMs: number, everyMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The daemon's successful tick lines; with `any`, its failed ones too. */
function tickLines(serve: Daemon, any = false): TickLine[] {
  return serve.logLines().filter((l) => l.msg === 'tick' && (any || l.tick === 'ok')) as unknown as TickLine[];
}

/** Pins every thread of this process to `cpus`; returns the previous mask. */
function pinSelf(cpus: string): string {
  const before = /mask:\s*([0-9a-f]+)/i.exec(execFileSync('taskset', ['-p', String(process.pid)], { encoding: 'utf8' }))?.[1];
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
  return before ?? 'ffffffff';
}

const ms = (v: number) => `${v.toFixed(2)} ms`;

function wrkRow(label: string, w: WrkResult): string {
  return `| ${label} | ${w.seconds.toFixed(1)} s | ${w.requests.toLocaleString('en-US')} | ${Math.round(w.rps).toLocaleString('en-US')} | ${ms(w.p50)} | ${ms(w.p99)} | ${ms(w.max)} | ${w.non2xx + w.errors} |`;
}

function probeRow(label: string, p: ProbeResult): string {
  return `| ${label} | | ${p.n.toLocaleString('en-US')} | | ${ms(p.p50)} | ${ms(p.p99)} | ${ms(p.max)} | ${p.errors} |`;
}

const TARGET_NOTE = `tick in serve <= ${TICK_TARGET}x standalone; read p99 during the tick <= ${P99_TARGET}x idle`;

interface ReadKind {
  name: string;
  path: string;
  script: string | undefined;
}

interface ServeResult {
  round: number;
  kind: ReadKind;
  idle: Window;
  tick: Window;
  line: TickLine;
  servedAfterMs: number;
}

interface Candidate {
  key: 'child' | 'worker';
  label: string;
  start(args: string[]): Daemon;
}

/** A daemon under measurement, with its own fake repo-recall: new data there makes it alone tick. */
interface Rig {
  daemon: Daemon;
  recall: FakeRecall;
  home: string;
  url: string | null;
}

const phases = (l: TickLine) =>
  Object.entries(l.phases_ms)
    .map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`)
    .join(', ');

const seconds = (msValue: number) => `${(msValue / 1000).toFixed(2)} s`;

const bench: BenchModule = {
  name: 'serve',
  async run() {
    requireWrk('serve');
    const dir = await mkdtemp(join(tmpdir(), 'lattice-bench-serve-'));
    const load = loadavg()[0]!;
    const cores = cpus().length;
    const everyCore = `0-${cores - 1}`;
    const mask = pinSelf('1');
    // Children inherit this process's mask (core 1): the server side is widened back to every core.
    const unpinned = ['taskset', '-c', everyCore];
    const rigs: Rig[] = [];
    let seed = 1;
    const newData = (rig: Rig) => rig.recall.setData({ sessions: SESSIONS, seed: seed++ });
    const status = async (rig: Rig): Promise<PullerStatus> => (await readPullerStatus(homePaths(rig.home).status))!;
    /** Waits for the daemon's next tick line (an unchanged one, when nothing changed upstream), from now. */
    const nextTick = async (rig: Rig): Promise<TickLine> => {
      const before = tickLines(rig.daemon, true).length;
      return until(async () => tickLines(rig.daemon, true)[before], 'the next tick', (INTERVAL_S + 300) * 1000, 20);
    };
    const rig = async (key: string, start: (args: string[]) => Daemon, serves: boolean): Promise<Rig> => {
      const recall = await startFakeRecall({ sessions: 10, dataDir: join(dir, `recall-${key}`) });
      const home = join(dir, key);
      const r: Rig = { daemon: null as unknown as Daemon, recall, home, url: null };
      await newData(r);
      const args = ['--home', home, '--repo-recall-url', recall.url, '--refresh-interval-seconds', String(INTERVAL_S), '--log-level', 'info'];
      r.daemon = start(serves ? [...args, '--port', '0'] : args);
      rigs.push(r);
      return r;
    };
    try {
      const workerScript = fileURLToPath(new URL('./serve-worker.js', import.meta.url));
      const candidates: Candidate[] = [
        { key: 'child', label: '`serve`: the puller in a supervised child process', start: (args) => startDaemon(['serve', ...args], {}, unpinned) },
        {
          key: 'worker',
          label: 'the puller in a worker thread of the serving process (bench/serve-worker.ts)',
          start: (args) =>
            new Daemon(spawn(unpinned[0]!, [...unpinned.slice(1), process.execPath, workerScript, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })),
        },
      ];
      // All three daemons run for the whole benchmark, each on its own home and fake repo-recall,
      // so that rounds interleave them (drift on a shared machine hits all alike); between its
      // measurements a daemon's ticks find nothing new upstream (a 304).
      const alone = await rig('standalone', (args) => startDaemon(['serve-puller', ...args], {}, unpinned), false);
      const serving = new Map<Candidate, Rig>();
      for (const c of candidates) serving.set(c, await rig(c.key, c.start, true));
      for (const r of rigs) {
        await until(async () => (tickLines(r.daemon).length >= 1 ? true : undefined), 'the first tick', 600_000, 100);
        if (r !== alone) {
          await r.daemon.waitFor((d) => d.logLines().some((l) => l.msg === 'listening'), 'listening', 60_000);
          r.url = r.daemon.logLines().find((l) => l.msg === 'listening')!.url as string;
          const url = r.url;
          await until(async () => ((await health(url)).generation === 1 ? true : undefined), 'generation 1', 300_000, 100);
        }
      }

      const script = join(dir, 'fresh.lua');
      // limit 100..9999 returns the same 29 rows as ?limit=100, under a new cache key each time.
      await writeFile(
        script,
        'counter = 0\nrequest = function()\n  counter = counter + 1\n  return wrk.format(nil, "/views/tool_sessions?limit=" .. (100 + counter % 9900))\nend\n',
      );
      const kinds: ReadKind[] = [
        { name: 'the same URL: a response-cache hit (one miss per generation)', path: PATH, script: undefined },
        { name: 'a new cache key per request: a DuckDB query and a render each', path: '/views/tool_sessions?limit=<100..9999>', script },
      ];

      /** The next tick of new data of `r` (new data right after an unchanged tick: the changed one comes an interval later). */
      const standaloneTick = async (): Promise<TickLine> => {
        await nextTick(alone);
        const ticksBefore = tickLines(alone.daemon).length;
        await newData(alone);
        const line = await until(async () => tickLines(alone.daemon)[ticksBefore], 'the standalone tick', (INTERVAL_S + 300) * 1000, 50);
        if (line.outcome !== 'published') throw new Error(`the standalone tick did not publish: ${JSON.stringify(line)}`);
        return line;
      };

      const underLoad = async (r: Rig, kind: ReadKind, round: number): Promise<ServeResult> => {
        const url = r.url!;
        await nextTick(r);
        const before = await until(
          async () => {
            const st = await status(r);
            return st.state === 'idle' ? st : undefined;
          },
          'an idle puller',
          60_000,
          20,
        );
        const generation = (await health(url)).generation ?? 0;
        const ticksBefore = tickLines(r.daemon).length;
        await newData(r);
        await measure(url, kind.script, () => sleep(WARMUP_S * 1000));
        const idle = await measure(url, kind.script, () => sleep(IDLE_S * 1000));
        const after = await status(r);
        if (after.last_tick_started_at !== before.last_tick_started_at) {
          throw new Error(`a tick started during the idle window: raise INTERVAL_S (${INTERVAL_S} s)`);
        }
        await until(async () => ((await status(r)).state === 'pulling' ? true : undefined), 'the next tick', (INTERVAL_S + 30) * 1000, 5);
        const t0 = Date.now();
        // Until the tick is over (status.json back to idle: after publish and checkpoint) and the
        // reads side serves the new generation, whichever comes last.
        let servedAt = 0;
        const tick = await measure(url, kind.script, () =>
          until(
            async () => {
              if (servedAt === 0 && ((await health(url)).generation ?? 0) > generation) servedAt = Date.now() - t0;
              return servedAt > 0 && (await status(r)).state === 'idle' ? true : undefined;
            },
            'the tick to end and the new generation to be served',
            300_000,
            50,
          ),
        );
        const line = await until(async () => tickLines(r.daemon)[ticksBefore], 'the tick line', 10_000, 20);
        if (line.outcome !== 'published') throw new Error(`the tick did not publish: ${JSON.stringify(line)}`);
        return { round, kind, idle, tick, line, servedAfterMs: servedAt };
      };

      const standalone: TickLine[] = [];
      const results = new Map<Candidate, ServeResult[]>(candidates.map((c) => [c, []]));
      for (let round = 1; round <= ROUNDS; round++) {
        standalone.push(await standaloneTick());
        for (const kind of kinds) {
          for (const c of round % 2 ? candidates : [...candidates].reverse()) results.get(c)!.push(await underLoad(serving.get(c)!, kind, round));
        }
      }
      for (const r of rigs) {
        const stopped = await r.daemon.stop();
        if (stopped.code !== 0) throw new Error(`a daemon exited with ${JSON.stringify(stopped)}\n${r.daemon.stderr}`);
      }
      const baselineMs = median(standalone.map((l) => l.duration_ms));

      const lines = [
        `## serve: reads during a ${SESSIONS.toLocaleString('en-US')}-session tick, the puller in a child process or a worker thread`,
        '',
        `Where \`serve\` runs its puller (issue 16). Three daemons run side by side for the whole benchmark, each with its own home and its own fake repo-recall (so new data there makes that one alone tick; between its measurements a daemon's ticks get a 304): \`serve-puller\` alone (the baseline, never under read load), \`serve\` (the puller in a child process) and the worker-thread candidate. ${ROUNDS} rounds, interleaved: a standalone tick of changed data, then per read kind each candidate in turn (the order alternates by round). Under load, refresh interval ${INTERVAL_S} s: the upstream data changes right after a tick, wrk (1 thread, ${CONNECTIONS} connections, ${WRK_TIMEOUT_S} s request timeout) runs ${IDLE_S} s idle (after a ${WARMUP_S} s warm-up), then from the moment status.json says \`pulling\` until the tick has ended and \`/healthz\` serves the new generation. wrk and this process (the fake repo-recalls, the probe) are pinned to core 1; the server side (reads, puller; and the standalone puller) runs on every core (${everyCore}) where the OS puts it: pinned to one core, the reads and the puller process would only time-slice it, and the split is about letting the OS run them side by side. Targets: ${TARGET_NOTE}; tick times are the puller's own (its tick log line), the ratio is to the median standalone tick. The probe is open loop: \`GET ${PATH}\` with \`If-None-Match: *\` (a 304, event loop only) every ${PROBE_EVERY_MS} ms, so a stall shows in its max even when wrk, a closed loop, just sends fewer requests. Load average when the benchmark started: ${load.toFixed(2)} on ${cores} cores (anything else running on the machine skews every window).`,
        '',
        `Standalone ticks: ${standalone.map((l) => `${seconds(l.duration_ms)} (${phases(l)})`).join('; ')}. Median **${seconds(baselineMs)}**.`,
        '',
      ];
      const details: string[] = [];
      const summary: string[] = [
        '| candidate | read kind | round | tick in serve | / standalone | p99 idle | p99 during | during / idle | errors |',
        '|---|---|---|---|---|---|---|---|---|',
      ];
      const verdicts: string[] = [];
      for (const c of candidates) {
        details.push(`### ${c.label}`, '');
        const rs = results.get(c)!;
        for (const r of rs) {
          details.push(
            `**\`GET ${r.kind.path}\`**, ${r.kind.name}, round ${r.round}. Tick of ${(r.line.sessions ?? 0).toLocaleString('en-US')} sessions, ${seconds(r.line.duration_ms)} (${phases(r.line)}; peak RSS ${r.line.peak_rss_mb} MB); new generation served ${r.servedAfterMs} ms after the tick started.`,
            '',
            '| window | length | requests | req/s | p50 | p99 | max | errors |',
            '|---|---|---|---|---|---|---|---|',
            wrkRow('wrk, idle', r.idle.wrk),
            wrkRow('wrk, during the tick', r.tick.wrk),
            probeRow('304 probe, idle', r.idle.probe),
            probeRow('304 probe, during the tick', r.tick.probe),
            '',
          );
          const errors = r.idle.wrk.non2xx + r.idle.wrk.errors + r.tick.wrk.non2xx + r.tick.wrk.errors + r.idle.probe.errors + r.tick.probe.errors;
          summary.push(
            `| ${c.key} | \`${r.kind.path}\` | ${r.round} | ${seconds(r.line.duration_ms)} | ${(r.line.duration_ms / baselineMs).toFixed(2)}x | ${ms(r.idle.wrk.p99)} | ${ms(r.tick.wrk.p99)} | ${(r.tick.wrk.p99 / r.idle.wrk.p99).toFixed(2)}x | ${errors} |`,
          );
        }
        for (const kind of kinds) {
          const of = rs.filter((r) => r.kind === kind);
          const tickRatio = median(of.map((r) => r.line.duration_ms)) / baselineMs;
          const p99Ratio = median(of.map((r) => r.tick.wrk.p99 / r.idle.wrk.p99));
          verdicts.push(
            `| ${c.key} | \`${kind.path}\` | **${tickRatio.toFixed(2)}x** (${tickRatio <= TICK_TARGET ? 'met' : 'NOT met'}) | **${p99Ratio.toFixed(2)}x** (${p99Ratio <= P99_TARGET ? 'met' : 'NOT met'}) |`,
          );
        }
      }
      lines.push(
        `Medians over the ${ROUNDS} rounds (targets: ${TARGET_NOTE}):`,
        '',
        '| candidate | read kind | tick in serve / standalone | read p99 during / idle |',
        '|---|---|---|---|',
        ...verdicts,
        '',
        'Every measurement:',
        '',
        ...summary,
        '',
        ...details,
      );
      return lines.join('\n').trimEnd();
    } finally {
      for (const r of rigs) {
        await r.daemon?.stop().catch(() => undefined);
        await r.recall.close();
      }
      try {
        execFileSync('taskset', ['-a', '-p', mask, String(process.pid)], { stdio: 'ignore' });
      } catch {
        // best effort
      }
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default bench;
