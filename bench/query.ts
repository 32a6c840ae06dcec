import { tmpdir } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { pino } from 'pino';
import { openHardened, readOnlyInstanceOptions } from '../src/reads/data/hardening.js';
import { QueryWorkerPool, workerDuckdbSettings, type PoolQuery } from '../src/reads/query-workers/pool.js';
import { runSandboxed } from '../src/reads/query-workers/sandbox.js';
import { DEFAULTS } from '../src/shared/config.js';
import { homePaths } from '../src/shared/paths.js';
import { startFakeRecall } from '../test/fake-recall/server.js';
import { runCli } from '../test/helpers/processes.js';
import type { BenchModule } from './run.js';
import { percentile } from './stats.js';

/**
 * `npm run bench -- query` (issue 11): what running the MCP `query` tool's SQL in a worker process
 * costs. The same small SELECT, through the same statement checks (query-workers/sandbox.ts), on
 * the same published file: through the worker pool (IPC to a warm worker and back, zod on both
 * ends) against in this process on a connection hardened like the workers' (the baseline), the
 * two interleaved in one run. Target: at most 2 ms more at p50.
 */

/** BENCH_SESSIONS=<n> for a quick run of the harness. */
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 20_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 500);
const WARMUP = 50;
const SQL = 'SELECT tool_name, session_count FROM main.tool_sessions ORDER BY session_count DESC, tool_name LIMIT 10';
const TARGET_MS = 2;

function ms(n: number): string {
  return `${n.toFixed(2)} ms`;
}

const bench: BenchModule = {
  name: 'query',
  async run() {
    const dir = await mkdtemp(join(tmpdir(), 'lattice-bench-query-'));
    const home = join(dir, 'home');
    const recall = await startFakeRecall({ sessions: 10, dataDir: join(dir, 'recall') });
    let pool: QueryWorkerPool | null = null;
    let instance: DuckDBInstance | null = null;
    let conn: DuckDBConnection | null = null;
    try {
      await recall.setData({ sessions: SESSIONS, seed: 1 });
      const pulled = await runCli(['pull', '--home', home, '--repo-recall-url', recall.url], {}, 300_000);
      if (pulled.code !== 0) throw new Error(`pull failed: ${pulled.stderr}`);

      pool = new QueryWorkerPool({ home, memoryBytes: DEFAULTS.queryMemoryBytes, logger: pino({ level: 'warn' }) });
      pool.start();
      await pool.ready();
      // The baseline: the instance a worker opens, in this process (same options, same hardening).
      const { duckdbMemoryMb, threads } = workerDuckdbSettings(DEFAULTS.queryMemoryBytes);
      ({ instance, conn } = await openHardened(homePaths(home).published, readOnlyInstanceOptions(`${duckdbMemoryMb}MiB`, threads)));

      const query: PoolQuery = { sql: SQL, maxRows: 1000, maxResultBytes: 8 * 2 ** 20, timeoutMs: 5000 };
      const inProcess: number[] = [];
      const viaPool: number[] = [];
      let expected = '';
      for (let i = 0; i < WARMUP + RUNS; i++) {
        const t0 = performance.now();
        const local = await runSandboxed(conn, SQL, query);
        const t1 = performance.now();
        const remote = await pool.run(query);
        const t2 = performance.now();
        expected ||= JSON.stringify(local.rows);
        if (JSON.stringify(remote.rows) !== expected || JSON.stringify(local.rows) !== expected) throw new Error('the two paths answered differently');
        if (i >= WARMUP) {
          inProcess.push(t1 - t0);
          viaPool.push(t2 - t1);
        }
      }
      const p50 = { local: percentile(inProcess, 50, 'in-process runs'), pool: percentile(viaPool, 50, 'pool runs') };
      const p99 = { local: percentile(inProcess, 99, 'in-process runs'), pool: percentile(viaPool, 99, 'pool runs') };
      const cost = p50.pool - p50.local;
      return [
        '## query: the MCP query tool through its worker processes',
        '',
        `\`${SQL}\` (${JSON.parse(expected).length} rows) on a ${SESSIONS.toLocaleString('en-US')}-session generation, ${RUNS} runs of each after ${WARMUP} warm-up runs, the two interleaved; both through the same statement checks (\`src/reads/query-workers/sandbox.ts\`) on an instance opened and hardened the same way.`,
        '',
        '| path | p50 | p99 |',
        '|---|---|---|',
        `| in process, on a hardened read-only connection (baseline) | ${ms(p50.local)} | ${ms(p99.local)} |`,
        `| through the worker pool (IPC to a warm worker and back) | ${ms(p50.pool)} | ${ms(p99.pool)} |`,
        `| difference | ${ms(cost)} | ${ms(p99.pool - p99.local)} |`,
        '',
        `Target: isolation costs at most ${TARGET_MS} ms at p50: ${ms(cost)} (${cost <= TARGET_MS ? 'met' : 'NOT met'}).`,
      ].join('\n');
    } finally {
      conn?.disconnectSync();
      instance?.closeSync();
      await pool?.close();
      await recall.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default bench;
