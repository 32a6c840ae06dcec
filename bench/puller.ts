import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writePayloadFile } from '../test/fake-recall/generate.js';
import { startFakeRecall } from '../test/fake-recall/server.js';
import { runCli } from '../test/helpers/processes.js';
import type { BenchModule } from './run.js';

const SESSIONS = 100_000;

interface TickLine {
  duration_ms: number;
  peak_rss_mb: number;
  publish_ms?: number;
  sessions?: number;
  outcome: string;
}

async function pull(home: string, url: string): Promise<TickLine & { wallMs: number }> {
  const t0 = performance.now();
  const r = await runCli(['pull', '--home', home, '--repo-recall-url', url, '--log-level', 'info'], {}, 300_000);
  const wallMs = performance.now() - t0;
  if (r.code !== 0) throw new Error(`pull failed: ${r.stderr}`);
  const line = r.stderr
    .split('\n')
    .filter((l) => l.includes('"tick"'))
    .map((l) => JSON.parse(l) as TickLine)
    .pop();
  if (!line) throw new Error(`no tick line in ${r.stderr}`);
  return { ...line, wallMs };
}

function baseline(payload: string, dir: string): { ms: number; peakRssMb: number; rows: number } {
  const script = resolve(import.meta.dirname, 'read-json-baseline.js');
  const out = execFileSync(process.execPath, [script, payload, join(dir, 'baseline.duckdb')], { encoding: 'utf8' });
  return JSON.parse(out) as { ms: number; peakRssMb: number; rows: number };
}

const bench: BenchModule = {
  name: 'puller',
  async run() {
    const dir = await mkdtemp(join(tmpdir(), 'lattice-bench-puller-'));
    const recall = await startFakeRecall({ sessions: 10, dataDir: join(dir, 'recall') });
    try {
      // The baseline needs a payload DuckDB's reader accepts whole: the clean one (no unpaired surrogates).
      await recall.setData({ sessions: SESSIONS, messy: false, seed: 7 });
      const cleanFile = join(dir, 'clean.json');
      await writePayloadFile({ sessions: SESSIONS, messy: false, seed: 7, scanVersion: recall.scanVersion }, cleanFile);
      const base = baseline(cleanFile, dir);
      const clean = await pull(join(dir, 'home-clean'), recall.url);
      const notModified = await pull(join(dir, 'home-clean'), recall.url);

      await recall.setData({ sessions: SESSIONS, messy: true, seed: 8 });
      const messy = await pull(join(dir, 'home-messy'), recall.url);

      const ratio = clean.duration_ms / base.ms;
      const rows = [
        `| DuckDB read_json, explicit columns, from a file (baseline) | ${(base.ms / 1000).toFixed(2)} s | ${base.peakRssMb.toFixed(0)} MB | 1.00x |`,
        `| full tick, clean payload: fetch + split + load + views + publish | ${(clean.duration_ms / 1000).toFixed(2)} s | ${clean.peak_rss_mb.toFixed(0)} MB | ${ratio.toFixed(2)}x |`,
        `| full tick, messy payload (nulls, bad rows, unpaired surrogates) | ${(messy.duration_ms / 1000).toFixed(2)} s | ${messy.peak_rss_mb.toFixed(0)} MB | ${(messy.duration_ms / base.ms).toFixed(2)}x |`,
        `| of which publish (COPY FROM DATABASE + fsync + rename) | ${((clean.publish_ms ?? 0) / 1000).toFixed(2)} s | | |`,
        `| 304 tick (upstream unchanged, no view due) | ${notModified.duration_ms.toFixed(0)} ms | ${notModified.peak_rss_mb.toFixed(0)} MB | |`,
      ];
      const verdict = [
        `tick/baseline ${ratio.toFixed(2)}x (target <= 2x): ${ratio <= 2 ? 'met' : 'NOT met'}`,
        `peak RSS ${Math.max(clean.peak_rss_mb, messy.peak_rss_mb).toFixed(0)} MB (target < 1024 MB): ${Math.max(clean.peak_rss_mb, messy.peak_rss_mb) < 1024 ? 'met' : 'NOT met'}`,
        `304 tick ${notModified.duration_ms.toFixed(0)} ms (target < 50 ms): ${notModified.duration_ms < 50 ? 'met' : 'NOT met'}`,
      ];
      return [
        `## Puller: one tick of ${SESSIONS.toLocaleString('en-US')} sessions`,
        '',
        'The fake repo-recall serves the payload on loopback; `session-lattice pull` runs as a child process;',
        'times are the tick as the puller logs it (`duration_ms`), RSS is the process peak (`maxRSS`).',
        '',
        '| what | time | peak RSS | vs baseline |',
        '|---|---|---|---|',
        ...rows,
        '',
        ...verdict.map((v) => `- ${v}`),
      ].join('\n');
    } finally {
      await recall.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default bench;
