import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, rm, mkdtemp, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { DEFAULTS } from '../src/shared/config.js';
import { homePaths } from '../src/shared/paths.js';
import { readPullerStatus } from '../src/shared/status.js';
import { cliPath, Daemon, trackChild } from '../test/helpers/processes.js';
import { startUpstream } from './puller.js';
import type { BenchModule } from './run.js';

/**
 * Scale (issue 16): one `pull` of a large payload as a CLI child process, with its time and peak
 * RSS per phase, then `serve-reads` on that home: the time to its first answer of a view and its
 * peak RSS until then. Default settings throughout (SESSION_LATTICE_MEMORY_LIMIT, _THREADS).
 *
 * 300k sessions always; 1,000,000 (a ~1.3 GB payload, minutes) only with BENCH_SCALE_1M=1.
 * BENCH_SCALE_SESSIONS=<n,...> replaces the sizes (a quick run of the harness, with --no-record).
 */

// In the order a tick runs them (the checkpoint comes before the publish copies the file).
const PHASES = ['fetch', 'load', 'views', 'checkpoint', 'publish'] as const;
type Phase = (typeof PHASES)[number];
/** RSS sampling interval of the child processes. */
const SAMPLE_MS = 50;
/** The view read first: the widest one, one row per session. */
const FIRST_VIEW = '/views/session_facts?limit=100';

function sizes(): number[] {
  if (process.env.BENCH_SCALE_SESSIONS) return process.env.BENCH_SCALE_SESSIONS.split(',').map((s) => Number(s.trim()));
  return process.env.BENCH_SCALE_1M === '1' ? [300_000, 1_000_000] : [300_000];
}

interface Sample {
  at: number;
  rssKb: number;
}

/** VmRSS of `pid` (kB) every SAMPLE_MS until stopped, from /proc (Linux). */
function sampleRss(pid: number): { samples: Sample[]; stop(): Promise<void> } {
  const samples: Sample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const text = await readFile(`/proc/${pid}/status`, 'utf8');
        const m = /^VmRSS:\s+(\d+) kB/m.exec(text);
        if (m) samples.push({ at: Date.now(), rssKb: Number(m[1]) });
      } catch {
        // not started yet, or gone
      }
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await loop;
    },
  };
}

const peakMb = (samples: Sample[], from: number, to: number): number | null => {
  const inside = samples.filter((s) => s.at >= from && s.at <= to);
  return inside.length === 0 ? null : Math.round(Math.max(...inside.map((s) => s.rssKb)) / 1024);
};

interface TickLine {
  time: number;
  outcome?: string;
  error?: string;
  sessions: number;
  bytes: number;
  duration_ms: number;
  peak_rss_mb: number;
  phases_ms: Record<Phase, number>;
}

interface PullResult {
  tick: TickLine;
  viewsFailed: Array<{ name: string; error: string }>;
  wallMs: number;
  /** Before the tick: node's start, DuckDB's open, the start-up checks. */
  startup: { ms: number; peakMb: number | null };
  phases: Array<{ phase: Phase; ms: number; peakMb: number | null }>;
  /** The process maximum (getrusage), as the tick line reports it. */
  peakRssMb: number;
  duckdb: { memory_limit: string; threads: number } | undefined;
}

/** `session-lattice pull --json` as a child process, its RSS sampled and split by the tick's phase boundaries. */
async function pull(home: string, url: string): Promise<PullResult> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [cliPath(), 'pull', '--json', '--home', home, '--repo-recall-url', url], {
    env: { ...process.env, SESSION_LATTICE_TIMEZONE: 'UTC' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(child);
  const rss = sampleRss(child.pid!);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  const wallMs = Date.now() - t0;
  await rss.stop();
  const tick = stderr
    .split('\n')
    .filter((l) => l.includes('"msg":"tick"'))
    .map((l) => JSON.parse(l) as TickLine)
    .pop();
  if (code !== 0 || !tick || tick.outcome !== 'published') {
    throw new Error(`pull did not publish (exit ${code}, peak sampled RSS ${peakMb(rss.samples, 0, Infinity)} MB): ${tick?.error ?? stderr.slice(-2000)}`);
  }
  // The tick line is written as the tick ends; its phases follow one another from its start.
  const tickStart = tick.time - tick.duration_ms;
  let mark = tickStart;
  const phases = PHASES.map((phase) => {
    const from = mark;
    mark += tick.phases_ms[phase];
    return { phase, ms: tick.phases_ms[phase], peakMb: peakMb(rss.samples, from, mark) };
  });
  const status = await readPullerStatus(homePaths(home).status);
  // `pull --json` prints its outcome on stdout: the failed views with their errors.
  const outcome = JSON.parse(stdout) as { views_failed: Array<{ name: string; error: string }> };
  return {
    tick,
    viewsFailed: outcome.views_failed,
    wallMs,
    startup: { ms: tickStart - t0, peakMb: peakMb(rss.samples, t0, tickStart) },
    phases,
    peakRssMb: tick.peak_rss_mb,
    duckdb: status?.duckdb,
  };
}

interface ServeResult {
  listeningMs: number;
  firstAnswerMs: number;
  firstAnswerBytes: number;
  /** The first answer was not a 200: its status and error code. */
  refused: string | null;
  peakMb: number | null;
  duckdb: { memory_limit: unknown; threads: unknown };
}

/** `serve-reads` on the pulled home: time from the spawn to its first 200 answer of FIRST_VIEW, and its peak RSS until a second later. */
async function serve(home: string): Promise<ServeResult> {
  const t0 = Date.now();
  const daemon = new Daemon(
    spawn(process.execPath, [cliPath(), 'serve-reads', '--home', home, '--port', '0'], {
      env: { ...process.env, SESSION_LATTICE_TIMEZONE: 'UTC' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const rss = sampleRss(daemon.pid);
  try {
    await daemon.waitFor((d) => d.logLines().some((l) => l.msg === 'listening'), 'the listening line', 600_000);
    const listeningMs = Date.now() - t0;
    const url = daemon.logLines().find((l) => l.msg === 'listening')!.url as string;
    let firstAnswerMs = 0;
    let firstAnswerBytes = 0;
    let refused: string | null = null;
    for (;;) {
      const res = await request(`${url}${FIRST_VIEW}`, { headersTimeout: 600_000, bodyTimeout: 600_000 });
      const body = await res.body.arrayBuffer();
      firstAnswerMs = Date.now() - t0;
      firstAnswerBytes = body.byteLength;
      if (res.statusCode === 200) break;
      const code = (() => {
        try {
          return (JSON.parse(Buffer.from(body).toString()) as { error?: { code?: string } }).error?.code ?? '?';
        } catch {
          return '?';
        }
      })();
      // Only "nothing served yet" is worth waiting for; anything else (a view the pull failed to materialize) is the answer.
      if (code !== 'no_snapshot' || Date.now() - t0 > 600_000) {
        refused = `${res.statusCode} ${code}`;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const serving = daemon.logLines().find((l) => l.msg === 'serving generation') ?? {};
    return {
      listeningMs,
      firstAnswerMs,
      firstAnswerBytes,
      refused,
      peakMb: peakMb(rss.samples, t0, Infinity),
      duckdb: { memory_limit: serving.duckdb_memory_limit, threads: serving.duckdb_threads },
    };
  } finally {
    await daemon.stop('SIGTERM');
    await rss.stop();
  }
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mb = (v: number | null) => (v === null ? '-' : `${v} MB`);

const bench: BenchModule = {
  name: 'scale',
  async run() {
    const load = loadavg()[0]!;
    const dir = await mkdtemp(join(tmpdir(), 'lattice-bench-scale-'));
    const upstream = await startUpstream(dir);
    const rows: string[] = [];
    const serveRows: string[] = [];
    const notes: string[] = [];
    try {
      for (const n of sizes()) {
        process.stderr.write(`bench scale: ${n.toLocaleString('en-US')} sessions: generating...\n`);
        await upstream.setData(n, 16, true);
        const home = join(dir, `home-${n}`);
        process.stderr.write('bench scale: pull...\n');
        const p = await pull(home, upstream.url);
        const label = `${p.tick.sessions.toLocaleString('en-US')} (${(p.tick.bytes / 1e9).toFixed(2)} GB)`;
        rows.push(`| ${label} | start-up (node, DuckDB open) | ${s(p.startup.ms)} | ${mb(p.startup.peakMb)} |`);
        for (const ph of p.phases) rows.push(`| | ${ph.phase} | ${s(ph.ms)} | ${mb(ph.peakMb)} |`);
        rows.push(`| | **whole \`pull\`** (process wall time; peak: getrusage) | **${s(p.wallMs)}** | **${p.peakRssMb} MB** |`);
        const published = await stat(homePaths(home).published);
        process.stderr.write('bench scale: serve-reads...\n');
        const r = await serve(home);
        const answer =
          r.refused === null ? `${s(r.firstAnswerMs)} (${(r.firstAnswerBytes / 1024).toFixed(0)} KiB)` : `none: ${r.refused} after ${s(r.firstAnswerMs)}`;
        serveRows.push(`| ${label} | ${(published.size / 1e6).toFixed(0)} MB | ${s(r.listeningMs)} | ${answer} | ${mb(r.peakMb)} |`);
        if (p.viewsFailed.length > 0) {
          const first = p.viewsFailed[0]!;
          notes.push(
            `${n.toLocaleString('en-US')}: the pull published, but ${p.viewsFailed.length} views failed to materialize ` +
              `(${p.viewsFailed.map((v) => v.name).join(', ')}); ${first.name}: ${first.error.split('\n')[0]}`,
          );
        }
        notes.push(
          `${n.toLocaleString('en-US')}: the puller ran with DuckDB memory_limit ${p.duckdb?.memory_limit ?? '?'}, ${p.duckdb?.threads ?? '?'} threads; ` +
            `the reads generation with ${String(r.duckdb.memory_limit)}, ${String(r.duckdb.threads)} threads`,
        );
        await rm(home, { recursive: true, force: true });
      }
    } finally {
      await upstream.stop();
      await rm(dir, { recursive: true, force: true });
    }
    // A run with either variable set (to try another value, with --no-record) says so.
    const overridden = ['SESSION_LATTICE_MEMORY_LIMIT', 'SESSION_LATTICE_THREADS'].filter((k) => process.env[k] !== undefined);
    const defaults =
      overridden.length === 0
        ? `the default settings (SESSION_LATTICE_MEMORY_LIMIT=${DEFAULTS.memoryLimitBytes / 1e9}GB, SESSION_LATTICE_THREADS=${DEFAULTS.threads})`
        : `settings from the environment: ${overridden.map((k) => `${k}=${process.env[k]}`).join(', ')}`;
    return [
      '## Scale: one pull of 300k (and 1M) sessions, then serving it',
      '',
      'The fake repo-recall serves a messy payload from its own process. `pull` runs the CLI as a child process',
      `with ${defaults}; its RSS is sampled from /proc every ${SAMPLE_MS} ms and split at the`,
      "boundaries of the tick's phases (from the tick line's end time, duration and phases_ms). The 1M row runs with",
      `BENCH_SCALE_1M=1 (\`BENCH_SCALE_1M=1 npm run bench -- scale\`). Load average at the start: ${load.toFixed(2)}.`,
      '',
      '| sessions (payload) | phase | time | peak RSS |',
      '|---|---|---|---|',
      ...rows,
      '',
      `Then \`serve-reads\` starts on that home (a new process; the file is in the page cache, the pull just wrote it): time from`,
      `the spawn to its \`listening\` line and to the first 200 answer of \`GET ${FIRST_VIEW}\`, and the reads`,
      'process peak RSS until a second after it (the two query worker processes it starts are not counted).',
      '',
      '| sessions | published file | listening | first answer | peak RSS |',
      '|---|---|---|---|---|',
      ...serveRows,
      '',
      ...notes.map((n) => `- ${n}`),
    ].join('\n');
  },
};

export default bench;
