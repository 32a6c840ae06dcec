import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusReport } from '../src/cli/status-report.js';
import { homePaths } from '../src/shared/paths.js';
import { readEventLog } from '../src/shared/events.js';
import { readPullerMetrics } from '../src/shared/puller-metrics.js';
import { readPullerStatus } from '../src/shared/status.js';
import { startFakeRecall } from './fake-recall/server.js';
import { sessionLines, writeTranscript, type Texts } from './helpers/transcripts/by-hand.js';
import { deadPort, eventually, runCli, startDaemon, tempHome } from './helpers/processes.js';
import { queryFile } from './helpers/snapshot.js';

/*
 * Each source fails on its own, with real processes: the puller reads repo-recall (the fake) and
 * a transcripts directory written here by hand in Claude Code's format. With repo-recall not
 * there at all, a newcomer's own usage is published within seconds and health says degraded,
 * naming repo-recall; with the transcripts directory missing, repo-recall's data is published as
 * before and the missing directory is reported. And the transcripts' text never leaves them.
 */

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function home(): Promise<string> {
  const h = await tempHome('lattice-sources-');
  cleanups.push(() => h.cleanup());
  return h.dir;
}

const plainTexts: Texts = { prompt: 'list the files', thinking: 'ls will do', answer: 'Here they are.', toolInput: 'ls', toolResult: 'a.txt' };

/** Two sessions of two responses each (each response written as three lines repeating its usage). */
async function projects(dir: string, texts: Texts = plainTexts): Promise<string> {
  const root = join(dir, 'claude', 'projects');
  const at = new Date('2026-06-01T09:00:00Z');
  await writeTranscript(
    join(root, '-work-alpha', '11111111-aaaa-4000-8000-000000000001.jsonl'),
    sessionLines({ sessionId: '11111111-aaaa-4000-8000-000000000001', cwd: '/work/alpha', at, texts, responses: 2 }),
  );
  await writeTranscript(
    join(root, '-work-beta', '22222222-bbbb-4000-8000-000000000002.jsonl'),
    sessionLines({ sessionId: '22222222-bbbb-4000-8000-000000000002', cwd: '/work/beta', at, texts, responses: 2 }),
  );
  return root;
}

/** A value of the puller's metrics.json: the series of `name` whose labels include `labels`. */
async function metric(dir: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const file = await readPullerMetrics(homePaths(dir).metrics);
  const values = file?.metrics.find((m) => m.name === name)?.values ?? [];
  return values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))?.value;
}

async function statusJson(dir: string, env: Record<string, string> = {}): Promise<StatusReport> {
  const res = await runCli(['status', '--json'], { SESSION_LATTICE_HOME: dir, ...env });
  return JSON.parse(res.stdout) as StatusReport;
}

describe('each source fails on its own', () => {
  it("repo-recall not there at all: serve-puller publishes the transcripts' usage within seconds, and health is degraded naming repo-recall", async () => {
    const dir = await home();
    const transcripts = await projects(dir);
    const url = `http://127.0.0.1:${await deadPort()}`;
    const env = { SESSION_LATTICE_HOME: dir, SESSION_LATTICE_REPO_RECALL_URL: url, SESSION_LATTICE_TRANSCRIPTS: transcripts };
    const puller = startDaemon(['serve-puller'], env);
    cleanups.push(() => puller.stop());
    const paths = homePaths(dir);
    const status = await eventually(async () => {
      const s = await readPullerStatus(paths.status).catch(() => null);
      return s?.generation ? s : undefined;
    }, 'a generation published without repo-recall');
    expect(status.last_tick_outcome).toBe('published');
    expect(status.repo_recall).toMatchObject({ url, outcome: 'failed' });
    expect(status.transcripts).toMatchObject({ outcome: 'read', files: 2, messages: 4 });

    const rows = await queryFile<{ session_uuid: string; n: number }>(
      paths.published,
      'SELECT session_uuid, count(*)::DOUBLE AS n FROM base.messages GROUP BY ALL ORDER BY 1',
    );
    expect(rows).toEqual([
      { session_uuid: '11111111-aaaa-4000-8000-000000000001', n: 2 },
      { session_uuid: '22222222-bbbb-4000-8000-000000000002', n: 2 },
    ]);

    const finished = await eventually(async () => {
      const events = await readEventLog(paths);
      return events.find((e) => e.type === 'tick_finished' && e.outcome === 'published');
    }, 'the tick_finished event of the publish');
    expect(finished).toMatchObject({
      error: null,
      sources: {
        repo_recall: { outcome: 'failed', error: expect.stringMatching(/^cannot reach repo-recall/) },
        transcripts: { outcome: 'read', error: null, files: 2, files_read: 2, messages: 4, added: 4, updated: 0, skipped_malformed: 0, skipped_oversized: 0 },
      },
    });
    expect(await metric(dir, 'session_lattice_puller_transcript_messages')).toBe(4);
    expect(await metric(dir, 'session_lattice_puller_transcript_files')).toBe(2);
    expect(await metric(dir, 'session_lattice_puller_transcript_messages_changed_total', { change: 'added' })).toBe(4);
    expect(await metric(dir, 'session_lattice_puller_source_failures_total', { source: 'repo-recall' })).toBeGreaterThanOrEqual(1);
    expect(await metric(dir, 'session_lattice_puller_source_failures_total', { source: 'transcripts' })).toBe(0);

    const report = await statusJson(dir, { SESSION_LATTICE_REPO_RECALL_URL: url });
    expect(report.health).toBe('degraded');
    const escaped = url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(report.warnings.join('\n')).toMatch(
      new RegExp(
        `^repo-recall at ${escaped} failed.*: cannot reach repo-recall at ${escaped} \\(connection refused\\).*the transcripts were read and published without it \\(4 messages\\)$`,
        'm',
      ),
    );
    expect(report.problems).toEqual([]);
    const text = await runCli(['status'], { SESSION_LATTICE_HOME: dir, SESSION_LATTICE_REPO_RECALL_URL: url });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`directory +${transcripts.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 2 files`));
    expect(text.stdout).toMatch(/messages +4 \(last tick: \d+ added, \d+ updated\)/);

    // A one-shot pull that went on without repo-recall exits 0, and says which source failed.
    await puller.stop();
    const pulled = await runCli(['pull', '--json'], env);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(JSON.parse(pulled.stdout)).toMatchObject({
      outcome: 'unchanged',
      upstream: 'failed',
      failed_sources: ['repo-recall'],
      repo_recall: { outcome: 'failed', error: expect.stringMatching(/^cannot reach repo-recall/) },
      transcripts: { outcome: 'read', messages: 4, added: 0 },
    });
  });

  it("the transcripts directory missing: repo-recall's sessions are published as before, and the missing directory is reported", async () => {
    const dir = await home();
    const recall = await startFakeRecall({ sessions: 3 });
    cleanups.push(() => recall.close());
    const missing = join(dir, 'no-such-projects');
    const res = await runCli(['pull', '--json'], {
      SESSION_LATTICE_HOME: dir,
      SESSION_LATTICE_REPO_RECALL_URL: recall.url,
      SESSION_LATTICE_TRANSCRIPTS: missing,
    });
    expect(res.code, res.stderr).toBe(0);
    const doc = JSON.parse(res.stdout) as {
      outcome: string;
      sessions: number;
      failed_sources: string[];
      transcripts: { outcome: string; directories: Array<{ path: string; readable: boolean }>; warnings: string[] };
    };
    expect(doc).toMatchObject({ outcome: 'published', sessions: 3, failed_sources: [] });
    expect(doc.transcripts.outcome).toBe('read');
    expect(doc.transcripts.directories).toEqual([expect.objectContaining({ path: missing, readable: false })]);
    expect(doc.transcripts.warnings.join('\n')).toContain(missing);
    const [sessions] = await queryFile<{ n: number }>(homePaths(dir).published, 'SELECT count(*)::DOUBLE AS n FROM base.sessions');
    expect(sessions?.n).toBe(3);
    const report = await statusJson(dir, { SESSION_LATTICE_REPO_RECALL_URL: recall.url });
    expect(report.warnings).toContain(`the transcripts directory ${missing} cannot be read: the usage in it is missing`);
  });

  it('never lets a word of a transcript out: not into work.duckdb, the published file, status.json, events, metrics or the log', async () => {
    const dir = await home();
    const recall = await startFakeRecall({ sessions: 2 });
    cleanups.push(() => recall.close());
    const markers: Texts = {
      prompt: 'MARKER-PROMPT-7f3a',
      thinking: 'MARKER-THINKING-7f3a',
      answer: 'MARKER-ANSWER-7f3a',
      toolInput: 'MARKER-TOOLINPUT-7f3a',
      toolResult: 'MARKER-TOOLRESULT-7f3a',
    };
    const transcripts = await projects(dir, markers);
    // A response line cut short (not JSON), with a marker in it: counted, never quoted.
    await writeTranscript(join(transcripts, '-work-gamma', 'broken.jsonl'), [
      '{"type":"assistant","sessionId":"33333333-cccc-4000-8000-000000000003","message":{"id":"msg_x","content":[{"type":"text","text":"MARKER-MALFORMED-7f3a"}],"usage":{"input_tokens":3',
    ]);
    const env = {
      SESSION_LATTICE_HOME: dir,
      SESSION_LATTICE_REPO_RECALL_URL: recall.url,
      SESSION_LATTICE_TRANSCRIPTS: transcripts,
      SESSION_LATTICE_LOG_LEVEL: 'trace',
    };
    const pulled = await runCli(['pull', '--json'], env);
    expect(pulled.code, pulled.stderr).toBe(0);
    const daemon = startDaemon(['serve-puller'], env);
    cleanups.push(() => daemon.stop());
    const paths = homePaths(dir);
    await eventually(
      async () => ((await readPullerStatus(paths.status).catch(() => null))?.last_tick_finished_at ? true : undefined),
      'a tick of serve-puller',
    );
    await daemon.stop();
    const status = await readPullerStatus(paths.status);
    expect(status?.transcripts?.messages).toBe(4);
    expect(status?.transcripts?.skipped).toMatchObject({
      malformed: 1,
      oversized: 0,
      worst: [{ file: join(transcripts, '-work-gamma', 'broken.jsonl'), malformed: 1, oversized: 0 }],
    });
    const pullDoc = JSON.parse(pulled.stdout) as { transcripts: { skipped_lines: unknown } };
    expect(pullDoc.transcripts.skipped_lines).toEqual([{ file: join(transcripts, '-work-gamma', 'broken.jsonl'), malformed: 1, oversized: 0 }]);
    const ticks = (await readEventLog(paths)).filter((e) => e.type === 'tick_finished');
    expect(ticks[0]).toMatchObject({ sources: { transcripts: { skipped_malformed: 1, messages: 4 } } });
    expect(await metric(dir, 'session_lattice_puller_transcript_skipped_lines_total', { reason: 'oversized' })).toBe(0);

    const everything: Array<[string, Buffer]> = [
      ['pull stdout', Buffer.from(pulled.stdout)],
      ['pull stderr', Buffer.from(pulled.stderr)],
      ['serve-puller stdout', Buffer.from(daemon.stdout)],
      ['serve-puller stderr', Buffer.from(daemon.stderr)],
    ];
    for (const file of await filesUnder(dir)) {
      if (file.startsWith(transcripts)) continue;
      everything.push([file, await readFile(file)]);
    }
    expect(everything.map(([name]) => name)).toEqual(expect.arrayContaining([paths.workDb, paths.published, paths.status, paths.events, paths.metrics]));
    const leaks = everything.filter(([, bytes]) => bytes.includes('MARKER-')).map(([name]) => name);
    expect(leaks).toEqual([]);
    // Compressed columns would hide a marker from a byte search: ask DuckDB too, every column of every table.
    for (const file of [paths.published, paths.workDb]) {
      const tables = await queryFile<{ schema: string; name: string }>(
        file,
        `SELECT schema_name AS schema, table_name AS name FROM duckdb_tables() WHERE database_name = current_database()`,
      );
      expect(tables.length).toBeGreaterThan(0);
      for (const t of tables) {
        const [hit] = await queryFile<{ n: number }>(
          file,
          `SELECT count(*)::DOUBLE AS n FROM "${t.schema}"."${t.name}" AS r WHERE contains(r::VARCHAR, 'MARKER-')`,
        );
        expect(hit?.n, `${file} ${t.schema}.${t.name}`).toBe(0);
      }
    }
  });
});

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true })) {
    const path = join(dir, entry);
    if ((await stat(path)).isFile()) out.push(path);
  }
  return out;
}
