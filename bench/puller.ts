import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { toolSessions } from '../src/shared/catalog/tools.js';
import { loadConfig } from '../src/shared/config.js';
import { createLogger } from '../src/shared/logger.js';
import { Puller } from '../src/puller/puller.js';
import { writePayloadFile } from '../test/fake-recall/generate.js';
import { startFakeRecall } from '../test/fake-recall/server.js';
import { runCli } from '../test/helpers/processes.js';
import type { BenchModule } from './run.js';

const SESSIONS = 100_000;

type Phases = Record<'fetch' | 'load' | 'views' | 'publish' | 'checkpoint', number>;

interface TickLine {
  duration_ms: number;
  peak_rss_mb: number;
  phases_ms: Phases;
  outcome: string;
}

/** Time to a published generation: the whole tick but the checkpoint that follows the publish. */
const toPublish = (t: TickLine) => t.duration_ms - t.phases_ms.checkpoint;

async function pull(home: string, url: string): Promise<TickLine> {
  const r = await runCli(['pull', '--home', home, '--repo-recall-url', url], {}, 300_000);
  if (r.code !== 0) throw new Error(`pull failed: ${r.stderr}`);
  const line = r.stderr
    .split('\n')
    .filter((l) => l.includes('"msg":"tick"'))
    .map((l) => JSON.parse(l) as TickLine)
    .pop();
  if (!line) throw new Error(`no tick line in ${r.stderr}`);
  return line;
}

/** One tick in this process with only the starter view (`tool_sessions`), as issue 2 framed it. */
async function starterTick(home: string, url: string): Promise<{ toPublishMs: number; phases: Phases }> {
  const config = { ...loadConfig({}, {}, []), home, repoRecallUrl: url };
  const puller = await Puller.open({ config, catalog: [toolSessions], logger: createLogger('bench', 'silent') });
  try {
    const result = await puller.tick();
    if (!result.ok) throw new Error(result.error);
    const p = result.report.phases;
    return { toPublishMs: result.report.durationMs - p.checkpoint, phases: p };
  } finally {
    await puller.close();
  }
}

function baseline(payload: string, dir: string): { ms: number; peakRssMb: number } {
  const script = resolve(import.meta.dirname, 'read-json-baseline.js');
  const out = execFileSync(process.execPath, [script, payload, join(dir, 'baseline.duckdb')], { encoding: 'utf8' });
  return JSON.parse(out) as { ms: number; peakRssMb: number };
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const phases = (p: Phases) =>
  `fetch ${s(p.fetch)}, load ${s(p.load)}, views ${s(p.views)}, publish ${s(p.publish)}; then checkpoint ${s(p.checkpoint)}`;

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
      const starter = await starterTick(join(dir, 'home-starter'), recall.url);
      const clean = await pull(join(dir, 'home-clean'), recall.url);
      const notModified = await pull(join(dir, 'home-clean'), recall.url);
      await recall.setData({ sessions: SESSIONS, messy: true, seed: 8 });
      const messy = await pull(join(dir, 'home-messy'), recall.url);

      const ratio = starter.toPublishMs / base.ms;
      const peak = Math.max(clean.peak_rss_mb, messy.peak_rss_mb);
      return [
        `## Puller: one tick of ${SESSIONS.toLocaleString('en-US')} sessions`,
        '',
        'The fake repo-recall serves the payload on loopback. "To publish" is the tick up to the renamed',
        'generation (the checkpoint of the working database that follows it is listed apart). `pull` rows run',
        'the CLI as a child process (its peak RSS is the process maximum); the starter-view row runs the same',
        'puller in the benchmark process with the catalog reduced to `tool_sessions`, the configuration the',
        'puller issue set its target for.',
        '',
        '| what | to publish | peak RSS | vs baseline | where the time went |',
        '|---|---|---|---|---|',
        `| DuckDB read_json, explicit columns, from a file (baseline) | ${s(base.ms)} | ${base.peakRssMb.toFixed(0)} MB | 1.00x | |`,
        `| tick, starter view only (clean payload) | ${s(starter.toPublishMs)} | | ${ratio.toFixed(2)}x | ${phases(starter.phases)} |`,
        `| \`pull\`, all views, clean payload | ${s(toPublish(clean))} | ${clean.peak_rss_mb} MB | ${(toPublish(clean) / base.ms).toFixed(2)}x | ${phases(clean.phases_ms)} |`,
        `| \`pull\`, all views, messy payload (nulls, bad rows, unpaired surrogates) | ${s(toPublish(messy))} | ${messy.peak_rss_mb} MB | ${(toPublish(messy) / base.ms).toFixed(2)}x | ${phases(messy.phases_ms)} |`,
        `| \`pull\` again: upstream answers 304, no view due | ${notModified.duration_ms} ms | ${notModified.peak_rss_mb} MB | | |`,
        '',
        `- starter tick / baseline ${ratio.toFixed(2)}x (target <= 2x): ${ratio <= 2 ? 'met' : 'NOT met'}`,
        `- peak RSS ${peak} MB (target < 1024 MB): ${peak < 1024 ? 'met' : 'NOT met'}`,
        `- 304 tick ${notModified.duration_ms} ms (target < 50 ms): ${notModified.duration_ms < 50 ? 'met' : 'NOT met'}`,
      ].join('\n');
    } finally {
      await recall.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default bench;
