import { appendFile, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventLog } from '../../src/puller/event-log.js';
import { parseEventLines, readEventLog } from '../../src/shared/events.js';
import { tempHome, type TempHome } from '../helpers/temp-home.js';

/*
 * The event log's writer in-process (the puller's use of it, with real processes, is in
 * test/puller-events.test.ts): rotation by size, ids across the two files and across reopening,
 * a torn last line.
 */

let home: TempHome;
let paths: { events: string; eventsRotated: string };
const errors: unknown[] = [];

beforeEach(async () => {
  home = await tempHome('lattice-event-log-');
  paths = { events: join(home.dir, 'puller', 'events.jsonl'), eventsRotated: join(home.dir, 'puller', 'events.1.jsonl') };
  errors.length = 0;
});

afterEach(async () => {
  await home.cleanup();
});

const open = (maxBytes: number) => EventLog.open(paths, maxBytes, (err) => errors.push(err));

async function idsIn(path: string): Promise<number[]> {
  return parseEventLines(await readFile(path, 'utf8')).map((e) => e.id);
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('EventLog', () => {
  it('rotates before a file would pass the bound, keeping ids contiguous across the two files', async () => {
    const log = await open(300);
    for (let i = 0; i < 40; i++) void log.append({ type: 'puller_stopping', reason: `reason ${i}` });
    await log.append({ type: 'tick_started' });
    expect(errors).toEqual([]);
    for (const path of [paths.events, paths.eventsRotated]) expect((await stat(path)).size).toBeLessThanOrEqual(300);
    const rotated = await idsIn(paths.eventsRotated);
    const current = await idsIn(paths.events);
    expect(rotated).toEqual(range(rotated[0]!, rotated.at(-1)!));
    expect(current).toEqual(range(rotated.at(-1)! + 1, 41));
    expect((await readEventLog(paths)).map((e) => e.id)).toEqual([...rotated, ...current]);
  });

  it('a line longer than the bound gets a file of its own', async () => {
    const log = await open(100);
    await log.append({ type: 'tick_started' });
    await log.append({ type: 'puller_stopping', reason: 'x'.repeat(300) });
    await log.append({ type: 'tick_started' });
    expect(await idsIn(paths.eventsRotated)).toEqual([2]);
    expect(await idsIn(paths.events)).toEqual([3]);
  });

  it('a reopened log continues after the largest id, from the rotated file when the current one has none, past a torn line', async () => {
    const first = await open(1024);
    for (let i = 0; i < 5; i++) await first.append({ type: 'tick_started' });
    // A puller killed mid-append: half a line, no newline.
    await appendFile(paths.events, '{"id":6,"at":"2026-');
    const second = await open(1024);
    expect(second.lastEventId).toBe(5);
    await second.append({ type: 'tick_started' });
    const text = await readFile(paths.events, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.split('\n')).toContain('{"id":6,"at":"2026-');
    expect((await readEventLog(paths)).map((e) => e.id)).toEqual(range(1, 6));
    expect(errors).toEqual([]);

    // Rotated just before a restart: no current file, the ids are in events.1.jsonl.
    await rename(paths.events, paths.eventsRotated);
    const third = await open(1024);
    expect(third.lastEventId).toBe(6);
  });
});
