import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ViewRowsResponse } from '../src/reads/contract/api-types.js';
import type { BenchModule } from './run.js';
import { fetchText, startReadsRig } from './reads-rig.js';
import { requireWrk, runWrk, type WrkResult } from './wrk.js';

/**
 * Read API benchmark (issue 13): a column selection and a range-filtered page, on a 100k-session
 * generation, cached (the same URL: the response cache) and uncached (every request a new query
 * key, so planned and run in DuckDB each time), against a bare Fastify route serving the same
 * bytes in the same run. Servers pinned to core 0, wrk to core 1.
 */

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 100_000);
const CONNECTIONS = 32;
const DURATION_S = 10;

function row(name: string, r: WrkResult, base: WrkResult | null): string {
  const ratio = base ? `${(r.rps / base.rps).toFixed(2)}x` : '1.00x';
  return `| ${name} | ${Math.round(r.rps).toLocaleString('en-US')} | ${r.p50.toFixed(2)} ms | ${r.p99.toFixed(2)} ms | ${ratio} | ${r.non2xx + r.errors} |`;
}

/** A wrk script that sends `path` with `&limit=` counting up: the same rows, a new cache key each time. */
async function varyingLimit(dir: string, name: string, path: string, from: number): Promise<string> {
  const file = join(dir, `${name}.lua`);
  await writeFile(
    file,
    `counter = 0\nrequest = function()\n  counter = counter + 1\n  return wrk.format(nil, "${path}&limit=" .. (${from} + counter % 9000))\nend\n`,
  );
  return file;
}

const bench: BenchModule = {
  name: 'read-api',
  async run() {
    requireWrk('read-api');
    const rig = await startReadsRig(SESSIONS, 'read-api');
    try {
      const { readsUrl, dir } = rig;
      const last = (await fetchText(`${readsUrl}/views/usage_daily?order_by=-day&limit=1&columns=day`)).text;
      const lastDay = (JSON.parse(last) as ViewRowsResponse).rows[0]!.day as string;
      const from = new Date(Date.parse(`${lastDay}T00:00:00Z`) - 30 * 86_400_000).toISOString().slice(0, 10);
      // The same server with the access log off, to show what the log costs.
      const quietUrl = await rig.startReads(['--log-level', 'warn']);
      const queries = [
        { name: 'columns', base: '/views/tool_sessions?columns=tool_name,session_count', limit: 100 },
        { name: 'range', base: `/views/usage_daily?filter%5Bday%5D%5Bgte%5D=${from}&filter%5Bday%5D%5Blt%5D=${lastDay}&order_by=-day`, limit: 31 },
      ];
      const lines = [
        '## read-api',
        '',
        `A column selection and a 30-day range page on a ${SESSIONS.toLocaleString('en-US')}-session generation. Cached: the same URL, ${CONNECTIONS} connections, ${DURATION_S} s. Uncached: every request a new query key (\`limit\` counting up past the rows there are: the same rows), planned and run in DuckDB each time; at 1 connection for latency and at ${CONNECTIONS} for throughput. Servers pinned to core 0, wrk (1 thread) to core 1; the reads server logs at \`info\` (one access-log line per request).`,
        '',
        '| query / server | req/s | p50 | p99 | vs bare | errors |',
        '|---|---|---|---|---|---|',
      ];
      const verdicts: string[] = [];
      for (const q of queries) {
        const url = `${q.base}&limit=${q.limit}`;
        const sample = await fetchText(`${readsUrl}${url}`);
        if (sample.status !== 200) throw new Error(`reads answered ${sample.status} to ${url}: ${sample.text.slice(0, 200)}`);
        const rows = (JSON.parse(sample.text) as ViewRowsResponse).rows.length;
        if (rows === 0) throw new Error(`${url} answered no rows: the benchmark would measure nothing`);
        // The same response: the body and the headers the read server sent (freshness, request id, timing...).
        const bareUrl = await rig.startBare([{ path: '/q', body: sample.text, etag: sample.etag, headers: sample.headers }]);
        runWrk(`${bareUrl}/q`, { connections: CONNECTIONS, durationS: 2 });
        runWrk(`${readsUrl}${url}`, { connections: CONNECTIONS, durationS: 2 });
        const bare = runWrk(`${bareUrl}/q`, { connections: CONNECTIONS, durationS: DURATION_S });
        const cached = runWrk(`${readsUrl}${url}`, { connections: CONNECTIONS, durationS: DURATION_S });
        runWrk(`${quietUrl}${url}`, { connections: CONNECTIONS, durationS: 2 });
        const quiet = runWrk(`${quietUrl}${url}`, { connections: CONNECTIONS, durationS: DURATION_S });
        const script = await varyingLimit(dir, q.name, q.base, q.limit);
        const uncached1 = runWrk(`${readsUrl}${q.base}`, { connections: 1, durationS: 5, script });
        const uncachedN = runWrk(`${readsUrl}${q.base}`, { connections: CONNECTIONS, durationS: 5, script });
        for (const r of [bare, cached, quiet, uncached1, uncachedN]) if (r.requests === 0) throw new Error(`no request completed for ${url}`);
        const kb = sample.text.length / 1024;
        lines.push(
          `| **\`GET ${decodeURIComponent(url)}\`** (${rows} rows, ${kb.toFixed(1)} KB) | | | | | |`,
          row('bare Fastify, the same body and headers from memory (baseline)', bare, null),
          row('session-lattice, cached', cached, bare),
          row('session-lattice, cached, `--log-level warn` (no access log)', quiet, bare),
          row('session-lattice, uncached, 1 connection', uncached1, bare),
          row(`session-lattice, uncached, ${CONNECTIONS} connections`, uncachedN, bare),
        );
        verdicts.push(
          `${q.name}: cached ${(cached.rps / bare.rps).toFixed(2)}x bare (${(quiet.rps / bare.rps).toFixed(2)}x without the access log; target >= 0.8x for answers under 16 KB; this one ${kb.toFixed(1)} KB), uncached p50 ${uncached1.p50.toFixed(2)} ms (target < 10 ms)`,
        );
      }
      lines.push('', `Targets: ${verdicts.join('; ')}.`);
      return lines.join('\n');
    } finally {
      await rig.close();
    }
  },
};

export default bench;
