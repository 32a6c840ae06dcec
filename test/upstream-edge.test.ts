import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HealthResponse } from '../src/reads/contract/api-types.js';
import { homePaths } from '../src/shared/paths.js';
import { readPullerStatus } from '../src/shared/status.js';
import { describeMessiness } from './fake-recall/generate.js';
import { startFakeRecall, type FakeRecall } from './fake-recall/server.js';
import { eventually, runCli, startDaemon, tempHome, type Daemon, type TempHome } from './helpers/processes.js';
import { publishedGenerationOf, queryFile, sha256 } from './helpers/snapshot.js';
import { get, startReads, type ReadsProcess } from './reads/fixtures.js';

/**
 * The upstream edge of the puller (issue 11, items 2-6), with the built CLI against the fake
 * repo-recall: a drip-feed and a slow body end the pull, an endless error body costs a few KB, a
 * 429/503 is retried after its Retry-After, an ETag that is not one is not echoed, an identical
 * payload publishes nothing, a 304 with nothing loaded fails, and the shrink guard holds back what
 * would wipe the readers' data until it repeats.
 */

let recall: FakeRecall;
let home: TempHome;
const daemons: Daemon[] = [];
const readers: ReadsProcess[] = [];
const VALID = describeMessiness({ sessions: 200, seed: 11 }).validRows;

beforeEach(async () => {
  recall = await startFakeRecall({ sessions: 200, seed: 11 });
  home = await tempHome('lattice-upstream-');
});

afterEach(async () => {
  await Promise.all(readers.splice(0).map((r) => r.stop()));
  await Promise.all(daemons.splice(0).map((d) => d.stop('SIGKILL')));
  await recall.close();
  await home.cleanup();
});

const paths = () => homePaths(home.dir);
const pullArgs = (...extra: string[]) => ['pull', '--home', home.dir, '--repo-recall-url', recall.url, ...extra];

async function pullOk(...extra: string[]): Promise<string> {
  const r = await runCli(pullArgs(...extra));
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

/** `pull --json`: the outcome document and the JSON log lines. */
async function pullJson(...extra: string[]) {
  const r = await runCli(pullArgs('--json', ...extra));
  const doc = JSON.parse(r.stdout) as Record<string, unknown>;
  const lines = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code: r.code, doc, lines, stderr: r.stderr };
}

const readStatus = () => readPullerStatus(paths().status);

const sessionRequests = () => recall.requests.filter((r) => r.path === '/api/sessions');

/** Peak RSS of a command in KiB, measured by /usr/bin/time around it (GNU -v on Linux, BSD -l on macOS). */
async function peakRssKiB(args: string[]): Promise<{ kib: number; code: number | null; stderr: string }> {
  if (!existsSync('/usr/bin/time')) throw new Error('this test measures peak RSS with /usr/bin/time: install it (apt-get install time)');
  const mac = process.platform === 'darwin';
  const d = startDaemon(args, {}, ['/usr/bin/time', mac ? '-l' : '-v']);
  daemons.push(d);
  const { code } = await d.exited;
  const m = mac ? /(\d+)\s+maximum resident set size/.exec(d.stderr) : /Maximum resident set size \(kbytes\): (\d+)/.exec(d.stderr);
  if (!m) throw new Error(`no peak RSS in the output of /usr/bin/time:\n${d.stderr}`);
  return { kib: mac ? Number(m[1]) / 1024 : Number(m[1]), code, stderr: d.stderr };
}

describe('deadline and pace (item 2)', () => {
  it('fails a drip-fed pull at the upstream deadline, naming the setting, and publishes nothing', async () => {
    await pullOk();
    const before = await sha256(paths().published);
    await recall.setData({ sessions: 220, seed: 11 });
    recall.setFault('drip');
    const r = await pullJson('--upstream-deadline-seconds', '3');
    expect(r.code).toBe(1);
    expect(r.doc.outcome).toBe('failed');
    expect(r.doc.error).toMatch(
      /^repo-recall at http:\/\/127\.0\.0\.1:\d+ did not finish sending the sessions within the 3 s deadline \(\d+ bytes of the body received on attempt 1\); nothing was published\. If a payload this large really takes longer, raise SESSION_LATTICE_UPSTREAM_DEADLINE_SECONDS \(--upstream-deadline-seconds\)$/,
    );
    expect(r.lines.find((l) => l.msg === 'tick')).toMatchObject({ tick: 'failed', error_class: 'timeout' });
    expect(await sha256(paths().published)).toBe(before);
    expect(await readStatus()).toMatchObject({ last_tick_outcome: 'failed', last_error: r.doc.error, generation: 1 });
  });

  it('fails a body that keeps coming but brings less than 64 KiB per upstream-timeout span, long before the deadline', async () => {
    await recall.setData({ sessions: 2000, seed: 11 });
    // 640 bytes a second: never idle for the 1 s timeout, far too slow for 64 KiB in it.
    recall.setFault('slow', { slowChunkBytes: 64, slowIntervalMs: 100 });
    const r = await pullJson('--upstream-timeout-seconds', '1');
    expect(r.code).toBe(1);
    expect(r.doc.error).toMatch(
      /^repo-recall at http:\/\/127\.0\.0\.1:\d+ is sending the sessions too slowly: \d+ bytes in the last 1 s, less than the 64 KiB required in every 1 s \(the span SESSION_LATTICE_UPSTREAM_TIMEOUT_SECONDS \(--upstream-timeout-seconds\) sets\); nothing was published$/,
    );
    expect(r.lines.find((l) => l.msg === 'tick')).toMatchObject({ tick: 'failed', error_class: 'timeout' });
    expect(existsSync(paths().published)).toBe(false);
  });
});

describe('error bodies (item 3)', () => {
  it('reads only the first line of an endless 500 body: pull fails with it and stays under 200 MB', async () => {
    recall.setFault('endless-error');
    const { kib, code, stderr } = await peakRssKiB(pullArgs('--upstream-retries', '1'));
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /error\[upstream\]: pull failed: repo-recall answered 500 for GET \/api\/sessions: Internal Server Error: the scanner crashed and is dumping its state\n/,
    );
    // A Node process with DuckDB loaded: a reading of a few MB would mean the measurement failed.
    expect(kib).toBeGreaterThan(20 * 1024);
    expect(kib).toBeLessThan(200 * 1024);
    expect(sessionRequests()).toHaveLength(2);
  });
});

describe('retries after Retry-After', () => {
  it('retries a 429 after the Retry-After it sent, then loads the payload', async () => {
    recall.setFault('status-429', { times: 1, retryAfter: '1' });
    const r = await pullJson();
    expect(r.code, r.stderr).toBe(0);
    expect(r.doc).toMatchObject({ outcome: 'published', generation: 1, sessions: VALID });
    const retries = r.lines.filter((l) => l.msg === 'retrying repo-recall');
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ attempt: 1, delay_ms: 1000 });
    expect(retries[0]!.reason).toMatch(/^repo-recall answered 429 for GET \/api\/sessions: \{"error":"Too Many Requests"\}$/);
    expect(sessionRequests()).toHaveLength(2);
  });

  it('does not wait for a Retry-After past the deadline: a 503 asking for minutes (capped at 60 s) fails at once', async () => {
    recall.setFault('status-503', { retryAfter: new Date(Date.now() + 600_000).toUTCString() });
    const r = await runCli(pullArgs('--upstream-deadline-seconds', '5'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /pull failed: repo-recall answered 503 for GET \/api\/sessions: .* \(retry 1 would start 60 s from now, after the 5 s deadline of SESSION_LATTICE_UPSTREAM_DEADLINE_SECONDS \(--upstream-deadline-seconds\)\)/,
    );
    expect(sessionRequests()).toHaveLength(1);
  });
});

describe('unchanged payloads (item 4)', () => {
  it('publishes nothing when upstream answers 200 with the payload already loaded, whatever its headers say', async () => {
    expect(await pullOk()).toMatch(/^published generation 1/);
    const before = await stat(paths().published);
    const bytes = await sha256(paths().published);
    recall.setFault('no-304');
    expect(await pullOk()).toMatch(/^unchanged \(generation 1\), upstream unchanged \(identical payload\), 0 views refreshed/);
    // We asked with the ETag; upstream ignored it.
    expect(sessionRequests().map((r) => r.headers['if-none-match'])).toEqual([undefined, recall.etag]);
    const after = await stat(paths().published);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(await sha256(paths().published)).toBe(bytes);
    expect(await readStatus()).toMatchObject({ last_tick_outcome: 'unchanged', generation: 1 });
  });

  it('in the daemon, tick after tick of an identical 200 publishes no generation', async () => {
    recall.setFault('no-304');
    const d = startDaemon(['serve-puller', '--home', home.dir, '--repo-recall-url', recall.url, '--refresh-interval-seconds', '0.1']);
    daemons.push(d);
    const ticks = () => d.logLines().filter((l) => l.msg === 'tick');
    await d.waitFor(() => ticks().filter((t) => t.upstream === 'identical').length >= 5, '5 ticks that got an identical payload');
    const bytes = await sha256(paths().published);
    expect(
      ticks()
        .map((t) => t.outcome)
        .filter((o) => o === 'published'),
    ).toEqual(['published']);
    expect(ticks().every((t) => t.tick === 'ok')).toBe(true);
    await d.stop('SIGTERM');
    expect(await publishedGenerationOf(paths().published)).toBe(1);
    expect(await sha256(paths().published)).toBe(bytes);
  });

  it('does not echo an ETag that is not an entity tag, and still loads', async () => {
    recall.setFault('invalid-etag', { etag: 'unquoted-1' });
    const first = await pullJson();
    expect(first.code, first.stderr).toBe(0);
    expect(first.doc).toMatchObject({ outcome: 'published', generation: 1 });
    expect(first.doc.warnings).toEqual([
      'repo-recall sent an ETag that is not a valid entity tag ("unquoted-1"): it is not sent back, so every pull downloads the whole payload',
    ]);
    const [meta] = await queryFile<{ etag: string | null }>(paths().published, 'SELECT etag FROM lattice.meta');
    expect(meta).toEqual({ etag: null });
    const second = await pullJson();
    expect(second.doc).toMatchObject({ outcome: 'unchanged', upstream: 'identical', generation: 1 });
    expect(sessionRequests().map((r) => r.headers['if-none-match'])).toEqual([undefined, undefined]);
  });
});

describe('a 304 with nothing loaded (item 5)', () => {
  it('fails the first pull, saying why, with a non-zero exit', async () => {
    recall.setFault('always-304');
    const r = await runCli(pullArgs());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error\[upstream\]: pull failed: repo-recall at http:\/\/127\.0\.0\.1:\d+ answered 304 Not Modified to a request that had nothing to compare against \(nothing is loaded yet, so no If-None-Match was sent\); there is no data to keep and nothing was published\./,
    );
    expect(sessionRequests()[0]!.headers['if-none-match']).toBeUndefined();
    expect(existsSync(paths().published)).toBe(false);
    expect(await readStatus()).toMatchObject({ last_tick_outcome: 'failed', consecutive_failures: 1, generation: null });
  });
});

describe('the shrink guard (item 6)', () => {
  const heldReason = (n: number) =>
    new RegExp(
      `^the puller is holding back what repo-recall sent: it would drop ${VALID} of the ${VALID} loaded sessions \\(100%\\), more than the 50% SESSION_LATTICE_MAX_SHRINK_PERCENT \\(--max-shrink-percent\\) allows; readers keep the data loaded before\\. Seen on ${n} of 3 consecutive pulls`,
    );

  it('holds an empty payload for N-1 pulls (file byte-identical, reported in status.json, status and /healthz), then loads it on the Nth', async () => {
    await pullOk();
    const reads = await startReads(home.dir);
    readers.push(reads);
    const before = await sha256(paths().published);
    await recall.setData({ sessions: 0 });
    for (const n of [1, 2]) {
      expect(await pullOk('--shrink-confirm-ticks', '3')).toMatch(
        new RegExp(
          `^unchanged \\(generation 1\\), held back what upstream sent \\(0 sessions from scan 2\\): it would drop ${VALID} of the ${VALID} loaded sessions \\(100%\\), .*; seen on ${n} of 3 consecutive pulls, it is loaded if it keeps coming, or now with --accept-shrink`,
        ),
      );
      expect(await sha256(paths().published)).toBe(before);
      const status = await readStatus();
      expect(status?.last_tick_outcome).toBe('held');
      expect(status?.held_payload).toMatchObject({
        sessions: 0,
        scan_version: 2,
        loaded_sessions: VALID,
        loaded_scan_version: 1,
        seen_ticks: n,
        confirm_ticks: 3,
      });
      const health = (await get(`${reads.url}/healthz`)).json as HealthResponse;
      expect(health.status).toBe('degraded');
      expect(
        health.reasons.some((r) => heldReason(n).test(r)),
        health.reasons.join('\n'),
      ).toBe(true);
      expect(health.puller?.held_payload?.seen_ticks).toBe(n);
    }
    const report = await runCli(['status', '--home', home.dir]);
    expect(report.stdout).toMatch(new RegExp(`held back +0 sessions \\(scan 2\\) instead of ${VALID} \\(scan 1\\), seen on 2 of 3 pulls since`));
    expect(report.stdout).toMatch(/! the puller is holding back what repo-recall sent/);

    expect(await pullOk('--shrink-confirm-ticks', '3')).toMatch(
      /^published generation 2, loaded 0 sessions from scan 2, .*loaded although it would drop .* \(it came on 3 consecutive pulls\)/,
    );
    expect(await queryFile(paths().published, 'SELECT session_count::INT AS n FROM lattice.meta')).toEqual([{ n: 0 }]);
    expect((await readStatus())?.held_payload).toBeNull();
    const health = await eventually(async () => {
      const h = (await get(`${reads.url}/healthz`)).json as HealthResponse;
      return h.generation === 2 ? h : undefined;
    }, 'generation 2 to be served');
    expect(health.reasons.some((r) => r.includes('holding back'))).toBe(false);
  });

  it('pull --accept-shrink loads it at once', async () => {
    await pullOk();
    await recall.setData({ sessions: 0 });
    const r = await pullJson('--accept-shrink');
    expect(r.doc).toMatchObject({ outcome: 'published', generation: 2, sessions: 0, held: null, accepted_shrink: { by: 'accept-shrink' } });
    expect(r.lines.some((l) => l.msg === 'loading a payload the shrink guard would hold back' && l.level === 40)).toBe(true);
  });

  it('holds back a payload whose scan_version went backwards, and lets the next good one through', async () => {
    await pullOk();
    await recall.setData({ sessions: 201, seed: 11 });
    expect(await pullOk()).toMatch(/^published generation 2, loaded .* from scan 2/);
    const before = await sha256(paths().published);
    await recall.setData({ sessions: 202, seed: 11, scanVersion: 1 });
    const held = await pullJson();
    expect(held.doc).toMatchObject({
      outcome: 'held',
      upstream: 'held',
      generation: 2,
      held: { reasons: ['its scan_version 1 is lower than the 2 loaded'], seen_ticks: 1 },
    });
    expect(held.lines.find((l) => l.msg === 'payload held back by the shrink guard')).toMatchObject({ level: 40, scan_version: 1, loaded_scan_version: 2 });
    expect(await sha256(paths().published)).toBe(before);
    await recall.setData({ sessions: 203, seed: 11, scanVersion: 3 });
    expect(await pullOk()).toMatch(/^published generation 3, loaded .* from scan 3/);
    expect((await readStatus())?.held_payload).toBeNull();
  });

  it('in the daemon, held ticks are not failures (no failure count, no backoff) and the Nth loads', async () => {
    const d = startDaemon(['serve-puller', '--home', home.dir, '--repo-recall-url', recall.url, '--refresh-interval-seconds', '0.2']);
    daemons.push(d);
    await eventually(async () => ((await readStatus())?.generation === 1 ? true : undefined), 'the first publish');
    await recall.setData({ sessions: 0 });
    await eventually(async () => ((await readStatus())?.generation === 2 ? true : undefined), 'the empty payload to be published');
    await d.stop('SIGTERM');
    const ticks = d.logLines().filter((l) => l.msg === 'tick');
    expect(ticks.every((t) => t.tick === 'ok')).toBe(true);
    const outcomes = ticks.map((t) => t.outcome).filter((o) => o !== 'unchanged');
    expect(outcomes).toEqual(['published', 'held', 'held', 'published']);
    const held = d.logLines().filter((l) => l.msg === 'payload held back by the shrink guard');
    expect(held.map((l) => l.seen_ticks)).toEqual([1, 2]);
    expect((await readStatus())?.consecutive_failures).toBe(0);
  });
});
