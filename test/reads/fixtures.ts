import { Agent, request } from 'undici';
import { homePaths } from '../../src/shared/paths.js';
import { startFakeRecall, type FakeRecall } from '../fake-recall/server.js';
import { pino } from 'pino';
import { DEFAULTS } from '../../src/shared/config.js';
import { startReadsServer, type ReadsServer } from '../../src/reads/http/server.js';
import { runCli, startDaemon, tempHome, trackExtraPid, type Daemon, type TempHome } from '../helpers/processes.js';
import { queryFile } from '../helpers/snapshot.js';

/** Shared set-up of the reads tests: a fake upstream, `pull` into a home, a `serve-reads` process. */

export async function pull(home: string, fake: FakeRecall, extraArgs: string[] = []): Promise<void> {
  const r = await runCli(['pull', '--home', home, '--repo-recall-url', fake.url, ...extraArgs]);
  if (r.code !== 0) throw new Error(`pull failed (${r.code}): ${r.stderr}`);
}

/** Points the fake at `sessions` sessions (a new scan_version) and publishes a generation. */
export async function publish(home: string, fake: FakeRecall, sessions: number, seed = 1): Promise<void> {
  await fake.setData({ sessions, seed });
  await pull(home, fake);
}

export async function startFake(sessions = 300): Promise<FakeRecall> {
  return startFakeRecall({ sessions, seed: 1 });
}

export interface PulledServer {
  home: TempHome;
  fake: FakeRecall;
  /** An in-process reads server (real HTTP on 127.0.0.1) over the pulled home. */
  server: ReadsServer;
  close(): Promise<void>;
}

/** A temp home pulled from a fake repo-recall of `sessions` sessions, served by an in-process reads server. */
export async function startPulledServer(prefix: string, sessions: number): Promise<PulledServer> {
  const home = await tempHome(prefix);
  const fake = await startFake(sessions);
  await pull(home.dir, fake);
  const server = await startReadsServer({ config: { ...DEFAULTS, home: home.dir, port: 0 }, logger: pino({ level: 'silent' }) });
  return {
    home,
    fake,
    server,
    async close() {
      await server.close();
      await fake.close();
      await home.cleanup();
    },
  };
}

export interface ReadsProcess {
  daemon: Daemon;
  url: string;
  /** The node process (not a wrapper such as strace). */
  pid: number;
  stop(): Promise<void>;
}

/** Starts `serve-reads` on an ephemeral port and waits for its `listening` line. */
export async function startReads(home: string, wrapper: string[] = [], extraArgs: string[] = []): Promise<ReadsProcess> {
  const daemon = startDaemon(['serve-reads', '--home', home, '--port', '0', ...extraArgs], {}, wrapper);
  await daemon.waitFor((d) => d.logLines().some((l) => l.msg === 'listening'), 'the listening line');
  const line = daemon.logLines().find((l) => l.msg === 'listening')!;
  const pid = line.pid as number;
  // Under a wrapper (strace) the node process is not our child: kill it too if the test fails.
  if (pid !== daemon.pid) trackExtraPid(daemon.child, pid);
  return {
    daemon,
    url: line.url as string,
    pid,
    async stop() {
      if (!daemon.running) return;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
      // The daemon exits by itself at its own stop deadline (src/cli/signals.ts); this is only for a
      // process so wedged that even that timer cannot run.
      const timer = setTimeout(() => {
        for (const p of [pid, daemon.pid]) {
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }, 60_000);
      await daemon.exited;
      clearTimeout(timer);
    },
  };
}

export const agent = new Agent({ connections: 16, pipelining: 0 });

export interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

export async function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Got> {
  const res = await request(url, { method: method as 'GET', headers, dispatcher: agent });
  const text = await res.body.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

/** The rows GET /views/tool_sessions?limit=100 should answer for the file now published, as JSON text. */
export async function expectedToolRows(home: string, limit = 100): Promise<{ generation: number; rows: string; total: number }> {
  const path = homePaths(home).published;
  // One open, so the three answers come from the same file.
  const [row] = await queryFile<{ generation: number; n: number; rows: string }>(
    path,
    `SELECT (SELECT generation FROM lattice.meta)::DOUBLE AS generation,
            (SELECT count(*) FROM main.tool_sessions)::DOUBLE AS n,
            (SELECT to_json(coalesce(list(t ORDER BY tool_name), []))::VARCHAR
               FROM (SELECT * FROM main.tool_sessions ORDER BY tool_name LIMIT ${limit}) t) AS rows`,
  );
  return { generation: row!.generation, rows: JSON.stringify(JSON.parse(row!.rows)), total: row!.n };
}
