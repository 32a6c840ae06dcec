import { readdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChangedLines } from '../../src/puller/changed-lines.js';
import { ElementIndex } from '../../src/puller/element-index.js';
import { PayloadSplitter } from '../../src/puller/payload-splitter.js';
import { StagingError, StagingSink } from '../../src/puller/staging.js';
import type { WorkDb } from '../../src/puller/work-db.js';
import { openWorkDb } from '../../src/puller/work-schema.js';
import { homePaths } from '../../src/shared/paths.js';
import { generatePayloadText } from '../fake-recall/generate.js';
import { tempHome, type TempHome } from '../helpers/temp-home.js';

let home: TempHome;
let db: WorkDb;

beforeEach(async () => {
  home = await tempHome();
  db = await openWorkDb(homePaths(home.dir).workDb, home.dir);
});

afterEach(async () => {
  db.close();
  await home.cleanup();
});

/** The payload's text through the splitter and the digests, in `chunk`-byte pieces, as a download brings it. */
function stagedLines(text: string, chunk: number): Readable {
  const splitter = new PayloadSplitter();
  const bytes = Buffer.from(text);
  async function* split() {
    for (let at = 0; at < bytes.length; at += chunk) {
      const out = splitter.push(Buffer.from(bytes.subarray(at, at + chunk)));
      if (out.length > 0) yield out;
    }
    const rest = splitter.end();
    if (rest.length > 0) yield rest;
  }
  return Readable.from(split());
}

async function stagedCount(): Promise<number> {
  return (await db.value<number>('SELECT count(*)::DOUBLE FROM temp.staging')) ?? -1;
}

async function parts(): Promise<string[]> {
  return (await readdir(homePaths(home.dir).pullerDir)).filter((n) => n.startsWith('incoming'));
}

describe('the staging sink', () => {
  it('loads a payload larger than a part part by part, every element once, and leaves no part on disk', async () => {
    const text = generatePayloadText({ sessions: 1500, seed: 3 });
    const sink = new StagingSink(db, homePaths(home.dir).incoming, 64 * 1024);
    const changed = new ChangedLines(new ElementIndex(), true);
    await pipeline(stagedLines(text, 10_000), changed, sink);
    expect(changed.written).toBe(1500);
    // Far more than one part: 1500 elements of about 1 KB in 64 KB parts.
    expect(Buffer.byteLength(text)).toBeGreaterThan(10 * 64 * 1024);
    expect(await stagedCount()).toBe(1500);
    const digests = (await db.rows<{ d: string }>('SELECT digest AS d FROM temp.staging')).map((r) => r.d).sort();
    expect(digests).toEqual([...changed.passed].sort());
    expect(await parts()).toEqual([]);
  });

  it('creates an empty staging table for a payload with no sessions, spaces in its array or not', async () => {
    for (const text of ['{"sessions": [], "scan_version": 1}', '{"sessions": [ \n ], "scan_version": 1}']) {
      const changed = new ChangedLines(new ElementIndex(), true);
      await pipeline(stagedLines(text, 7), changed, new StagingSink(db, homePaths(home.dir).incoming));
      expect(changed.lines, text).toBe(0);
      expect(await stagedCount(), text).toBe(0);
    }
    expect(await parts()).toEqual([]);
  });

  it('removes its parts when the download fails half way', async () => {
    const text = generatePayloadText({ sessions: 800, seed: 4 });
    const sink = new StagingSink(db, homePaths(home.dir).incoming, 32 * 1024);
    const lines = stagedLines(text, 8_000);
    async function* cutShort() {
      let sent = 0;
      for await (const chunk of lines) {
        yield chunk as Buffer;
        sent += (chunk as Buffer).length;
        if (sent > 200_000) throw new Error('connection reset');
      }
    }
    await expect(pipeline(Readable.from(cutShort()), new ChangedLines(new ElementIndex(), true), sink)).rejects.toThrow('connection reset');
    // As the fetch does before a retry: wait until nothing of the sink runs.
    await sink.settled();
    expect(await parts()).toEqual([]);
  });

  it('fails with a StagingError, not a network error, when DuckDB cannot stage a part', async () => {
    // Something named staging that a table cannot replace.
    await db.run('CREATE TEMP VIEW staging AS SELECT 1 AS x');
    const sink = new StagingSink(db, homePaths(home.dir).incoming);
    const line = Buffer.from('{"d":"a","e":{"session":null,"repos":[]}}\n');
    const err = await pipeline(Readable.from([line]), sink).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StagingError);
    expect((err as Error).message).toMatch(/^DuckDB could not stage the downloaded sessions: /);
    await sink.settled();
    expect(await parts()).toEqual([]);
  });
});
