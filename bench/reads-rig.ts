import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { startFakeRecall, type FakeRecall } from '../test/fake-recall/server.js';
import { freePort, runCli, startDaemon } from '../test/helpers/processes.js';

/**
 * What the read benchmarks share: a home pulled from the fake repo-recall, a `serve-reads` pinned
 * to core 0, and a bare Fastify baseline on the same core serving given bytes from memory.
 */

export interface ReadsRig {
  dir: string;
  home: string;
  recall: FakeRecall;
  readsUrl: string;
  /** Another `serve-reads` on the same home, pinned to core 0 (e.g. at another log level); returns its URL. */
  startReads(extraArgs: string[]): Promise<string>;
  /** Serves each path's bytes (and ETag, and `headers` when given) from a bare Fastify; returns its URL. */
  startBare(routes: Array<{ path: string; body: string; etag: string; headers?: Record<string, string> }>): Promise<string>;
  close(): Promise<void>;
}

export interface Fetched {
  status: number;
  text: string;
  etag: string;
  generation: number;
  /** The response's headers but those of the connection and the framing (Date, Content-Length...). */
  headers: Record<string, string>;
}

const PER_CONNECTION = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);

export async function fetchText(url: string, headers: Record<string, string> = {}): Promise<Fetched> {
  const res = await request(url, { headers });
  const text = await res.body.text();
  const own = Object.fromEntries(Object.entries(res.headers).filter(([k, v]) => !PER_CONNECTION.has(k) && typeof v === 'string') as Array<[string, string]>);
  return { status: res.statusCode, text, etag: String(res.headers.etag ?? ''), generation: Number(res.headers['x-lattice-generation'] ?? 0), headers: own };
}

/** Whether a /healthz body says a generation is served (a 503 does too, when the data is stale). */
function servesAGeneration(body: string): boolean {
  try {
    return typeof (JSON.parse(body) as { generation?: unknown }).generation === 'number';
  } catch {
    return false;
  }
}

export async function startReadsRig(sessions: number, name: string): Promise<ReadsRig> {
  const dir = await mkdtemp(join(tmpdir(), `lattice-bench-${name}-`));
  const home = join(dir, 'home');
  const recall = await startFakeRecall({ sessions: 10, dataDir: join(dir, 'recall') });
  const cleanups: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await recall.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await recall.setData({ sessions, seed: 1 });
    const pulled = await runCli(['pull', '--home', home, '--repo-recall-url', recall.url], {}, 300_000);
    if (pulled.code !== 0) throw new Error(`pull failed: ${pulled.stderr}`);
    const startReads = async (extraArgs: string[]): Promise<string> => {
      // A free port chosen here: at --log-level warn there is no `listening` line to read it from.
      const port = await freePort();
      const reads = startDaemon(['serve-reads', '--home', home, '--port', String(port), ...extraArgs], {}, ['taskset', '-c', '0']);
      cleanups.push(() => reads.stop());
      const url = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 60_000;
      for (;;) {
        // Serving, whatever the verdict: stale data (the bench's home is not refreshed) answers 503 `failing`.
        const ok = await fetchText(`${url}/healthz`).then(
          (r) => r.status === 200 || (r.status === 503 && servesAGeneration(r.text)),
          () => false,
        );
        if (ok) return url;
        if (!reads.running || Date.now() > deadline) throw new Error(`serve-reads ${extraArgs.join(' ')} did not answer on ${url}\n${reads.stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const readsUrl = await startReads(['--log-level', 'info']);
    let bares = 0;
    return {
      dir,
      home,
      recall,
      readsUrl,
      startReads,
      async startBare(routes) {
        const files = await Promise.all(
          routes.map(async (r, i) => {
            const file = join(dir, `bare-${bares}-${i}.body`);
            await writeFile(file, r.body);
            return { path: r.path, file, etag: r.etag, headers: r.headers };
          }),
        );
        const routesFile = join(dir, `bare-${bares++}.json`);
        await writeFile(routesFile, JSON.stringify(files));
        const bare = spawn('taskset', ['-c', '0', process.execPath, resolve(import.meta.dirname, 'bare-server.js'), routesFile], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        cleanups.push(async () => {
          bare.kill('SIGTERM');
          await once(bare, 'exit');
        });
        const [first] = (await once(bare.stdout, 'data')) as [Buffer];
        return (JSON.parse(first.toString().split('\n')[0]!) as { url: string }).url;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
