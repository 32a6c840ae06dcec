import { DuckDBInstance } from '@duckdb/node-api';
import type { FastifyInstance } from 'fastify';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorResponse, HealthResponse, ViewListResponse, ViewRowsResponse } from '../../src/reads/contract/api-types.js';
import { NoSnapshotError } from '../../src/reads/contract/errors.js';
import type { GenerationSource, SwitchListener } from '../../src/reads/data/generation-source.js';
import { Generation, generationInstanceOptions } from '../../src/reads/data/generation.js';
import type { PullerState, PullerStateSource } from '../../src/reads/data/puller-state.js';
import { publishedFileId } from '../../src/reads/data/published-file.js';
import { QueryLimiter } from '../../src/reads/data/query-limiter.js';
import { ReadsService } from '../../src/reads/data/service.js';
import { EventHub } from '../../src/reads/events/hub.js';
import { buildApp } from '../../src/reads/http/app.js';
import { DEFAULTS } from '../../src/shared/config.js';
import { homePaths } from '../../src/shared/paths.js';
import { META_DDL } from '../../src/shared/snapshot.js';

/**
 * The HTTP routes through Fastify's inject(), over a fake generation source serving one
 * generation of a small read-only file built here: no build, no child process, no port.
 */

const TOOLS = [
  ['Bash', 3, [1, 2, 3]],
  ['Edit', 1, [2]],
  ['Grep', 2, [1, 3]],
  ['Read', 3, [1, 2, 3]],
  ['Write', 1, [3]],
] as const;

/** Writes a published file with one view, `tool_sessions`, as the puller would lay it out. */
async function writeSnapshot(path: string): Promise<void> {
  const instance = await DuckDBInstance.create(path);
  const conn = await instance.connect();
  try {
    for (const ddl of META_DDL) await conn.run(ddl);
    await conn.run(`INSERT INTO lattice.meta (generation, published_at, schema_version, scan_version, base_version, session_count, rejected_rows, timezone)
                    VALUES (1, now(), 1, 7, 1, 3, 0, 'UTC')`);
    await conn.run(`INSERT INTO lattice.views (name, description, refresh_interval_seconds, key_columns, materialized_at, row_count, watermark, scan_version, stale)
                    VALUES ('tool_sessions', 'sessions by tool', 0, ['tool_name'], now(), ${TOOLS.length}, 1, 7, false)`);
    await conn.run('CREATE TABLE main.tool_sessions (tool_name VARCHAR NOT NULL, session_count BIGINT NOT NULL, session_ids BIGINT[] NOT NULL)');
    for (const [name, count, ids] of TOOLS) await conn.run(`INSERT INTO main.tool_sessions VALUES ('${name}', ${count}, [${ids.join(', ')}])`);
    await conn.run('CHECKPOINT');
  } finally {
    conn.disconnectSync();
    instance.closeSync();
  }
}

/** A GenerationSource serving one generation (or none). */
class OneGeneration implements GenerationSource {
  readonly openError = null;
  constructor(private readonly current: Generation | null) {}
  acquire(): Generation {
    if (!this.current) throw new NoSnapshotError('/home/session-lattice.duckdb');
    this.current.retain();
    return this.current;
  }
  peek(): Generation | null {
    return this.current;
  }
  onSwitch(_listener: SwitchListener): void {}
  async catchUp(): Promise<void> {}
}

/** No puller has run on this home. */
const NO_PULLER: PullerState = { status: null, statusError: null, disk: null };
const noPuller: PullerStateSource = { last: () => NO_PULLER, read: async () => NO_PULLER };

let dir: string;
let generation: Generation;
const apps: FastifyInstance[] = [];

function appOver(generations: GenerationSource): FastifyInstance {
  const logger = pino({ level: 'silent' });
  const service = new ReadsService({ generations, puller: noPuller, config: DEFAULTS });
  const app = buildApp({
    service,
    generations,
    limiter: new QueryLimiter(2),
    logger,
    home: dir,
    limits: { requestTimeoutMs: 10_000, maxConnections: 16 },
    queryRunner: { run: () => Promise.reject(new Error('no query workers in the unit tier')) },
    uiDir: join(dir, 'no-ui'),
    // Not started: nothing here reads the event log.
    events: new EventHub({ paths: homePaths(dir), logger, maxSubscribers: 1, heartbeatMs: 60_000 }),
  });
  apps.push(app);
  return app;
}

let app: FastifyInstance;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lattice-routes-'));
  const path = join(dir, 'session-lattice.duckdb');
  await writeSnapshot(path);
  generation = await Generation.open(
    path,
    await publishedFileId(path),
    new QueryLimiter(2),
    generationInstanceOptions({ memoryLimitBytes: 256 * 1024 * 1024, threads: 1 }),
  );
  app = appOver(new OneGeneration(generation));
});

afterAll(async () => {
  for (const a of apps) await a.close();
  await generation?.retire();
  await rm(dir, { recursive: true, force: true });
});

async function get(url: string, headers: Record<string, string> = {}) {
  return app.inject({ method: 'GET', url, headers });
}

function rowsOf(body: ViewRowsResponse): unknown[] {
  return body.rows.map((r) => (r as { tool_name: string }).tool_name);
}

describe('the HTTP routes over a generation source', () => {
  it('GET /views lists the catalog with its freshness and an ETag that answers 304', async () => {
    const res = await get('/views');
    expect(res.statusCode).toBe(200);
    const body = res.json<ViewListResponse>();
    expect(body.freshness.generation).toBe(1);
    expect(body.views.map((v) => v.name)).toEqual(['tool_sessions']);
    expect(body.views[0]!.columns.map((c) => c.name)).toEqual(['tool_name', 'session_count', 'session_ids']);
    const again = await get('/views', { 'if-none-match': String(res.headers.etag) });
    expect(again.statusCode).toBe(304);
  });

  it('GET /views/:name answers rows in key order, with the total', async () => {
    const res = await get('/views/tool_sessions');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.json<ViewRowsResponse>();
    expect(rowsOf(body)).toEqual(['Bash', 'Edit', 'Grep', 'Read', 'Write']);
    expect(body.total).toBe(5);
    expect(body.rows[0]).toEqual({ tool_name: 'Bash', session_count: 3, session_ids: [1, 2, 3] });
  });

  it('filters: an operator, and "the list contains" on a list column', async () => {
    const gte = (await get('/views/tool_sessions?filter[session_count][gte]=2&order_by=-session_count')).json<ViewRowsResponse>();
    expect(rowsOf(gte)).toEqual(['Bash', 'Read', 'Grep']);
    expect(gte.total).toBe(3);
    const contains = (await get('/views/tool_sessions?filter[session_ids]=2')).json<ViewRowsResponse>();
    expect(rowsOf(contains)).toEqual(['Bash', 'Edit', 'Read']);
  });

  it('pages with the cursor until next is null', async () => {
    const seen: unknown[] = [];
    let url: string | null = '/views/tool_sessions?limit=2';
    let pages = 0;
    while (url !== null) {
      const res = await get(url);
      expect(res.statusCode).toBe(200);
      const body: ViewRowsResponse = res.json<ViewRowsResponse>();
      seen.push(...rowsOf(body));
      url = body.next_url;
      if (body.next !== null) expect(url).toContain('after=');
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(['Bash', 'Edit', 'Grep', 'Read', 'Write']);
  });

  it('a bad parameter is a 400 and an unknown view a 404, each with a JSON error body', async () => {
    const bad = await get('/views/tool_sessions?limit=lots');
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toMatch(/^application\/json/);
    expect(bad.json<ErrorResponse>().error).toMatchObject({ code: 'bad_parameter', parameter: 'limit' });
    const unknown = await get('/views/no_such_view');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json<ErrorResponse>().error.code).toBe('unknown_view');
    expect(unknown.json<ErrorResponse>().error.message).toMatch(/tool_sessions/);
  });

  it('GET /healthz gives the verdict for the generation served', async () => {
    const res = await get('/healthz');
    expect(res.statusCode).toBe(200);
    const body = res.json<HealthResponse>();
    expect(body).toMatchObject({ status: 'degraded', generation: 1, scan_version: 7, session_count: 3, puller: null });
    expect(body.reasons).toEqual([expect.stringMatching(/^no puller has run on this home/)]);
  });

  it('GET /openapi.json documents the routes', async () => {
    const res = await get('/openapi.json');
    expect(res.statusCode).toBe(200);
    const doc = res.json<{ openapi: string; paths: Record<string, unknown> }>();
    expect(doc.openapi).toMatch(/^3\.1/);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/healthz', '/views', '/views/{name}']));
  });

  it('an unknown route is a 404 with a JSON body naming the routes', async () => {
    const res = await get('/nowhere');
    expect(res.statusCode).toBe(404);
    expect(res.json<ErrorResponse>().error).toMatchObject({ code: 'not_found', message: expect.stringMatching(/routes: \/healthz/) });
  });

  it("before the first generation: 503 no_snapshot, with the puller's side of it", async () => {
    const empty = appOver(new OneGeneration(null));
    const res = await empty.inject({ method: 'GET', url: '/views/tool_sessions' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json<ErrorResponse>().error).toMatchObject({
      code: 'no_snapshot',
      message: expect.stringMatching(/^no snapshot yet: .*; no puller has run on this home/),
    });
  });
});
