/**
 * The transcripts source (src/puller/transcripts/) at scale and through a real publish (a `cp`
 * child process): a 1 GB transcript in bounded memory, 50,000 transcripts on a tmpfs (mounted by
 * a child), and no transcript text in either database file. The rest of the source, in process,
 * is test/unit/transcripts-source.test.ts.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync, existsSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { publishGeneration } from '../src/puller/publish.js';
import { ingestTranscripts } from '../src/puller/transcripts/index.js';
import type { WorkDb } from '../src/puller/work-db.js';
import { openWorkDb } from '../src/puller/work-schema.js';
import { homePaths } from '../src/shared/paths.js';
import { type TempHome } from './helpers/processes.js';
import { mountTmpfs } from './helpers/tmpfs.js';
import { queryFile } from './helpers/snapshot.js';
import { assistant, toolResult, user } from './helpers/transcripts/by-hand.js';
import { openTranscriptsRig, type TranscriptsRig } from './helpers/transcripts/work-db.js';

let rig: TranscriptsRig;
let home: TempHome;
let db: WorkDb;
let file: TranscriptsRig['file'];
let ingest: TranscriptsRig['ingest'];

beforeEach(async () => {
  rig = await openTranscriptsRig();
  ({ home, db, file, ingest } = rig);
});

afterEach(() => rig.close());

describe('bad input', () => {
  it('a 1 GB transcript (a sparse line of zeros, then responses) is read in bounded memory', async () => {
    const path = file('huge.jsonl');
    writeFileSync(path, '');
    truncateSync(path, 1024 ** 3);
    appendFileSync(path, assistant({ id: 'msg_glued' }) + assistant({ id: 'msg_1' }) + assistant({ id: 'msg_2' }));
    const rss = process.memoryUsage().rss;
    const report = await ingest();
    // The zeros and the first response are one line, over the limit: skipped, counted.
    expect(report.skipped).toEqual([{ file: path, malformed: 0, oversized: 1 }]);
    expect(report.messages).toBe(2);
    expect(process.memoryUsage().rss - rss).toBeLessThan(256 * 1024 ** 2);
    expect(await ingest()).toMatchObject({ filesRead: 0 });
  });

  it('a directory of 50,000 transcripts is read once, then only stat-ed', async () => {
    // On a tmpfs: creating 50,000 files on a busy disk takes a minute, on a tmpfs a few seconds.
    const disk = await mountTmpfs(null, 'lattice-transcripts-50k-');
    try {
      const line = assistant({ id: 'm', requestId: null });
      for (let d = 0; d < 50; d++) {
        const dir = join(disk.dir, `p${d}`);
        mkdirSync(dir);
        for (let f = 0; f < 1000; f++)
          writeFileSync(join(dir, `s${f}.jsonl`), line.replace('"msg_1"', `"m${d}_${f}"`).replace('"id":"m"', `"id":"m${d}_${f}"`));
      }
      const first = await ingestTranscripts(db, { directories: [disk.dir] });
      expect(first).toMatchObject({ files: 50_000, filesRead: 50_000, messages: 50_000, warnings: [], skipped: [] });
      appendFileSync(join(disk.dir, 'p7', 's7.jsonl'), assistant({ id: 'late', requestId: null }));
      expect(await ingestTranscripts(db, { directories: [disk.dir] })).toMatchObject({ files: 50_000, filesRead: 1, added: 1, messages: 50_001 });
    } finally {
      await disk.unmount();
    }
  });
});

describe('privacy', () => {
  it('no text of a transcript reaches the working database or a published file', async () => {
    const markers = ['MARKER-USER-TEXT', 'MARKER-ASSISTANT-TEXT', 'MARKER-THINKING', 'MARKER-TOOL-INPUT', 'MARKER-TOOL-RESULT', 'MARKER-MALFORMED'];
    let text = user(`${markers[0]} please`);
    for (let i = 0; i < 50; i++) {
      text +=
        assistant({ id: `m${i}`, requestId: `r${i}`, output: 1, block: { type: 'thinking', thinking: `${markers[2]} ${i}`, signature: 'sig' } }) +
        assistant({ id: `m${i}`, requestId: `r${i}`, output: 2, block: { type: 'text', text: `${markers[1]} ${i}` } }) +
        assistant({
          id: `m${i}`,
          requestId: `r${i}`,
          output: 3,
          block: { type: 'tool_use', id: 'toolu_1', name: 'Write', input: { content: `${markers[3]} ${i}` } },
        }) +
        toolResult(`${markers[4]} ${i}`);
    }
    text += `{"message":{"usage":{}},"x":"${markers[5]}"\n`;
    // What is stored: the control that proves the bytes are searchable.
    const control = 'CONTROL-CWD-IS-STORED';
    text += assistant({ id: 'mc', cwd: `/home/${control}` });
    writeFileSync(file('s1.jsonl'), text);
    const report = await ingest();
    expect(report.messages).toBe(51);
    const paths = homePaths(home.dir);
    await publishGeneration(db, paths, 1);
    await db.run('CHECKPOINT');
    db.close();
    const bytes = Buffer.concat([readFileSync(paths.workDb), existsSync(`${paths.workDb}.wal`) ? readFileSync(`${paths.workDb}.wal`) : Buffer.alloc(0)]);
    const published = readFileSync(paths.published);
    expect(bytes.includes(control)).toBe(true);
    for (const m of markers) {
      expect(bytes.includes(m), `${m} in work.duckdb`).toBe(false);
      expect(published.includes(m), `${m} in the published file`).toBe(false);
      expect(JSON.stringify(report)).not.toContain(m);
    }
    // The bookkeeping is the puller's own: not in the published file.
    const tables = await queryFile<{ name: string }>(
      paths.published,
      `SELECT schema_name || '.' || table_name AS name FROM duckdb_tables() WHERE database_name = current_database()`,
    );
    expect(tables.map((t) => t.name)).toContain('base.messages');
    expect(tables.map((t) => t.name)).not.toContain('lattice.transcript_files');
    // Opened again for the rig to close, as every test leaves it.
    rig.db = await openWorkDb(paths.workDb, home.dir);
  });
});
