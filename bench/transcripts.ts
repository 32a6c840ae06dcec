import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { BenchModule } from './run.js';
import { generateTranscripts } from '../test/helpers/transcripts/generate.js';
import { runCcusage } from '../test/helpers/transcripts/ccusage.js';
import { assistantLine } from '../test/helpers/transcripts/lines.js';
import { startFakeRecall } from '../test/fake-recall/server.js';
import { homePaths } from '../src/shared/paths.js';
import { eventually, freePort, startDaemon, type Daemon } from '../test/helpers/processes.js';

/**
 * `npm run bench -- transcripts` (issue 26): a generated tree of about 1 GB (BENCH_TRANSCRIPTS_MB)
 * of Claude Code transcripts; DuckDB's own read_json of the same files with the same projection
 * (the baseline); our first ingest (`session-lattice pull --transcripts`) against it; ccusage
 * 20.0.24's `claude daily --offline` beside it; a pull after one transcript gained 10 lines; and
 * `usage_daily` from the published snapshot (p50) against ccusage's full re-read.
 */

const TARGET_MB = Number(process.env.BENCH_TRANSCRIPTS_MB ?? 1000);
const ZONE = 'America/Los_Angeles';

/** The projection a usage reader needs, as read_json columns. */
const COLUMNS = `{sessionId: 'VARCHAR', requestId: 'VARCHAR', timestamp: 'VARCHAR', isSidechain: 'BOOLEAN', agentId: 'VARCHAR', cwd: 'VARCHAR',
  message: 'STRUCT(id VARCHAR, model VARCHAR, usage STRUCT(input_tokens BIGINT, output_tokens BIGINT, cache_creation_input_tokens BIGINT,
  cache_read_input_tokens BIGINT, cache_creation STRUCT(ephemeral_5m_input_tokens BIGINT, ephemeral_1h_input_tokens BIGINT), service_tier VARCHAR))'}`;

interface CliRun {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A CLI run as a child process. Not spawnSync: the fake repo-recall answers from this process's
 * event loop, which spawnSync would block until the pull gave up on it.
 */
async function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(import.meta.dirname, '../src/cli.js'), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  const run = { ms: performance.now() - t0, code, stdout, stderr };
  if (code !== 0) throw new Error(`session-lattice ${args.join(' ')} exited ${code}: ${stderr.slice(0, 2000)}`);
  return run;
}

/** The transcripts stage's ms, from the tick's log line (`pull --json` logs JSON lines on stderr). */
function sourceMs(run: CliRun): number {
  for (const line of run.stderr.split('\n')) {
    if (!line.includes('"tick"')) continue;
    const parsed: unknown = JSON.parse(line);
    const ms = (parsed as { phases_ms?: { transcripts?: unknown } }).phases_ms?.transcripts;
    if (typeof ms === 'number') return ms;
  }
  throw new Error(`no tick line with phases_ms.transcripts in the pull's log:\n${run.stderr.slice(0, 2000)}`);
}

/** The API responses usage_daily counts, as the reads server serves it (null until it serves). */
async function servedResponses(url: string): Promise<number | null> {
  const res = await fetch(`${url}/views/usage_daily?limit=10000`).catch(() => null);
  if (!res || res.status !== 200) return null;
  const body = (await res.json()) as { rows?: Array<{ api_response_count?: number | string | null }> };
  return (body.rows ?? []).reduce((sum, r) => sum + Number(r.api_response_count ?? 0), 0);
}

/** Appends `responses` responses of two lines each (a text block, then a tool_use) to a transcript. */
function appendResponses(file: string, responses: number): void {
  const now = Date.now();
  for (let i = 0; i < responses; i++) {
    for (let k = 0; k < 2; k++) {
      appendFileSync(
        file,
        assistantLine(
          {
            sessionId: 'bench-append',
            cwd: '/bench',
            version: '2.0.14',
            gitBranch: 'main',
            isSidechain: false,
            parentUuid: null,
            uuid: `u${i}${k}`,
            timestamp: new Date(now + i * 1000 + k).toISOString(),
          },
          {
            messageId: `msg_bench_${i}`,
            requestId: `req_bench_${i}`,
            model: 'claude-sonnet-4-5-20250929',
            block: { type: 'text', text: 'x' },
            usage: { input_tokens: 10, output_tokens: 5 + k, cache_creation_5m: 0, cache_creation_1h: 0, cache_read_input_tokens: 0 },
            breakdown: true,
            stopReason: null,
          },
        ) + '\n',
      );
    }
  }
}

async function readJsonBaseline(projects: string, dbFile: string): Promise<{ ms: number; rows: number }> {
  const instance = await DuckDBInstance.create(dbFile);
  const conn = await instance.connect();
  try {
    const t0 = performance.now();
    await conn.run(`CREATE TABLE lines AS
      SELECT sessionId, requestId, timestamp, isSidechain, agentId, cwd, message.id AS message_id, message.model AS model,
             message.usage.input_tokens, message.usage.output_tokens, message.usage.cache_creation_input_tokens,
             message.usage.cache_read_input_tokens, message.usage.cache_creation.ephemeral_5m_input_tokens,
             message.usage.cache_creation.ephemeral_1h_input_tokens, message.usage.service_tier, filename
      FROM read_json('${projects.replace(/'/g, "''")}/**/*.jsonl', format = 'newline_delimited', columns = ${COLUMNS.replace(/\s+/g, ' ')},
                     filename = true, maximum_object_size = 16777216)
      WHERE message.usage IS NOT NULL`);
    const ms = performance.now() - t0;
    const rows = Number((await conn.runAndReadAll('SELECT count(*)::DOUBLE FROM lines')).getRowsJson()[0]?.[0] ?? 0);
    return { ms, rows };
  } finally {
    conn.disconnectSync();
    instance.closeSync();
  }
}

function p50(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);

const bench: BenchModule = {
  name: 'transcripts',
  async run() {
    const root = mkdtempSync(join(tmpdir(), 'lattice-bench-transcripts-'));
    const rows: string[] = [];
    try {
      // Calibrate: a small tree's bytes per session, then the sessions for the target size.
      const sample = generateTranscripts({ projects: join(root, 'sample', 'projects'), seed: 1, sessions: 20, responsesPerSession: 80, textBytes: 260 });
      const sessions = Math.max(20, Math.round((TARGET_MB * 1e6) / (sample.bytes / 20)));
      rmSync(join(root, 'sample'), { recursive: true, force: true });
      const projects = join(root, 'claude', 'projects');
      const g0 = performance.now();
      const tree = generateTranscripts({
        projects,
        seed: 26,
        sessions,
        responsesPerSession: 80,
        textBytes: 260,
        cwds: 40,
        days: 30,
        start: '2025-10-01T12:00:00Z',
      });
      const genMs = performance.now() - g0;
      rows.push(
        `| generate the tree (${(tree.bytes / 1e9).toFixed(2)} GB, ${tree.files.length} files, ${tree.lines} lines, ${tree.responses} responses) | ${fmt(genMs)} | |`,
      );

      const base = await readJsonBaseline(projects, join(root, 'baseline.duckdb'));
      rows.push(`| **baseline**: DuckDB read_json of every file, the usage projection (${base.rows} usage lines) | ${fmt(base.ms)} | 1.00x |`);

      const cc = await runCcusage(projects, ZONE, 'daily', 30 * 60_000);
      rows.push(`| ccusage 20.0.24 \`claude daily --offline\` (a full read, every question) | ${fmt(cc.ms)} | ${(cc.ms / base.ms).toFixed(2)}x |`);

      const fake = await startFakeRecall({ sessions: 0, seed: 1 });
      const home = join(root, 'home');
      const env = { SESSION_LATTICE_TIMEZONE: ZONE };
      const pullArgs = ['pull', '--json', '--home', home, '--repo-recall-url', fake.url, '--transcripts', projects];
      let reads: Daemon | null = null;
      try {
        const first = await cli(pullArgs, env);
        const firstSource = sourceMs(first);
        rows.push(`| our first ingest, the transcripts stage of the tick (target <= 1.5x) | ${fmt(firstSource)} | ${(firstSource / base.ms).toFixed(2)}x |`);
        rows.push(`| our first \`pull --transcripts\`, whole process (ingest, all views, publish) | ${fmt(first.ms)} | ${(first.ms / base.ms).toFixed(2)}x |`);

        // A reads server on the home, as a user runs it, to see when the appended usage is served.
        const port = await freePort();
        reads = startDaemon(['serve-reads', '--home', home, '--port', String(port)], env);
        const url = `http://127.0.0.1:${port}`;
        const before = await eventually(async () => (await servedResponses(url)) ?? undefined, 'serve-reads to answer', 60_000);

        // One active transcript gains 10 lines: 5 responses of 2 lines each.
        appendResponses(tree.files[0]!, 5);
        const t0 = performance.now();
        const again = await cli(pullArgs, env);
        await eventually(async () => ((await servedResponses(url)) === before + 5 ? true : undefined), 'the appended responses over HTTP', 60_000);
        const visibleMs = performance.now() - t0;
        rows.push(
          `| a tick after one transcript gained 10 lines, ${(tree.bytes / 1e9).toFixed(2)} GB ingested: the transcripts stage (target < 200 ms) | ${fmt(sourceMs(again))} | |`,
        );
        rows.push(`| the same tick, whole \`pull\` process (start, stat every file, views, publish) | ${fmt(again.ms)} | |`);
        rows.push(`| from that pull's start to the new responses in \`GET /views/usage_daily\` (target < 2 s) | ${fmt(visibleMs)} | |`);

        const instance = await DuckDBInstance.create(homePaths(home).published, { access_mode: 'READ_ONLY' });
        const conn = await instance.connect();
        const times: number[] = [];
        for (let i = 0; i < 200; i++) {
          const q0 = performance.now();
          await conn.runAndReadAll('SELECT * FROM main.usage_daily ORDER BY day');
          times.push(performance.now() - q0);
        }
        conn.disconnectSync();
        instance.closeSync();
        rows.push(
          `| \`usage_daily\` from the snapshot, p50 of 200 (target < 20 ms) vs ccusage's full re-read | ${fmt(p50(times))} | ${(cc.ms / p50(times)).toFixed(0)}x faster than ccusage |`,
        );
      } finally {
        await reads?.stop();
        await fake.close();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    return [
      '## transcripts',
      '',
      'Issue 26: usage from Claude Code transcripts. A generated tree (test/helpers/transcripts/generate.ts, every hazard on) of about ' +
        `${TARGET_MB} MB; each row against DuckDB's own \`read_json\` of the same files with the same projection, in the same run.`,
      '',
      '| step | time | vs baseline |',
      '|---|---|---|',
      ...rows,
    ].join('\n');
  },
};

export default bench;
