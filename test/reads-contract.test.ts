import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { FakeRecall } from './fake-recall/server.js';
import { eventually, tempHome, type TempHome } from './helpers/processes.js';
import { homePaths } from '../src/shared/paths.js';
import type { ErrorResponse, HealthResponse } from '../src/reads/contract/api-types.js';
import { get, pull, startFake, startReads, type ReadsProcess } from './reads/fixtures.js';

/**
 * Where the daemons meet, the reads side validates what it reads (zod schemas of the contract):
 * a status.json or a published snapshot that does not match is reported in words (healthz
 * reasons, 503 answers), and the server keeps running and recovers when a good file appears.
 */

let source: TempHome;
let fake: FakeRecall;

beforeAll(async () => {
  source = await tempHome('lattice-contract-src-');
  fake = await startFake(50);
  await pull(source.dir, fake);
});

afterAll(async () => {
  await fake?.close();
  await source?.cleanup();
});

async function health(reads: ReadsProcess): Promise<{ status: number; body: HealthResponse }> {
  const res = await get(`${reads.url}/healthz`);
  return { status: res.status, body: res.json as HealthResponse };
}

describe('a status.json that does not match the contract', () => {
  let home: TempHome;
  let reads: ReadsProcess;
  afterAll(async () => {
    await reads?.stop();
    await home?.cleanup();
  });

  it('degrades /healthz with the reason, for wrong types and for text that is not JSON', async () => {
    home = await tempHome('lattice-contract-status-');
    await copyFile(homePaths(source.dir).published, homePaths(home.dir).published);
    const statusPath = homePaths(home.dir).status;
    await mkdir(join(statusPath, '..'), { recursive: true });
    await writeFile(statusPath, JSON.stringify({ pid: 'twelve', state: 'running' }));
    reads = await startReads(home.dir);
    const typed = await health(reads);
    expect(typed.status).toBe(200);
    expect(typed.body.status).toBe('degraded');
    expect(typed.body.reasons.join('\n')).toMatch(/the puller's status cannot be read: .*status\.json is not a puller status document: .*pid/);
    expect(typed.body.puller).toBeNull();

    await writeFile(statusPath, '{"pid": 12, "state": ');
    const garbled = await health(reads);
    expect(garbled.body.status).toBe('degraded');
    expect(garbled.body.reasons.join('\n')).toMatch(/the puller's status cannot be read: .*JSON/);
    // The rows are still served.
    expect((await get(`${reads.url}/views/tool_sessions?limit=1`)).status).toBe(200);
    expect(reads.daemon.running).toBe(true);
  });
});

describe('a published snapshot whose lattice tables do not match', () => {
  let home: TempHome;
  let reads: ReadsProcess;
  afterAll(async () => {
    await reads?.stop();
    await home?.cleanup();
  });

  it('is reported as unavailable, naming the table and field, and a good file is served when it comes', async () => {
    home = await tempHome('lattice-contract-meta-');
    const bad = join(home.dir, 'bad.duckdb');
    await copyFile(homePaths(source.dir).published, bad);
    const db = await DuckDBInstance.create(bad);
    const conn = await db.connect();
    await conn.run('ALTER TABLE lattice.meta ALTER schema_version TYPE VARCHAR');
    await conn.run("UPDATE lattice.meta SET schema_version = 'two'");
    await conn.run('CHECKPOINT');
    conn.disconnectSync();
    db.closeSync();
    await copyFile(bad, homePaths(home.dir).published);

    reads = await startReads(home.dir);
    const failing = await health(reads);
    expect(failing.status).toBe(503);
    expect(failing.body.status).toBe('failing');
    expect(failing.body.reasons.join('\n')).toMatch(/cannot be opened: lattice\.meta does not match this version's snapshot format: .*schema_version/);
    const rows = await get(`${reads.url}/views/tool_sessions`);
    expect(rows.status).toBe(503);
    expect((rows.json as ErrorResponse).error.code).toBe('snapshot_unavailable');
    expect(reads.daemon.running).toBe(true);

    await copyFile(homePaths(source.dir).published, `${homePaths(home.dir).published}.tmp`);
    const { rename } = await import('node:fs/promises');
    await rename(`${homePaths(home.dir).published}.tmp`, homePaths(home.dir).published);
    await eventually(async () => ((await health(reads)).body.generation === 1 ? true : undefined), 'the good file served');
    expect((await get(`${reads.url}/views/tool_sessions?limit=1`)).status).toBe(200);
  });
});
