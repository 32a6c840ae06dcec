import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { startFakeRecall, type FakeRecall } from '../test/fake-recall/server.js';
import { runCli, startDaemon } from '../test/helpers/processes.js';

/**
 * What the read benchmarks share: a home pulled from the fake repo-recall, a `serve-reads` pinned
 * to core 0, and a bare Fastify baseline on the same core serving given bytes from memory.
 */

export interface ReadsRig {
  dir: string;
  home: string;
  recall: FakeRecall;
  readsUrl: string;
  /** Serves each path's bytes (and ETag) from a bare Fastify; returns its URL. */
  startBare(routes: Array<{ path: string; body: string; etag: string }>): Promise<string>;
  close(): Promise<void>;
}

export async function fetchText(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; etag: string; generation: number }> {
  const res = await request(url, { headers });
  const text = await res.body.text();
  return { status: res.statusCode, text, etag: String(res.headers.etag ?? ''), generation: Number(res.headers['x-lattice-generation'] ?? 0) };
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
    const reads = startDaemon(['serve-reads', '--home', home, '--port', '0', '--log-level', 'info'], {}, ['taskset', '-c', '0']);
    cleanups.push(() => reads.stop());
    await reads.waitFor((d) => d.logLines().some((l) => l.msg === 'listening'), 'reads listening');
    const readsUrl = reads.logLines().find((l) => l.msg === 'listening')!.url as string;
    let bares = 0;
    return {
      dir,
      home,
      recall,
      readsUrl,
      async startBare(routes) {
        const files = await Promise.all(
          routes.map(async (r, i) => {
            const file = join(dir, `bare-${bares}-${i}.body`);
            await writeFile(file, r.body);
            return { path: r.path, file, etag: r.etag };
          }),
        );
        const routesFile = join(dir, `bare-${bares++}.json`);
        await writeFile(routesFile, JSON.stringify(files));
        const bare = spawn('taskset', ['-c', '0', process.execPath, resolve(import.meta.dirname, 'bare-server.js'), routesFile], { stdio: ['ignore', 'pipe', 'inherit'] });
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
