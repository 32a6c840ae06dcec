import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { runCli } from '../test/helpers/processes.js';
import { fetchText, startReadsRig } from './reads-rig.js';
import { homePaths } from '../src/shared/paths.js';
import type { BenchModule } from './run.js';
import { percentile } from './stats.js';
import { requireWrk, runWrk, type WrkResult } from './wrk.js';

/**
 * Reads benchmark (issue 3): GET /views/tool_sessions?limit=100 at 32 connections against a bare
 * Fastify route returning the same bytes from memory, in the same run; servers pinned to core 0,
 * wrk to core 1. Also: a 304 answer, an uncached answer (a DuckDB query per request), the time
 * from a publish to the new generation being served, and a read-only instance opened per request
 * against the per-generation handle the server keeps.
 */

/** 100k by default; BENCH_SESSIONS=<n> for a quick run of the harness (with `npm run bench -- --no-record`). */
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 100_000);
const CONNECTIONS = 32;
const DURATION_S = 10;
const PATH = '/views/tool_sessions?limit=100';
/** A smaller answer (one tool's row), near the ~21 KB of DESIGN.md's reference figures. */
const SMALL_PATH = '/views/tool_sessions?filter%5Btool_name%5D=Skill';

function wrk(url: string, headers: string[] = [], script?: string, durationS = DURATION_S): WrkResult {
  return runWrk(url, { connections: CONNECTIONS, durationS, headers, ...(script !== undefined && { script }) });
}

function row(name: string, r: WrkResult, base: WrkResult | null, note = ''): string {
  const ratio = base ? `${(r.rps / base.rps).toFixed(2)}x` : '1.00x';
  return `| ${name} | ${Math.round(r.rps).toLocaleString('en-US')} | ${r.p50.toFixed(2)} ms | ${r.p99.toFixed(2)} ms | ${r.mbPerSec.toFixed(0)} MB/s | ${ratio} | ${r.non2xx + r.errors}${note ? ` ${note}` : ''} |`;
}

/** In-process: a fresh read-only instance per request vs a query on a kept connection. */
async function openVsHandle(path: string, sql: string, n: number): Promise<{ perRequest: number[]; perGeneration: number[] }> {
  const perRequest: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const inst = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
    const conn = await inst.connect();
    await conn.run("SET temp_directory = ''");
    await conn.run('SET enable_external_access = false');
    await conn.run('SET lock_configuration = true');
    await conn.runAndReadAll(sql);
    conn.disconnectSync();
    inst.closeSync();
    perRequest.push(performance.now() - t0);
  }
  const inst = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
  const conn: DuckDBConnection = await inst.connect();
  const perGeneration: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await conn.runAndReadAll(sql);
    perGeneration.push(performance.now() - t0);
  }
  conn.disconnectSync();
  inst.closeSync();
  return { perRequest, perGeneration };
}

const bench: BenchModule = {
  name: 'reads',
  async run() {
    requireWrk('reads');
    const rig = await startReadsRig(SESSIONS, 'reads');
    const { dir, home, recall, readsUrl } = rig;
    try {
      const sample = await fetchText(`${readsUrl}${PATH}`);
      if (sample.status !== 200) throw new Error(`reads answered ${sample.status}: ${sample.text.slice(0, 200)}`);
      const small = await fetchText(`${readsUrl}${SMALL_PATH}`);
      if (small.status !== 200) throw new Error(`reads answered ${small.status}: ${small.text.slice(0, 200)}`);
      // The bare baseline, same core, same bytes.
      const bareUrl = await rig.startBare([
        { path: '/big', body: sample.text, etag: sample.etag },
        { path: '/small', body: small.text, etag: small.etag },
      ]);

      // Warm up both (JIT, the response cache).
      wrk(`${bareUrl}/big`, [], undefined, 2);
      wrk(`${readsUrl}${PATH}`, [], undefined, 2);
      wrk(`${readsUrl}${SMALL_PATH}`, [], undefined, 2);

      const bareR = wrk(`${bareUrl}/big`);
      const readsR = wrk(`${readsUrl}${PATH}`);
      const bareSmall = wrk(`${bareUrl}/small`);
      const readsSmall = wrk(`${readsUrl}${SMALL_PATH}`);
      const bare304 = wrk(`${bareUrl}/big`, [`If-None-Match: ${sample.etag}`]);
      const reads304 = wrk(`${readsUrl}${PATH}`, [`If-None-Match: ${sample.etag}`]);
      // Uncached: every request a different (generation, query) key (limit 100..9999: the same rows),
      // so a DuckDB query each time.
      const script = join(dir, 'uncached.lua');
      await writeFile(
        script,
        'counter = 0\nrequest = function()\n  counter = counter + 1\n  return wrk.format(nil, "/views/tool_sessions?limit=" .. (100 + counter % 9900))\nend\n',
      );
      const uncached = wrk(`${readsUrl}/views/tool_sessions`, [], script, 5);

      // New generation visible: from the publish (the published file's mtime) to /healthz showing it.
      const visible: number[] = [];
      for (let i = 0; i < 3; i++) {
        const before = (await fetchText(`${readsUrl}${PATH}`)).generation;
        await recall.setData({ sessions: SESSIONS, seed: 2 + i });
        let seenAt = 0;
        let polling = true;
        const poller = (async () => {
          while (polling) {
            const g = (await fetchText(`${readsUrl}${PATH}`)).generation;
            if (g > before) {
              seenAt = Date.now();
              return;
            }
            await new Promise((r) => setTimeout(r, 5));
          }
        })();
        const r = await runCli(['pull', '--home', home, '--repo-recall-url', recall.url], {}, 300_000);
        if (r.code !== 0) throw new Error(`pull failed: ${r.stderr}`);
        const publishedAt = (await stat(homePaths(home).published)).mtimeMs;
        const deadline = Date.now() + 10_000;
        while (seenAt === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 5));
        polling = false;
        await poller;
        if (seenAt === 0) throw new Error('the new generation was not served within 10 s');
        visible.push(seenAt - publishedAt);
      }

      // Per-request open vs per-generation handle, in process, on the published file.
      const sql =
        'SELECT to_json(struct_pack("tool_name" := "tool_name", "session_count" := "session_count", "session_ids" := "session_ids"))::VARCHAR AS j FROM main."tool_sessions" ORDER BY "tool_name" ASC LIMIT 100 OFFSET 0';
      const ovh = await openVsHandle(homePaths(home).published, sql, 40);
      // The least a switch to a new generation can cost: opening the new file read-only and querying it.
      const openP50 = percentile(ovh.perRequest, 50, 'fresh read-only opens');
      const visibleP50 = percentile(visible, 50, 'publishes seen by the server');

      const lines = [
        '## reads',
        '',
        `\`GET ${PATH}\` on a ${SESSIONS.toLocaleString('en-US')}-session generation (${(sample.text.length / 1024).toFixed(0)} KB of JSON), ${CONNECTIONS} connections, ${DURATION_S} s per run; servers pinned to core 0, wrk (1 thread) to core 1.`,
        '',
        '| server | req/s | p50 | p99 | transfer | vs bare | errors |',
        '|---|---|---|---|---|---|---|',
        `| **\`GET ${PATH}\`** (${(sample.text.length / 1024).toFixed(0)} KB) | | | | | | |`,
        row('bare Fastify, same bytes from memory (baseline)', bareR, null),
        row('session-lattice reads (response cache hit)', readsR, bareR),
        `| **smaller answer** \`GET ${decodeURIComponent(SMALL_PATH)}\` (${(small.text.length / 1024).toFixed(0)} KB) | | | | | | |`,
        row('bare Fastify, same bytes from memory (baseline)', bareSmall, null),
        row('session-lattice reads (response cache hit)', readsSmall, bareSmall),
        '| **304** | | | | | | |',
        row('bare Fastify, 304 on If-None-Match', bare304, bareR),
        row('session-lattice reads, 304 on If-None-Match', reads304, bareR),
        row('session-lattice reads, uncached (a DuckDB query per request)', uncached, bareR),
        '',
        `Targets: cached >= 0.5x bare (${(readsR.rps / bareR.rps).toFixed(2)}x; small answer ${(readsSmall.rps / bareSmall.rps).toFixed(2)}x) with p99 < 20 ms (${readsR.p99.toFixed(2)} ms, bare ${bareR.p99.toFixed(2)} ms; small answer ${readsSmall.p99.toFixed(2)} ms); 304 >= 0.8x bare (${(reads304.rps / bareR.rps).toFixed(2)}x of the full-body bare route, ${(reads304.rps / bare304.rps).toFixed(2)}x of a bare 304).`,
        '',
        `New generation visible (publish -> served), 3 publishes of ${SESSIONS.toLocaleString('en-US')} sessions: ${visible.map((v) => `${v.toFixed(0)} ms`).join(', ')} (target < 1000 ms); the median is ${(visibleP50 / openP50).toFixed(1)}x a fresh read-only open and query of the file (${openP50.toFixed(2)} ms, below), the least a switch costs.`,
        '',
        '| handle strategy (in process, the same query, 40 runs) | p50 | p99 |',
        '|---|---|---|',
        `| fresh read-only instance per request (create, harden, query, close) | ${percentile(ovh.perRequest, 50).toFixed(2)} ms | ${percentile(ovh.perRequest, 99).toFixed(2)} ms |`,
        `| one handle per generation (what the server keeps) | ${percentile(ovh.perGeneration, 50).toFixed(2)} ms | ${percentile(ovh.perGeneration, 99).toFixed(2)} ms |`,
        '',
        'The server keeps one read-only instance per generation, reference-counted, and a response cache per generation; an instance per request would cost the open on every uncached request.',
      ];
      return lines.join('\n');
    } finally {
      await rig.close();
    }
  },
};

export default bench;
