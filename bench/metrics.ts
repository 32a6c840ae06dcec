import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { openSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { freePort } from '../test/helpers/processes.js';
import { writeRealisticPullerMetrics } from './puller-metrics-fixture.js';
import { fetchText, startReadsRig, type ReadsRig } from './reads-rig.js';
import type { BenchModule } from './run.js';
import { median, percentile } from './stats.js';
import { requireWrk, runWrk, type WrkResult } from './wrk.js';

/**
 * Metrics benchmark (issue 15): (a) how long a `GET /metrics` scrape takes with a realistic puller
 * metrics.json present, against `/healthz` (which reads the same status.json and health); (b) what
 * the access log and the per-request metrics cost on the read path: wrk on a cached rows read,
 * the server with both on (the default: `info`, metrics on) against both off (`warn`, metrics
 * off), and each alone to tell the two apart, in the same run, rounds interleaved. Servers pinned
 * to core 0, wrk to core 1; the log goes to a file, as under a service manager.
 */

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 20_000);
const SCRAPES = 300;
const CONNECTIONS = 32;
const ROUND_S = 3;
const ROUNDS = 10;
/** Each fresh server's warm-up (JIT, the response cache) before its round. */
const WARM_S = 2;
/** A small cached answer: per-request costs show most on it. */
const PATH = '/views/tool_sessions?columns=tool_name,session_count&limit=100';
const TARGET = 0.05;

interface Variant {
  name: string;
  level: 'info' | 'warn';
  metrics: 'on' | 'off';
  url?: string;
  pid?: number;
  runs: WrkResult[];
  /** The server's CPU time per request served, in microseconds, per round. */
  cpuUs: number[];
}

/** User + system CPU time of a process so far, in seconds (Linux: /proc/PID/stat, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Starts bench/metrics-server.js pinned to core 0, its log to a file; resolves once it answers. */
async function startServer(
  rig: ReadsRig,
  v: Variant,
  cleanups: Array<() => Promise<unknown>>,
): Promise<{ url: string; pid: number; stop: () => Promise<unknown> }> {
  const port = await freePort();
  const log = openSync(join(rig.dir, `reads-${v.level}-${v.metrics}.log`), 'a');
  const script = resolve(import.meta.dirname, 'metrics-server.js');
  const child = spawn('taskset', ['-c', '0', process.execPath, script, rig.home, String(port), v.level, v.metrics], { stdio: ['ignore', log, 'inherit'] });
  const exited = once(child, 'exit').catch(() => undefined);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  cleanups.push(stop);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    // Up when it answers at all: /healthz says 503 once the pulled data is older than three
    // refresh intervals, which a long benchmark outlives (no puller runs here).
    if (await fetchText(`${url}/healthz`).catch(() => null)) return { url, pid: child.pid!, stop };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`metrics-server ${v.level} ${v.metrics} did not answer on ${url}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Wall time of one GET on a kept-alive connection, and the server's own Server-Timing total. */
async function timed(url: string): Promise<{ ms: number; serverMs: number; bytes: number }> {
  const t0 = performance.now();
  const res = await request(url);
  const body = await res.body.text();
  const ms = performance.now() - t0;
  // /healthz answers 503 for stale data (nothing pulls here), with the same work done.
  if (res.statusCode !== 200 && !(res.statusCode === 503 && url.endsWith('/healthz')))
    throw new Error(`${url} answered ${res.statusCode}: ${body.slice(0, 200)}`);
  const serverMs = Number(/total;dur=([\d.]+)/.exec(String(res.headers['server-timing']))?.[1]);
  return { ms, serverMs, bytes: Buffer.byteLength(body) };
}

const fmt = (ms: number) => `${ms.toFixed(2)} ms`;
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;

const bench: BenchModule = {
  name: 'metrics',
  async run() {
    requireWrk('metrics');
    const load = loadavg()[0]!.toFixed(2);
    const rig = await startReadsRig(SESSIONS, 'metrics');
    const cleanups: Array<() => Promise<unknown>> = [];
    try {
      const pullerBytes = await writeRealisticPullerMetrics(rig.home);
      const variants: Variant[] = [
        { name: 'access log and metrics on (the default: `info`, metrics on)', level: 'info', metrics: 'on', runs: [], cpuUs: [] },
        { name: 'both off (`warn`, metrics off)', level: 'warn', metrics: 'off', runs: [], cpuUs: [] },
        { name: 'access log only (`info`, metrics off)', level: 'info', metrics: 'off', runs: [], cpuUs: [] },
        { name: 'metrics only (`warn`, metrics on)', level: 'warn', metrics: 'on', runs: [], cpuUs: [] },
      ];
      const [on, off] = variants as [Variant, Variant];
      // The scrapes go to a server of their own: one that had served them would enter the
      // throughput rounds with another heap and other compiled code than the rest.
      const scraped: Variant = { name: 'scrapes', level: 'info', metrics: 'on', runs: [], cpuUs: [] };
      Object.assign(scraped, await startServer(rig, scraped, cleanups));

      // (a) Scrapes, interleaved with /healthz, after a warm-up.
      const scrape: Array<{ ms: number; serverMs: number; bytes: number }> = [];
      const health: Array<{ ms: number; serverMs: number }> = [];
      for (let i = 0; i < 30; i++) await Promise.all([timed(`${scraped.url}/metrics`), timed(`${scraped.url}/healthz`)]);
      for (let i = 0; i < SCRAPES; i++) {
        scrape.push(await timed(`${scraped.url}/metrics`));
        health.push(await timed(`${scraped.url}/healthz`));
      }
      const text = (await fetchText(`${scraped.url}/metrics`)).text;
      const series = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
      const pullerSeries = text.split('\n').filter((l) => l.startsWith('session_lattice_puller_')).length;

      // (b) Throughput of a cached read: a warm-up per server, then interleaved rounds. wrk runs
      // synchronously: no HTTP from this process after it starts (an idle kept-alive socket the
      // server closed meanwhile would only be noticed on the next request).
      // Every round starts the four servers afresh: a process's JIT and heap make it a few per cent
      // faster or slower than another running the same code, for its whole life, which rounds on
      // the same processes would take for the cost of what they run.
      const others = variants.filter((v) => v !== off);
      const costs = new Map<Variant, { rps: number[]; cpu: number[] }>(others.map((v) => [v, { rps: [], cpu: [] }]));
      let bytes = 0;
      const measure = (v: Variant) => {
        const cpu0 = cpuSeconds(v.pid!);
        const run = runWrk(`${v.url}${PATH}`, { connections: CONNECTIONS, durationS: ROUND_S });
        if (run.non2xx + run.errors > 0) throw new Error(`${v.name}: ${run.non2xx} non-2xx, ${run.errors} socket errors`);
        v.runs.push(run);
        v.cpuUs.push(((cpuSeconds(v.pid!) - cpu0) / run.requests) * 1e6);
      };
      for (let round = 0; round < ROUNDS; round++) {
        // One after another: a free port is only known free until someone binds it.
        const started: Array<{ stop: () => Promise<unknown> }> = [];
        for (const v of variants) started.push(Object.assign(v, await startServer(rig, v, cleanups)));
        // wrk runs synchronously: no HTTP from this process once it starts (an idle kept-alive
        // socket the server closed meanwhile would only be noticed on the next request).
        const samples = await Promise.all(variants.map((v) => fetchText(`${v.url}${PATH}`)));
        for (const sample of samples) if (sample.status !== 200) throw new Error(`${PATH} answered ${sample.status}: ${sample.text.slice(0, 200)}`);
        bytes = samples[0]!.text.length;
        for (const v of variants) runWrk(`${v.url}${PATH}`, { connections: CONNECTIONS, durationS: WARM_S });
        // Both off first and last, the others between in a rotating order; each cost is against the
        // mean of the round's two baseline runs, so that load drifting on the machine moves both
        // sides of a ratio alike.
        measure(off);
        const order = others.map((_, i) => others[(i + round) % others.length]!);
        for (const v of order) measure(v);
        measure(off);
        const baseRps = (off.runs.at(-1)!.rps + off.runs.at(-2)!.rps) / 2;
        const baseCpu = (off.cpuUs.at(-1)! + off.cpuUs.at(-2)!) / 2;
        for (const v of others) {
          costs.get(v)!.rps.push(1 - v.runs.at(-1)!.rps / baseRps);
          costs.get(v)!.cpu.push(v.cpuUs.at(-1)! / baseCpu - 1);
        }
        await Promise.all(started.map((p) => p.stop()));
      }
      const rps = (v: Variant) =>
        median(
          v.runs.map((r) => r.rps),
          v.name,
        );
      const p99 = (v: Variant) =>
        median(
          v.runs.map((r) => r.p99),
          v.name,
        );
      const cpu = (v: Variant) => median(v.cpuUs, v.name);
      const cost = (v: Variant) => median(costs.get(v)!.rps, v.name);
      const cpuCost = (v: Variant) => median(costs.get(v)!.cpu, v.name);
      const spread = (xs: number[]) => `${pct(Math.min(...xs))} to ${pct(Math.max(...xs))}`;
      // Other work on the machine only ever slows a run down: each server's least disturbed round
      // (its best req/s, its least CPU per request) is the closest to its own cost.
      const bestRps = (v: Variant) => Math.max(...v.runs.map((r) => r.rps));
      const bestCpu = (v: Variant) => Math.min(...v.cpuUs);
      const bestCost = (v: Variant) => 1 - bestRps(v) / bestRps(off);
      const bestCpuCost = (v: Variant) => bestCpu(v) / bestCpu(off) - 1;

      const lines = [
        '## metrics: /metrics, and what the access log and metrics cost',
        '',
        `A ${SESSIONS.toLocaleString('en-US')}-session generation; servers started as \`serve-reads\` starts one (bench/metrics-server.ts: the same startReadsServer and buffered JSON log, written to a file), pinned to core 0; wrk (1 thread) pinned to core 1.`,
        '',
        `**Scrape**: ${SCRAPES} \`GET /metrics\` one after another on a kept-alive connection, each followed by a \`GET /healthz\` (the same status.json read and health verdict, nothing else), with a puller metrics.json of ${(pullerBytes / 1024).toFixed(0)} KB (${pullerSeries} of the ${series} samples), written by the puller's own PullerMetrics after 500 ticks (bench/puller-metrics-fixture.ts).`,
        '',
        '| request | median | p90 | p99 | server time (median) | body |',
        '|---|---|---|---|---|---|',
        `| \`GET /healthz\` (baseline) | ${fmt(median(health.map((h) => h.ms)))} | ${fmt(
          percentile(
            health.map((h) => h.ms),
            90,
          ),
        )} | ${fmt(
          percentile(
            health.map((h) => h.ms),
            99,
          ),
        )} | ${fmt(median(health.map((h) => h.serverMs)))} | |`,
        `| \`GET /metrics\` | ${fmt(median(scrape.map((s) => s.ms)))} | ${fmt(
          percentile(
            scrape.map((s) => s.ms),
            90,
          ),
        )} | ${fmt(
          percentile(
            scrape.map((s) => s.ms),
            99,
          ),
        )} | ${fmt(median(scrape.map((s) => s.serverMs)))} | ${(median(scrape.map((s) => s.bytes)) / 1024).toFixed(0)} KB |`,
        '',
        `**Read path**: \`GET ${PATH}\` (${(bytes / 1024).toFixed(1)} KB, a response-cache hit), ${CONNECTIONS} connections, ${ROUNDS} rounds, each on four freshly started servers (warmed up ${WARM_S} s each) with runs of ${ROUND_S} s: both off first and last and the others between, in an order rotated each round, and a variant's cost in a round is against the mean of that round's two both-off runs; medians over the rounds (their range in brackets).`,
        '',
        '| server | median req/s | p99 (median) | throughput lost vs both off, median round (range) | best round: req/s, lost | server CPU per request (median) | CPU per request vs both off, median round (range) | best round: CPU per request, vs both off |',
        '|---|---|---|---|---|---|---|---|',
        ...variants.map((v) => {
          const c = costs.get(v);
          const vs = (x: (v: Variant) => number, xs: number[] | undefined) => (c && xs ? `**${pct(x(v))}** (${spread(xs)})` : 'baseline');
          const best = `${Math.round(bestRps(v)).toLocaleString('en-US')}, ${c ? pct(bestCost(v)) : 'baseline'}`;
          const bestC = `${bestCpu(v).toFixed(1)} us, ${c ? pct(bestCpuCost(v)) : 'baseline'}`;
          return `| ${v.name} | ${Math.round(rps(v)).toLocaleString('en-US')} | ${fmt(p99(v))} | ${vs(cost, c?.rps)} | ${best} | ${cpu(v).toFixed(1)} us | ${vs(cpuCost, c?.cpu)} | ${bestC} |`;
        }),
        '',
        `Server CPU per request is the server process's user + system time over a round (/proc) divided by the requests wrk completed: unlike req/s, it does not move with what else runs on the machine. Load average when the benchmark started: ${load}.`,
        '',
        `Target: the access log and metrics together cost under ${TARGET * 100} % of a cached read's throughput. Median round: ${pct(cost(on))} req/s, ${pct(cpuCost(on))} CPU per request; best rounds: ${pct(bestCost(on))} req/s, ${pct(bestCpuCost(on))} CPU per request (${Math.max(bestCost(on), bestCpuCost(on)) < TARGET ? 'met' : 'NOT met'} on the best rounds${Math.max(cost(on), cpuCost(on)) < TARGET ? ', met on the median round too' : ''}).`,
      ];
      return lines.join('\n');
    } finally {
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
      await rig.close();
    }
  },
};

export default bench;
