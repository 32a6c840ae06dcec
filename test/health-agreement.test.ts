import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthResponse } from '../src/reads/contract/api-types.js';
import type { StatusReport } from '../src/cli/status-report.js';
import { homePaths } from '../src/shared/paths.js';
import { readPullerStatus } from '../src/shared/status.js';
import type { FakeRecall } from './fake-recall/server.js';
import { eventually, runCli, startDaemon, tempHome, type Daemon, type TempHome } from './helpers/processes.js';
import { call, connect, structured } from './reads/mcp-client.js';
import { get, pull, startFake, startReads, type ReadsProcess } from './reads/fixtures.js';

/**
 * One verdict everywhere: a real puller fails tick after tick against a failing repo-recall, and
 * /healthz, `session-lattice status` and the MCP `lattice_status` tool must say the same thing,
 * in the same words, at the same moment; then it recovers, and they all say so.
 */

interface Seen {
  healthz: { status: number; body: HealthResponse };
  status: { code: number; report: StatusReport };
  mcp: HealthResponse;
}

let home: TempHome;
let fake: FakeRecall;
let reads: ReadsProcess;
let puller: Daemon | null = null;

beforeAll(async () => {
  home = await tempHome('lattice-health-agree-');
  fake = await startFake(120);
  await pull(home.dir, fake);
  reads = await startReads(home.dir);
});

afterAll(async () => {
  await puller?.stop('SIGTERM');
  await reads?.stop();
  await fake?.close();
  await home?.cleanup();
});

/**
 * The three surfaces, read while status.json stayed the same (a failing puller retries every few
 * seconds; a tick that lands between two reads would make them describe different moments).
 */
async function readAll(): Promise<Seen | undefined> {
  const before = await readPullerStatus(homePaths(home.dir).status);
  const healthz = await get(`${reads.url}/healthz`);
  const status = await runCli(['status', '--home', home.dir, '--json']);
  const client = await connect(reads.url);
  let mcp: HealthResponse;
  try {
    mcp = structured<HealthResponse>(await call(client, 'lattice_status'));
  } finally {
    await client.close();
  }
  const after = await readPullerStatus(homePaths(home.dir).status);
  if (JSON.stringify(before) !== JSON.stringify(after)) return undefined;
  return {
    healthz: { status: healthz.status, body: healthz.json as HealthResponse },
    status: { code: status.code ?? -1, report: JSON.parse(status.stdout) as StatusReport },
    mcp,
  };
}

describe('the puller fails three ticks in a row', () => {
  it('/healthz (503), status (exit 1) and MCP all say failing, with the same reasons; all say ok once it recovers', async () => {
    fake.setFault('status-500');
    puller = startDaemon(['serve-puller', '--home', home.dir, '--repo-recall-url', fake.url, '--upstream-retries', '0', '--refresh-interval-seconds', '3600']);
    await eventually(async () => ((await readPullerStatus(homePaths(home.dir).status))?.consecutive_failures ?? 0) >= 3 || undefined, 'three failed ticks');

    const seen = await eventually(readAll, 'the three surfaces read between two ticks');
    expect(seen.healthz.status).toBe(503);
    expect(seen.healthz.body.status).toBe('failing');
    expect(seen.status.code).toBe(1);
    expect(seen.status.report.health).toBe('failing');
    expect(seen.mcp.status).toBe('failing');

    const reasons = seen.healthz.body.reasons;
    expect(reasons[0]).toMatch(/^the puller's last \d+ ticks failed: .*500/);
    expect(Number(/last (\d+) ticks/.exec(reasons[0]!)?.[1])).toBeGreaterThanOrEqual(3);
    expect(seen.status.report.reasons).toEqual(reasons);
    expect(seen.status.report.problems).toEqual([reasons[0]]);
    expect(seen.mcp.reasons).toEqual(reasons);
    // Still serving the last good generation while failing.
    expect(seen.healthz.body.generation).toBe(1);
    expect((await get(`${reads.url}/views/tool_sessions?limit=1`)).status).toBe(200);

    // Once repo-recall answers again, the next tick recovers and all three say ok. (One test: the
    // set-up kills what a test leaves running, and this is the same puller.)
    fake.setFault(null);
    await eventually(async () => ((await readPullerStatus(homePaths(home.dir).status))?.consecutive_failures === 0 ? true : undefined), 'a successful tick');
    const recovered = await eventually(readAll, 'the three surfaces read between two ticks');
    expect(recovered.healthz).toMatchObject({ status: 200, body: { status: 'ok', reasons: [] } });
    expect(recovered.status).toMatchObject({ code: 0, report: { health: 'ok', reasons: [] } });
    expect(recovered.mcp).toMatchObject({ status: 'ok', reasons: [] });
  });
});
