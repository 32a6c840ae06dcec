import { afterEach, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { pino } from 'pino';
import { DEFAULTS } from '../src/shared/config.js';
import { homePaths } from '../src/shared/paths.js';
import { readPullerStatus } from '../src/shared/status.js';
import { GenerationManager } from '../src/reads/data/generations.js';
import { QueryLimiter } from '../src/reads/data/query-limiter.js';
import type { FakeRecall } from './fake-recall/server.js';
import { runCli, startDaemon, tempHome, type TempHome } from './helpers/processes.js';
import { pull, startFake, startReads } from './reads/fixtures.js';

/**
 * SESSION_LATTICE_MEMORY_LIMIT and SESSION_LATTICE_THREADS reach DuckDB: each process reads them
 * back with current_setting() once its instance is open, and says so (status.json and `status` for
 * the puller, the log lines of both daemons), so these tests check what DuckDB itself reports.
 */

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function setup(): Promise<{ home: TempHome; fake: FakeRecall }> {
  const home = await tempHome('lattice-duckdb-');
  cleanups.push(() => home.cleanup());
  const fake = await startFake(200);
  cleanups.push(() => fake.close());
  return { home, fake };
}

/** How DuckDB renders a memory_limit given in bytes (`953.6 MiB` for 1GB), asked of DuckDB itself. */
async function rendered(bytes: number): Promise<string> {
  const instance = await DuckDBInstance.create(':memory:', { memory_limit: `${bytes}B` });
  const conn = await instance.connect();
  try {
    return String((await conn.runAndReadAll("SELECT current_setting('memory_limit')")).getRowsJson()[0]![0]);
  } finally {
    conn.disconnectSync();
    instance.closeSync();
  }
}

describe('DuckDB memory_limit and threads', () => {
  it('the puller runs with the defaults, 2GB and 2 threads, when nothing is set', async () => {
    const { home, fake } = await setup();
    await pull(home.dir, fake);
    const status = await readPullerStatus(homePaths(home.dir).status);
    expect(status?.duckdb).toEqual({ memory_limit: await rendered(2e9), threads: 2 });
    expect(status?.duckdb?.memory_limit).toBe('1.8 GiB');
  });

  it('the puller applies SESSION_LATTICE_MEMORY_LIMIT and _THREADS; status.json and `status` show what DuckDB reports', async () => {
    const { home, fake } = await setup();
    // The load's JSON reader claims 512 MiB buffers, at least one per thread (README.md, "Memory and threads").
    const r = await runCli(['pull', '--home', home.dir, '--repo-recall-url', fake.url], {
      SESSION_LATTICE_MEMORY_LIMIT: '2500MB',
      SESSION_LATTICE_THREADS: '3',
    });
    expect(r.code, r.stderr).toBe(0);
    const status = await readPullerStatus(homePaths(home.dir).status);
    expect(status?.duckdb).toEqual({ memory_limit: '2.3 GiB', threads: 3 });
    const text = await runCli(['status', '--home', home.dir]);
    expect(text.stdout).toMatch(/^ {2}duckdb +memory limit 2\.3 GiB, 3 threads$/m);
    const json = JSON.parse((await runCli(['status', '--home', home.dir, '--json'])).stdout) as { puller: { duckdb: unknown } };
    expect(json.puller.duckdb).toEqual({ memory_limit: '2.3 GiB', threads: 3 });
    // A flag wins over the variable.
    const flagged = await runCli(['pull', '--home', home.dir, '--repo-recall-url', fake.url, '--memory-limit', '1280MiB', '--threads', '1'], {
      SESSION_LATTICE_MEMORY_LIMIT: '2500MB',
    });
    expect(flagged.code, flagged.stderr).toBe(0);
    expect((await readPullerStatus(homePaths(home.dir).status))?.duckdb).toEqual({ memory_limit: await rendered(1280 * 1048576), threads: 1 });
    expect((await readPullerStatus(homePaths(home.dir).status))?.duckdb?.memory_limit).toBe('1.2 GiB');
  });

  it("serve-puller's start line says what DuckDB runs with", async () => {
    const { home, fake } = await setup();
    const daemon = startDaemon(['serve-puller', '--home', home.dir, '--repo-recall-url', fake.url, '--refresh-interval-seconds', '3600'], {
      SESSION_LATTICE_MEMORY_LIMIT: '2GiB',
      SESSION_LATTICE_THREADS: '2',
    });
    cleanups.push(() => daemon.stop());
    await daemon.waitFor((d) => d.logLines().some((l) => l.msg === 'started'), 'the started line');
    const started = daemon.logLines().find((l) => l.msg === 'started')!;
    expect(started).toMatchObject({ duckdb_memory_limit: '2.0 GiB', duckdb_threads: 2 });
  });

  it('serve-reads opens each generation with them: its "serving generation" line says what DuckDB reports', async () => {
    const { home, fake } = await setup();
    await pull(home.dir, fake);
    const reads = await startReads(home.dir, [], ['--memory-limit', '256MB', '--threads', '1']);
    cleanups.push(() => reads.stop());
    const serving = reads.daemon.logLines().find((l) => l.msg === 'serving generation');
    expect(serving).toMatchObject({ generation: 1, duckdb_memory_limit: '244.1 MiB', duckdb_threads: 1 });
    // From the variables too, and at the defaults when nothing is set.
    const fromEnv = startDaemon(['serve-reads', '--home', home.dir, '--port', '0'], { SESSION_LATTICE_MEMORY_LIMIT: '700MB', SESSION_LATTICE_THREADS: '3' });
    cleanups.push(() => fromEnv.stop());
    await fromEnv.waitFor((d) => d.logLines().some((l) => l.msg === 'serving generation'), 'the serving generation line');
    expect(fromEnv.logLines().find((l) => l.msg === 'serving generation')).toMatchObject({ duckdb_memory_limit: '667.5 MiB', duckdb_threads: 3 });
  });

  it('a generation opened in process reports the settings it was given, and the defaults without them', async () => {
    const { home, fake } = await setup();
    await pull(home.dir, fake);
    for (const [duckdb, expected] of [
      [
        { memoryLimitBytes: 128 * 1048576, threads: 2 },
        { memory_limit: '128.0 MiB', threads: 2 },
      ],
      [undefined, { memory_limit: '1.8 GiB', threads: DEFAULTS.threads }],
    ] as const) {
      const manager = new GenerationManager({ path: homePaths(home.dir).published, logger: pino({ level: 'silent' }), limiter: new QueryLimiter(1), duckdb });
      await manager.start();
      try {
        expect(manager.peek()?.duckdb).toEqual(expected);
      } finally {
        await manager.close();
      }
    }
  });
});
