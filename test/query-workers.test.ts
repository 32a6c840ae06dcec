import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realpathSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import type { FakeRecall } from './fake-recall/server.js';
import { pino } from 'pino';
import type { QueryResult } from '../src/reads/mcp/sql.js';
import { QueryWorkerPool, type PoolQuery } from '../src/reads/query-workers/pool.js';
import { alive, eventually, tempHome, type TempHome } from './helpers/processes.js';
import { get, publish, pull, startFake, startReads, type ReadsProcess } from './reads/fixtures.js';
import { call, connect, errorText, structured } from './reads/mcp-client.js';
import { queryWorkerPids, rssMb, workersCpuSeconds } from './reads/workers.js';

/**
 * The MCP `query` tool's worker processes (issue 11, items 1 and 8), against a real `serve-reads`
 * with a real MCP client: heavy queries end at their deadline or memory cap while the HTTP API
 * keeps answering and the server stays small; a dead worker is replaced; the snapshot's bytes
 * and absolute paths stay out of reach; integers stay exact; SIGTERM does not wait on a query.
 */

/** Each worker's memory cap in these tests (the default is 1024). */
const CAP_MB = 512;
/** The reads process's own RSS budget while workers run heavy queries. */
const READS_RSS_BUDGET_MB = 600;

describe('query workers', () => {
  let home: TempHome;
  let fake: FakeRecall;
  let reads: ReadsProcess;
  let client: Client;
  let sessions: number;

  beforeAll(async () => {
    home = await tempHome('lattice-qw-');
    fake = await startFake(300);
    await pull(home.dir, fake);
    reads = await startReads(home.dir, [], ['--query-memory-mb', String(CAP_MB)]);
    client = await connect(reads.url);
    sessions = structured<QueryResult>(await call(client, 'query', { sql: 'SELECT count(*)::INTEGER AS n FROM base.sessions' })).rows[0]!.n as number;
  });

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await reads?.stop();
    await fake?.close();
    await home?.cleanup();
  });

  /** A query that must answer correctly: the pool is serving. */
  async function expectServing(what: string): Promise<void> {
    const r = await call(client, 'query', { sql: 'SELECT count(*)::INTEGER AS n FROM base.sessions' });
    expect(r.isError ? errorText(r) : structured<QueryResult>(r).rows, what).toEqual([{ n: sessions }]);
  }

  it('ends each heavy query with a clear error at its deadline or memory cap, while HTTP reads keep answering and the server stays small', async () => {
    const deadline = (ms: number) =>
      new RegExp(`did not finish within ${ms} ms and was stopped \\(its worker process was killed and replaced\\); narrow the query`);
    const memory =
      /Out of Memory Error.*narrow it, or raise SESSION_LATTICE_QUERY_MEMORY_MB|used more memory than a query worker may \(\d+ MB, cap 512 MB\) and was stopped/;
    const either = (ms: number) => new RegExp(`${deadline(ms).source}|${memory.source}`);
    const heavy: Array<[string, number, RegExp]> = [
      // The four.
      ['SELECT len(generate_series(1, 2000000000))', 30, memory],
      ['SELECT generate_series(1, 20000000)', 1, either(1000)],
      ["SELECT length(repeat('x', 1000000000))", 30, memory],
      ['SELECT list_reduce(range(50000000), (a, b) -> a + b)', 2, either(2000)],
      // Of the same kind: CPU without end, a huge aggregate string, a huge list, a hash table past the cap.
      ['SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range = -1', 1, deadline(1000)],
      ["SELECT length(string_agg(repeat('y', 1000), ',')) FROM range(3000000)", 30, memory],
      ['SELECT len(list(i)) FROM range(400000000) t(i)', 30, memory],
      ["SELECT count(DISTINCT i::VARCHAR || 'abcdefghijabcdefghij') FROM range(100000000) t(i)", 30, either(30000)],
    ];

    // Meanwhile: HTTP reads in a loop, and the RSS of the server and of its workers.
    let stop = false;
    const failures: string[] = [];
    let answered = 0;
    const paths = ['/views/tool_sessions?limit=5&order_by=-session_count', '/healthz', '/views', '/views/daily_activity?limit=20'];
    const loop = (async () => {
      for (let i = 0; !stop; i++) {
        const path = paths[i % paths.length]!;
        const res = await get(`${reads.url}${path}`).catch((err: unknown) => ({ status: 0, text: String(err) }));
        if (res.status !== 200) failures.push(`${path}: ${res.status} ${res.text.slice(0, 200)}`);
        else answered++;
      }
    })();
    const readsRss: number[] = [];
    const workerRss: number[] = [];
    const sample = async () => {
      const own = await rssMb(reads.pid);
      if (own !== null) readsRss.push(own);
      for (const pid of queryWorkerPids(reads.pid)) {
        const rss = await rssMb(pid);
        if (rss !== null) workerRss.push(rss);
      }
    };
    const sampler = setInterval(() => void sample(), 50);

    const wrong: string[] = [];
    try {
      for (const [sql, seconds, expected] of heavy) {
        const before = answered;
        const text = errorText(await call(client, 'query', { sql, timeout_seconds: seconds }));
        if (!expected.test(text)) wrong.push(`${sql}\n  -> ${text}`);
        // The pool recovered: the next query answers, from a worker that is alive.
        await expectServing(`after ${sql}`);
        // The HTTP API answered while it ran (or at least right after: a fast failure leaves no time).
        await eventually(() => (answered > before ? true : undefined), `an HTTP answer around ${sql}`);
      }
    } finally {
      stop = true;
      clearInterval(sampler);
      await loop;
    }
    expect(wrong).toEqual([]);
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(heavy.length);
    expect(readsRss.length, 'samples of the server RSS').toBeGreaterThan(10);
    expect(Math.max(...readsRss), 'the reads server RSS, MB').toBeLessThan(READS_RSS_BUDGET_MB);
    expect(workerRss.length, 'samples of the workers RSS').toBeGreaterThan(10);
    // A sample can catch a worker just past the cap before the pool's watch kills it; never far past.
    expect(Math.max(...workerRss), 'a query worker RSS, MB').toBeLessThan(2 * CAP_MB);
    expect(reads.daemon.running).toBe(true);
  }, 300_000);

  it('replaces a worker that dies, and answers from the generation the worker holds', async () => {
    const before = await eventually(() => {
      const pids = queryWorkerPids(reads.pid);
      return pids.length === 2 ? pids : undefined;
    }, 'two query workers');
    process.kill(before[0]!, 'SIGKILL');
    await eventually(() => {
      const pids = queryWorkerPids(reads.pid);
      return pids.length === 2 && !pids.includes(before[0]!) ? true : undefined;
    }, 'a replacement worker');
    // Both workers answer (two at once take one each).
    const both = await Promise.all([1, 2].map((i) => call(client, 'query', { sql: `SELECT ${i} AS i, count(*)::INTEGER AS n FROM base.sessions` })));
    for (const [k, r] of both.entries()) expect(structured<QueryResult>(r).rows).toEqual([{ i: k + 1, n: sessions }]);

    // A new generation: the workers move to it, and freshness names the generation that answered.
    await publish(home.dir, fake, 320, 2);
    const answers = await eventually(async () => {
      const rs = await Promise.all(
        [1, 2].map(() => call(client, 'query', { sql: 'SELECT generation::INTEGER AS g, session_count::INTEGER AS n FROM lattice.meta' })),
      );
      const out = rs.map((r) => structured<QueryResult>(r));
      return out.every((o) => o.freshness.generation === 2) ? out : undefined;
    }, 'both workers on generation 2');
    for (const a of answers) {
      expect(a.rows[0]!.g).toBe(2);
      expect(a.freshness.scan_version).toBe(2);
    }
    sessions = answers[0]!.rows[0]!.n as number;
    const health = (await get(`${reads.url}/healthz`)).json as { generation: number; session_count: number };
    expect(health.generation).toBe(2);
    expect(sessions).toBe(health.session_count);
  });

  it("refuses reads of the snapshot's own bytes and shows no absolute path of the home, the user's home or the temp dir", async () => {
    const published = join(home.dir, 'session-lattice.duckdb');
    const denied = /query failed: Permission Error: File system LocalFileSystem has been disabled by configuration/;
    for (const path of [published, realpathSync(published), 'session-lattice.duckdb', `${home.dir}/./session-lattice.duckdb`]) {
      for (const sql of [`SELECT * FROM read_blob('${path}')`, `SELECT * FROM read_text('${path}')`, `FROM '${path}'`, `SELECT * FROM read_csv('${path}')`]) {
        expect(errorText(await call(client, 'query', { sql })), sql).toMatch(denied);
      }
    }

    const forbidden = [...new Set([home.dir, realpathSync(home.dir), homedir(), realpathSync(homedir()), tmpdir(), realpathSync(tmpdir())])];
    const leaks = (text: string) =>
      forbidden.filter((dir) => text.includes(`${dir}/`) || text.includes(`${dir}"`) || text.includes(`${dir}'`) || text.includes(`${dir},`));

    // What DuckDB itself reports about the instance.
    const databases = structured<QueryResult>(await call(client, 'query', { sql: 'SELECT database_name, path FROM duckdb_databases() WHERE NOT internal' }));
    expect(databases.rows).toEqual([{ database_name: 'session-lattice', path: 'session-lattice.duckdb' }]);
    for (const sql of [
      'SELECT * FROM duckdb_settings()',
      'SELECT * FROM duckdb_databases()',
      'SELECT * FROM pragma_database_list',
      "SELECT current_setting('allowed_paths') AS p",
    ]) {
      const r = structured<QueryResult>(await call(client, 'query', { sql, max_rows: 10_000 }));
      expect(r.rows.length, sql).toBeGreaterThan(0);
      expect(leaks(JSON.stringify(r.rows)), sql).toEqual([]);
    }
    const settings = structured<QueryResult>(
      await call(client, 'query', { sql: "SELECT name, value FROM duckdb_settings() WHERE name IN ('allowed_paths', 'secret_directory')" }),
    );
    expect(JSON.stringify(settings.rows)).toContain('session-lattice.duckdb');

    // Error messages that quote a path.
    for (const [sql, shown] of [
      [`SELECT '${home.dir}/puller/status.json'::INTEGER`, "'puller/status.json'"],
      [`SELECT '${homedir()}/secret'::INTEGER`, "'~/secret'"],
      [`SELECT '${tmpdir()}/x'::INTEGER`, "'$TMPDIR/x'"],
      [`SELECT * FROM "${home.dir}/nosuch"`, 'nosuch'],
    ] as const) {
      const text = errorText(await call(client, 'query', { sql }));
      expect(leaks(text), `${sql} -> ${text}`).toEqual([]);
      expect(text, sql).toContain(shown);
    }
  });

  it('keeps integers beyond 2^53 exact (as strings), and every other value as before', async () => {
    const r = structured<QueryResult>(
      await call(client, 'query', {
        sql: `SELECT 9007199254740993::BIGINT AS big, (-9223372036854775808)::BIGINT AS min, 9007199254740991::BIGINT AS safe,
                     170141183460469231731687303715884105727::HUGEINT AS huge, 18446744073709551615::UBIGINT AS ubig,
                     [9007199254740993, 1]::BIGINT[] AS list, {'k': 9223372036854775807::BIGINT, 's': '12345678901234567890'} AS st,
                     '9007199254740993' AS text, 1e20::DOUBLE AS dbl, 1.5 AS dec, 'x"9007199254740993' AS quoted`,
      }),
    );
    expect(r.rows).toEqual([
      {
        big: '9007199254740993',
        min: '-9223372036854775808',
        safe: 9007199254740991,
        huge: '170141183460469231731687303715884105727',
        ubig: '18446744073709551615',
        list: ['9007199254740993', 1],
        st: { k: '9223372036854775807', s: '12345678901234567890' },
        text: '9007199254740993',
        dbl: 1e20,
        dec: 1.5,
        quoted: 'x"9007199254740993',
      },
    ]);
    // The same value read through base tables: a sum past 2^53.
    const sum = structured<QueryResult>(await call(client, 'query', { sql: 'SELECT 9007199254740990 + sum(1) AS s FROM base.sessions' }));
    expect(sum.rows[0]!.s).toBe(String(9007199254740990n + BigInt(sessions)));
  });

  it('stops promptly on SIGTERM while a long query runs, leaving no worker behind', async () => {
    const other = await startReads(home.dir);
    const c = await connect(other.url);
    const workers = await eventually(() => {
      const pids = queryWorkerPids(other.pid);
      return pids.length === 2 ? pids : undefined;
    }, 'two query workers');
    const cpuBefore = workersCpuSeconds(other.pid);
    const pending = call(c, 'query', { sql: 'SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range = -1', timeout_seconds: 30 }).then(
      (r) => (r.isError ? errorText(r) : 'answered'),
      (err: unknown) => `request failed: ${String(err)}`,
    );
    await eventually(() => (workersCpuSeconds(other.pid) - cpuBefore >= 0.5 ? true : undefined), 'the query running in a worker');
    process.kill(other.pid, 'SIGTERM');
    const exit = await other.daemon.exited;
    // 0: it stopped by itself, before its own stop deadline (9 s) would have exited 1.
    expect(exit, other.daemon.stdout.slice(-2000)).toEqual({ code: 0, signal: null });
    expect(other.daemon.stdout).not.toMatch(/did not stop within the deadline/);
    expect(await pending).toMatch(/shutting down|request failed/);
    expect(workers.filter(alive)).toEqual([]);
    await c.close().catch(() => undefined);
  });
});

/**
 * The pool itself, in this process (real worker processes, the published file of a real pull):
 * what the HTTP-level tests above cannot set up.
 */
describe('query worker pool', () => {
  let home: TempHome;
  let fake: FakeRecall;
  const pools: QueryWorkerPool[] = [];

  beforeAll(async () => {
    home = await tempHome('lattice-qw-pool-');
    fake = await startFake(100);
    await pull(home.dir, fake);
  });

  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
    await fake?.close();
    await home?.cleanup();
  });

  function pool(opts: Partial<ConstructorParameters<typeof QueryWorkerPool>[0]> = {}): QueryWorkerPool {
    const p = new QueryWorkerPool({ home: home.dir, memoryBytes: 256 * 1024 * 1024, logger: pino({ level: 'silent' }), ...opts });
    pools.push(p);
    p.start();
    return p;
  }

  const query = (sql: string, timeoutMs = 30_000): PoolQuery => ({ sql, maxRows: 100, maxResultBytes: 1024 * 1024, timeoutMs });

  /** The error a run ends with (a run that answers fails the test). */
  async function failure(p: QueryWorkerPool, q: PoolQuery): Promise<{ code: string; message: string }> {
    const err = await p.run(q).then(
      (r) => new Error(`answered: ${JSON.stringify(r.rows).slice(0, 200)}`),
      (e: unknown) => e as Error,
    );
    return { code: (err as { code?: string }).code ?? 'none', message: err.message };
  }

  it('holds the memory cap by watching RSS alone, where no address-space limit applies (as on macOS)', async () => {
    const p = pool({ addressSpaceLimit: false, size: 1 });
    // Neither is bounded by DuckDB's own memory_limit (a string, a list built outside its buffer pool).
    for (const sql of ["SELECT length(repeat('x', 1000000000))", 'SELECT len(generate_series(1, 2000000000))']) {
      const pid = await eventually(() => p.pids()[0], 'a worker');
      const err = await failure(p, query(sql));
      expect(err, sql).toEqual({
        code: 'query_memory',
        message: expect.stringMatching(/used more memory than a query worker may \(\d+ MB, cap 256 MB\) and was stopped/),
      });
      await eventually(() => (alive(pid) ? undefined : true), 'the worker past the cap to be gone');
      expect((await p.run(query('SELECT 41 + 1 AS x'))).rows).toEqual([{ x: 42 }]);
    }
  });

  it('ends a wide result near the cap with a truncated result or a clean memory error, never a worker killed by a signal (issue 25)', async () => {
    // 10,000 rows of 10 KB: 100 MB of text for 8 MB of answer. At a 512 MB cap with 4 DuckDB
    // threads, 6 of 30 runs used to kill the worker with SIGABRT or SIGTRAP (V8 or a thread could
    // not allocate under the address-space limit that DuckDB's allocator had kept for itself).
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const p = pool({ memoryBytes: 512 * 1024 * 1024, threads: 4, size: 1, logger });
    const sql = "SELECT repeat('y', 10000) AS y FROM range(10000)";
    const outcomes: string[] = [];
    for (let i = 0; i < 15; i++) {
      await p.ready();
      const outcome = await p.run({ sql, maxRows: 10_000, maxResultBytes: 8 * 1024 * 1024, timeoutMs: 60_000 }).then(
        (r) => {
          expect(r.truncated_reason).toBe('max_bytes');
          expect(r.rows.length).toBeGreaterThan(0);
          expect(r.rows.every((row) => row.y === 'y'.repeat(10_000))).toBe(true);
          return 'truncated';
        },
        (e: unknown) => {
          const err = e as { code?: string; message: string };
          if (err.code === 'query_failed' && /Out of Memory Error/.test(err.message)) return 'out of memory';
          if (err.code === 'query_memory') return 'memory cap';
          return `${err.code ?? 'none'}: ${err.message}`;
        },
      );
      outcomes.push(outcome);
    }
    expect(
      outcomes.filter((o) => !['truncated', 'out of memory', 'memory cap'].includes(o)),
      outcomes.join('\n'),
    ).toEqual([]);
    expect(outcomes).toContain('truncated');
    // A worker the pool killed at the cap exits with SIGKILL; none may end by any other signal.
    const exits = lines.map((l) => JSON.parse(l) as { msg: string; signal?: string | null }).filter((l) => l.msg === 'query worker exited');
    expect(exits.filter((e) => e.signal !== null && e.signal !== 'SIGKILL')).toEqual([]);
  });

  it('bounds the queue: past its length, or after waiting too long for a worker, a query gets a "busy" error', async () => {
    const p = pool({ size: 1, maxQueued: 1, queueTimeoutMs: 500 });
    await p.ready();
    const endless = 'SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range = -1';
    const running = failure(p, query(endless, 20_000));
    // The worker is taken: one query may wait (and gives up after 500 ms), the next is refused at once.
    const waiting = failure(p, query('SELECT 1'));
    const refused = await failure(p, query('SELECT 2'));
    expect(refused).toEqual({ code: 'busy', message: expect.stringMatching(/all 1 query workers are busy and 1 queries are waiting; retry shortly/) });
    expect(await waiting).toEqual({ code: 'busy', message: expect.stringMatching(/no query worker became free within 500 ms/) });
    await p.close();
    expect(await running).toEqual({ code: 'query_worker', message: expect.stringMatching(/shutting down/) });
    expect(await failure(p, query('SELECT 3'))).toEqual({ code: 'query_worker', message: expect.stringMatching(/shutting down/) });
  });
});
