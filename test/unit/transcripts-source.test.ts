/**
 * The transcripts source (src/puller/transcripts/) on real files and a real working database:
 * de-duplication of responses, incremental reads, bad input, and its setting. At scale (a 1 GB
 * file, 50,000 files on a tmpfs) and privacy (through a real publish): test/transcripts-scale.test.ts.
 */
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingestTranscripts, resolveTranscriptDirectories } from '../../src/puller/transcripts/index.js';
import { LINE_LIMIT } from '../../src/puller/transcripts/line-scanner.js';
import type { WorkDb } from '../../src/puller/work-db.js';
import { loadConfig } from '../../src/shared/config.js';
import { ConfigError } from '../../src/shared/errors.js';
import { type TempHome } from '../helpers/temp-home.js';
import { assistant, toolResult, user } from '../helpers/transcripts/by-hand.js';
import { openTranscriptsRig, type TranscriptsRig } from '../helpers/transcripts/work-db.js';

let rig: TranscriptsRig;
let home: TempHome;
let projects: string;
let db: WorkDb;
let file: TranscriptsRig['file'];
let ingest: TranscriptsRig['ingest'];

beforeEach(async () => {
  rig = await openTranscriptsRig();
  ({ home, projects, db, file, ingest } = rig);
});

afterEach(() => rig.close());

interface Row {
  message_key: string;
  session_uuid: string;
  message_id: string | null;
  request_id: string | null;
  agent_id: string | null;
  is_sidechain: boolean;
  ts: string;
  model: string | null;
  input_tokens: number;
  output_tokens: number;
  cache_creation_5m_tokens: number;
  cache_creation_1h_tokens: number;
  cache_read_tokens: number;
  source_file: string;
}

async function rows(): Promise<Row[]> {
  return db.rows<Row>(`
    SELECT message_key, session_uuid, message_id, request_id, agent_id, is_sidechain, strftime("timestamp", '%Y-%m-%dT%H:%M:%S.%g') AS ts, model,
           input_tokens::DOUBLE AS input_tokens, output_tokens::DOUBLE AS output_tokens,
           cache_creation_5m_tokens::DOUBLE AS cache_creation_5m_tokens, cache_creation_1h_tokens::DOUBLE AS cache_creation_1h_tokens,
           cache_read_tokens::DOUBLE AS cache_read_tokens, source_file
    FROM base.messages ORDER BY message_key`);
}

async function baseVersion(): Promise<number> {
  return (await db.value<number>('SELECT base_version::DOUBLE FROM lattice.meta')) ?? -1;
}

describe('one row per API response', () => {
  it("a multi-line response counts once, with the final usage and the first line's timestamp", async () => {
    writeFileSync(
      file('s1.jsonl'),
      user('hello') +
        assistant({ id: 'msg_a', requestId: 'req_a', output: 1, timestamp: '2025-06-01T10:00:01.000Z', block: { type: 'thinking', thinking: 'hmm' } }) +
        assistant({ id: 'msg_a', requestId: 'req_a', output: 7, timestamp: '2025-06-01T10:00:02.000Z', model: 'claude-opus-4-1-20250805' }) +
        assistant({
          id: 'msg_a',
          requestId: 'req_a',
          output: 7,
          timestamp: '2025-06-01T10:00:03.000Z',
          model: 'not-kept-tie',
          block: { type: 'tool_use', id: 't', name: 'Bash', input: { command: 'ls' } },
        }) +
        toolResult('file list') +
        assistant({
          id: 'msg_b',
          requestId: 'req_b',
          output: 3,
          input: 4,
          cacheRead: 100,
          cacheCreation: 30,
          split: { m5: 10, h1: 20 },
          timestamp: '2025-06-01T10:01:00.000Z',
        }) +
        assistant({ id: 'msg_c', requestId: 'req_c', cacheCreation: 50, timestamp: '2025-06-01T10:02:00.000Z' }),
    );
    const report = await ingest();
    expect(report).toMatchObject({ enabled: true, files: 1, filesRead: 1, messages: 3, added: 3, updated: 0, changed: true, skipped: [], warnings: [] });
    const [a, b, c] = await rows();
    expect(a).toMatchObject({
      message_id: 'msg_a',
      request_id: 'req_a',
      output_tokens: 7,
      ts: '2025-06-01T10:00:01.000',
      model: 'claude-opus-4-1-20250805',
      session_uuid: 'sess-1',
      is_sidechain: false,
      agent_id: null,
    });
    // The 5m/1h split where the line has it; all cache creation at 5m where it has not.
    expect(b).toMatchObject({ input_tokens: 4, cache_read_tokens: 100, cache_creation_5m_tokens: 10, cache_creation_1h_tokens: 20 });
    expect(c).toMatchObject({ cache_creation_5m_tokens: 50, cache_creation_1h_tokens: 0 });
    expect(await baseVersion()).toBe(1);
    // Nothing new: nothing read, nothing bumped.
    expect(await ingest()).toMatchObject({ filesRead: 0, added: 0, updated: 0, changed: false, messages: 3 });
    expect(await baseVersion()).toBe(1);
  });

  it('a streaming partial in one tick loses to the final line appended in the next', async () => {
    writeFileSync(file('s1.jsonl'), assistant({ id: 'msg_a', output: 2, timestamp: '2025-06-01T10:00:00.000Z' }));
    await ingest();
    appendFileSync(file('s1.jsonl'), assistant({ id: 'msg_a', output: 40, timestamp: '2025-06-01T10:00:09.000Z' }));
    const report = await ingest();
    expect(report).toMatchObject({ added: 0, updated: 1, changed: true, messages: 1 });
    expect(await rows()).toMatchObject([{ output_tokens: 40, ts: '2025-06-01T10:00:00.000' }]);
    expect(await baseVersion()).toBe(2);
  });

  it('the same response in two files (a resumed session) counts once; a subagent file is read', async () => {
    const line = assistant({ id: 'msg_a', requestId: 'req_a', output: 9 });
    writeFileSync(file('s1.jsonl'), line);
    writeFileSync(file('s2.jsonl'), assistant({ sessionId: 'sess-2', id: 'msg_z' }) + line);
    mkdirSync(file('s1/subagents'), { recursive: true });
    writeFileSync(file('s1/subagents/agent-x1.jsonl'), assistant({ id: 'msg_sub', requestId: 'req_sub', agentId: 'x1', sidechain: true }));
    const report = await ingest();
    expect(report).toMatchObject({ files: 3, filesRead: 3, messages: 3 });
    const all = await rows();
    expect(all.map((r) => r.message_id).sort()).toEqual(['msg_a', 'msg_sub', 'msg_z']);
    expect(all.find((r) => r.message_id === 'msg_a')?.source_file).toBe(file('s1.jsonl'));
    expect(all.find((r) => r.message_id === 'msg_sub')).toMatchObject({ agent_id: 'x1', is_sidechain: true, source_file: file('s1/subagents/agent-x1.jsonl') });
  });

  it("thousands of responses over several files (staged in chunks of 2048 rows, a file across a chunk's end) all arrive whole", async () => {
    const perFile = 1500;
    for (const f of [0, 1, 2]) {
      let text = '';
      for (let i = 0; i < perFile; i++) {
        const id = `msg_${f}_${i}`;
        const base = { sessionId: `sess-${f}`, id, requestId: `req_${f}_${i}`, cwd: `/p/${f}`, model: f === 1 ? 'claude-opus-4-1-20250805' : undefined };
        text +=
          assistant({ ...base, output: 1, timestamp: '2025-06-01T10:00:00.000Z' }) +
          assistant({ ...base, output: 100 + i, timestamp: '2025-06-01T10:00:01.000Z' });
      }
      // The same response as file 0's first, with equal tokens: the first file read keeps it.
      if (f === 2) text += assistant({ sessionId: 'sess-0', id: 'msg_0_0', requestId: 'req_0_0', cwd: '/p/0', output: 100 });
      writeFileSync(file(`s${f}.jsonl`), text);
    }
    const report = await ingest();
    expect(report).toMatchObject({ filesRead: 3, added: 3 * perFile, messages: 3 * perFile });
    const all = await rows();
    const wrong = all.filter((r) => {
      const [, f, i] = /^msg_(\d)_(\d+)$/.exec(r.message_id ?? '') ?? [];
      return (
        r.output_tokens !== 100 + Number(i) ||
        r.session_uuid !== `sess-${f}` ||
        r.source_file !== file(`s${f}.jsonl`) ||
        r.ts !== '2025-06-01T10:00:00.000' ||
        r.model !== (f === '1' ? 'claude-opus-4-1-20250805' : 'claude-sonnet-4-5-20250929')
      );
    });
    expect(wrong).toEqual([]);
    expect(await db.value<string>("SELECT cwd FROM base.messages WHERE message_id = 'msg_2_1499'")).toBe('/p/2');
  });

  it('without a requestId a response is told by message.id; without a message.id a line is its own row, the same on a re-read', async () => {
    writeFileSync(
      file('s1.jsonl'),
      assistant({ id: 'msg_a', requestId: null, output: 1 }) +
        assistant({ id: 'msg_a', requestId: null, output: 4 }) +
        assistant({ id: null, requestId: 'req_x', output: 2 }) +
        assistant({ id: null, requestId: 'req_x', output: 2 }),
    );
    expect(await ingest()).toMatchObject({ messages: 3 });
    const before = await rows();
    expect(before.filter((r) => r.message_id === 'msg_a')).toMatchObject([{ request_id: null, output_tokens: 4 }]);
    expect(before.filter((r) => r.message_id === null)).toHaveLength(2);
    // Replaced by a copy (another inode): read again from 0, and nothing is counted twice.
    const copy = file('s1.jsonl.tmp');
    writeFileSync(copy, readFileSync(file('s1.jsonl')));
    renameSync(copy, file('s1.jsonl'));
    const again = await ingest();
    expect(again).toMatchObject({ filesRead: 1, added: 0, changed: false, messages: 3 });
    expect(await rows()).toEqual(before);
  });
});

describe('incremental reads', () => {
  it('an appended file is read from its offset; a trailing partial line waits for its newline', async () => {
    writeFileSync(
      file('big.jsonl'),
      Array.from({ length: 200 }, (_, i) => toolResult('x'.repeat(500)) + assistant({ id: `msg_${i}`, requestId: `req_${i}` })).join(''),
    );
    writeFileSync(file('other.jsonl'), assistant({ id: 'msg_o' }));
    expect(await ingest()).toMatchObject({ filesRead: 2, messages: 201 });

    const added = assistant({ id: 'msg_new1', requestId: 'r' }) + assistant({ id: 'msg_new2', requestId: 'r' });
    const partial = assistant({ id: 'msg_new3', requestId: 'r' });
    appendFileSync(file('big.jsonl'), added + partial.slice(0, 40));
    const r1 = await ingest();
    // Only the appended bytes were read (the partial line's among them), of one file.
    expect(r1).toMatchObject({ files: 2, filesRead: 1, added: 2, messages: 203 });
    expect(r1.bytesRead).toBe(Buffer.byteLength(added) + 40);

    appendFileSync(file('big.jsonl'), partial.slice(40));
    const r2 = await ingest();
    expect(r2).toMatchObject({ filesRead: 1, added: 1, messages: 204 });
    // Read again from the partial line's start.
    expect(r2.bytesRead).toBe(Buffer.byteLength(partial));
  });

  it('a truncated file is read again from 0; a replaced one too; a deleted one keeps its messages', async () => {
    writeFileSync(file('s1.jsonl'), assistant({ id: 'msg_1' }) + assistant({ id: 'msg_2' }));
    writeFileSync(file('s2.jsonl'), assistant({ id: 'msg_3' }));
    await ingest();

    writeFileSync(file('s1.jsonl'), assistant({ id: 'msg_4' })); // shorter: truncated and rewritten
    const t = await ingest();
    expect(t).toMatchObject({ filesRead: 1, added: 1, messages: 4 });
    expect(t.bytesRead).toBe(statSync(file('s1.jsonl')).size);

    writeFileSync(file('s2.new'), assistant({ id: 'msg_3' }) + assistant({ id: 'msg_5' }));
    renameSync(file('s2.new'), file('s2.jsonl'));
    const r = await ingest();
    expect(r).toMatchObject({ filesRead: 1, added: 1, messages: 5 });
    expect(r.bytesRead).toBe(statSync(file('s2.jsonl')).size);

    rmSync(file('s1.jsonl'));
    rmSync(file('s2.jsonl'));
    const gone = await ingest();
    expect(gone).toMatchObject({ files: 0, filesRead: 0, messages: 5, changed: false });
    expect((await rows()).map((x) => x.message_id)).toEqual(['msg_1', 'msg_2', 'msg_3', 'msg_4', 'msg_5']);
    // The bookkeeping forgets the deleted files (a file of the same name later is new).
    expect(await db.value<number>('SELECT count(*)::DOUBLE FROM lattice.transcript_files')).toBe(0);
  });
});

describe('bad input', () => {
  it('malformed and oversized lines are skipped and counted per file, never quoted', async () => {
    const secret = 'SECRET-IN-A-BAD-LINE';
    writeFileSync(
      file('bad.jsonl'),
      assistant({ id: 'msg_ok' }) +
        `{"message":{"usage":{"input_tokens":1}}, "text":"${secret}"\n` + // not JSON
        assistant({ id: 'msg_neg', output: -1 }) +
        assistant({ id: 'msg_frac', output: 1.5 }) +
        assistant({ id: 'msg_big', output: 2e12 }) +
        assistant({ id: 'msg_ts', timestamp: 'yesterday' }) +
        assistant({ id: 'msg_nosession', sessionId: '' }) +
        `${JSON.stringify({ type: 'summary', summary: secret, usage: 'not a response' })}\n` + // carries the marker, is no response
        assistant({ id: 'msg_long', block: { type: 'text', text: 'y'.repeat(LINE_LIMIT + 10) } }) +
        user('z'.repeat(LINE_LIMIT + 10)) + // long, but no usage: not a skipped response
        assistant({ id: 'msg_ok2' }),
    );
    writeFileSync(file('good.jsonl'), assistant({ id: 'msg_3' }));
    const report = await ingest();
    expect(report.skipped).toEqual([{ file: file('bad.jsonl'), malformed: 6, oversized: 1 }]);
    expect(report.messages).toBe(3);
    expect(JSON.stringify(report)).not.toContain(secret);
    // Counts are per tick: an unchanged file is not counted again...
    expect((await ingest()).skipped).toEqual([]);
    // ...and kept per file in the bookkeeping.
    expect(await db.rows('SELECT malformed::DOUBLE AS m, oversized::DOUBLE AS o FROM lattice.transcript_files WHERE path = ?', [file('bad.jsonl')])).toEqual([
      { m: 6, o: 1 },
    ]);
  });

  it('a symlink loop is a warning, and the walk ends', async () => {
    mkdirSync(file('s1/subagents'), { recursive: true });
    writeFileSync(file('s1/subagents/agent-1.jsonl'), assistant({ id: 'msg_sub' }));
    symlinkSync(projects, file('s1/subagents/loop'));
    symlinkSync('self-b', file('self-a'));
    symlinkSync('self-a', file('self-b'));
    const report = await ingest();
    expect(report.messages).toBe(1);
    expect(report.files).toBe(1);
    expect(report.warnings.some((w) => w.startsWith('symlink loop:') && w.includes(file('s1/subagents/loop')))).toBe(true);
  });

  it('a directory that does not exist is unreadable, a warning; a file that vanishes before its read is a warning', async () => {
    writeFileSync(file('s1.jsonl'), assistant({ id: 'msg_1' }));
    writeFileSync(file('s2.jsonl'), assistant({ id: 'msg_2' }));
    const missing = join(home.dir, 'nowhere');
    const report = await ingestTranscripts(db, { directories: [projects, missing], afterDiscovery: () => rmSync(file('s1.jsonl')) });
    expect(report.directories).toEqual([
      { path: projects, readable: true, files: 2 },
      { path: missing, readable: false, files: 0 },
    ]);
    expect(report.warnings).toContain(`transcript vanished before it was read: ${file('s1.jsonl')}`);
    expect(report.warnings.some((w) => w.startsWith('transcripts directory unreadable:') && w.includes(missing))).toBe(true);
    expect(report).toMatchObject({ filesRead: 1, messages: 1 });
  });
});

describe('the setting', () => {
  it('resolves CLAUDE_CONFIG_DIR entries, the default places that exist, a list, and off', async () => {
    const h = join(home.dir, 'user');
    mkdirSync(join(h, '.claude', 'projects'), { recursive: true });
    expect(await resolveTranscriptDirectories('default', { HOME: h })).toEqual([join(h, '.claude', 'projects')]);
    mkdirSync(join(h, '.config', 'claude', 'projects'), { recursive: true });
    expect(await resolveTranscriptDirectories('default', { HOME: h })).toEqual([join(h, '.config', 'claude', 'projects'), join(h, '.claude', 'projects')]);
    expect(await resolveTranscriptDirectories('default', { HOME: join(home.dir, 'empty') })).toEqual([]);
    expect(await resolveTranscriptDirectories('default', { HOME: h, CLAUDE_CONFIG_DIR: ' /a/one , ~/two,' })).toEqual([
      '/a/one/projects',
      join(h, 'two', 'projects'),
    ]);
    expect(await resolveTranscriptDirectories('off', { HOME: h, CLAUDE_CONFIG_DIR: '/a' })).toEqual([]);
    expect(await resolveTranscriptDirectories(['/x/projects'], { CLAUDE_CONFIG_DIR: '/a' })).toEqual(['/x/projects']);
  });

  it('parses the variable and the flag; a bad value names the setting', () => {
    expect(loadConfig({}).transcripts).toBe('default');
    expect(loadConfig({ SESSION_LATTICE_TRANSCRIPTS: '' }).transcripts).toBe('default');
    expect(loadConfig({ SESSION_LATTICE_TRANSCRIPTS: ' OFF ' }).transcripts).toBe('off');
    expect(loadConfig({ SESSION_LATTICE_TRANSCRIPTS: '/a/projects, /b/projects,/a/projects' }).transcripts).toEqual(['/a/projects', '/b/projects']);
    expect(loadConfig({ SESSION_LATTICE_TRANSCRIPTS: 'off' }, { transcripts: '/c' }).transcripts).toEqual(['/c']);
    for (const bad of [',', ' , ', 'off,/a']) {
      expect(() => loadConfig({ SESSION_LATTICE_TRANSCRIPTS: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ SESSION_LATTICE_TRANSCRIPTS: bad })).toThrow(/^SESSION_LATTICE_TRANSCRIPTS=.* is not valid: .*projects directories/);
    }
    expect(() => loadConfig({}, { transcripts: 'off,/a' })).toThrow(/^--transcripts="off,\/a" is not valid/);
  });
});
