/**
 * The transcripts source's parse workers (src/puller/transcripts/parse-pool.ts): a first ingest
 * past POOL_MIN_BYTES is read in worker threads and comes out as the main thread would read it; a
 * worker that dies fails the read naming its file, and a signal ends the workers.
 */
import { appendFileSync, mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingestTranscripts } from '../src/puller/transcripts/index.js';
import { LINE_LIMIT } from '../src/puller/transcripts/line-scanner.js';
import { ParseWorkerError, POOL_MIN_BYTES, readInWorkers, type ParseResult } from '../src/puller/transcripts/parse-pool.js';
import { WorkDb } from '../src/puller/work-db.js';
import { homePaths } from '../src/shared/paths.js';
import { tempHome, type TempHome } from './helpers/processes.js';
import { assistant, user } from './transcripts/lines.js';

let home: TempHome;
let projects: string;
let db: WorkDb;

beforeEach(async () => {
  home = await tempHome('lattice-transcripts-workers-');
  projects = join(home.dir, 'claude', 'projects');
  mkdirSync(join(projects, 'p'), { recursive: true });
  db = await WorkDb.open(homePaths(home.dir).workDb, home.dir);
});

afterEach(async () => {
  db.close();
  await home.cleanup();
});

/** A transcript that starts with `zeros` bytes of a sparse hole (one line, over LINE_LIMIT, without usage: passed over), then `text`. */
function sparseFile(name: string, zeros: number, text: string): string {
  const path = join(projects, 'p', name);
  writeFileSync(path, '');
  truncateSync(path, zeros);
  appendFileSync(path, `\n${text}`);
  return path;
}

describe('parse workers', () => {
  it('a first ingest past POOL_MIN_BYTES is read in workers: rows, offsets, skipped counts and warnings as on the main thread', async () => {
    const zeros = Math.ceil(POOL_MIN_BYTES / 3) + LINE_LIMIT;
    const files: string[] = [];
    for (const f of [0, 1, 2]) {
      let text = user('hello');
      for (let i = 0; i < 700; i++) {
        const base = { sessionId: `s${f}`, id: `msg_${f}_${i}`, requestId: `req_${f}_${i}`, cwd: `/p/${f}` };
        text += assistant({ ...base, output: 1, timestamp: '2025-06-01T10:00:00.000Z' }) + assistant({ ...base, output: 10 + i, timestamp: '2025-06-01T10:00:01.000Z' });
      }
      if (f === 1) text += '{"message":{"usage":{"input_tokens":1}}, not json\n';
      // The same response in files 0 and 2 with equal tokens: the first file in path order keeps it.
      if (f === 2) text += assistant({ sessionId: 's0', id: 'msg_0_0', requestId: 'req_0_0', cwd: '/p/0', output: 10 });
      // A line still being written (no newline): left for the next tick.
      if (f === 0) text += '{"type":"assistant","message":{"usage":';
      files.push(sparseFile(`f${f}.jsonl`, zeros, text));
    }
    const report = await ingestTranscripts(db, { directories: [projects] });
    expect(report).toMatchObject({ files: 3, filesRead: 3, added: 2100, messages: 2100, warnings: [] });
    expect(report.skipped).toEqual([{ file: files[1], malformed: 1, oversized: 0 }]);
    const wrong = await db.rows<{ message_id: string }>(`
      SELECT message_id FROM base.messages
      WHERE output_tokens <> 10 + split_part(message_id, '_', 3)::INT OR session_uuid <> 's' || split_part(message_id, '_', 2)
         OR source_file <> '${join(projects, 'p', 'f')}' || split_part(message_id, '_', 2) || '.jsonl' OR "timestamp" <> TIMESTAMP '2025-06-01 10:00:00'`);
    expect(wrong).toEqual([]);
    // f0 stopped before its unfinished line; it is completed and read in an incremental tick (on the main thread).
    appendFileSync(files[0]!, '{"input_tokens":1,"output_tokens":2}},"sessionId":"s0","timestamp":"2025-06-01T11:00:00.000Z"}\n');
    expect(await ingestTranscripts(db, { directories: [projects] })).toMatchObject({ filesRead: 1, added: 1, messages: 2101, skipped: [] });
  });

  it('a worker that dies fails the read and names the file it was reading', async () => {
    const path = join(projects, 'p', 'a.jsonl');
    writeFileSync(path, assistant({ id: 'msg_a' }));
    const read = readInWorkers([{ index: 0, path, known: undefined, size: 1 }], () => undefined, {
      workers: 1,
      // Too small a heap for a worker to start: it dies with ERR_WORKER_OUT_OF_MEMORY.
      resourceLimits: { maxOldGenerationSizeMb: 1, maxYoungGenerationSizeMb: 1 },
    });
    await expect(read).rejects.toThrow(ParseWorkerError);
    await expect(read).rejects.toThrow(`a transcript parse worker failed while reading ${path} (ERR_WORKER_OUT_OF_MEMORY)`);
  });

  it('a signal ends the workers: the read rejects with its reason and hands over nothing more', async () => {
    const tasks = [0, 1, 2, 3, 4, 5].map((index) => {
      const path = join(projects, 'p', `s${index}.jsonl`);
      writeFileSync(path, assistant({ id: `msg_${index}` }));
      return { index, path, known: undefined, size: 1 };
    });
    const stop = new AbortController();
    const seen: ParseResult[] = [];
    const read = readInWorkers(tasks, (r) => {
      seen.push(r);
      stop.abort(new Error('stopping'));
    }, { workers: 2, signal: stop.signal });
    await expect(read).rejects.toThrow('stopping');
    expect(seen).toHaveLength(1);
    expect(seen[0]!.read).toMatchObject({ rows: { count: 1, messageIds: [expect.stringMatching(/^msg_\d$/)] } });
  });

  it('an unreadable file is a warning from a worker too; every file is answered once', async () => {
    const good = join(projects, 'p', 'good.jsonl');
    writeFileSync(good, assistant({ id: 'msg_g' }) + assistant({ id: 'msg_h' }));
    const seen = new Map<number, ParseResult['read']>();
    await readInWorkers([{ index: 0, path: good, known: undefined, size: 10 }, { index: 1, path: join(projects, 'p', 'gone.jsonl'), known: undefined, size: 1 }], (r) => {
      expect(seen.has(r.index)).toBe(false);
      seen.set(r.index, r.read);
    }, { workers: 2 });
    expect(seen.get(0)).toMatchObject({ bytesRead: expect.any(Number), rows: { count: 2, messageIds: ['msg_g', 'msg_h'] } });
    expect(seen.get(1)).toEqual({ warning: `transcript vanished before it was read: ${join(projects, 'p', 'gone.jsonl')}` });
  });
});
