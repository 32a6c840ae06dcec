import { describe, expect, it } from 'vitest';
import { bodyOf, ResponseCache, sizeOf, type CachedBody } from '../../src/reads/data/response-cache.js';

const body = (generation: number, text: string): CachedBody => ({
  generation,
  contentType: 'application/json',
  headers: {},
  before: Buffer.from(text),
  after: null,
});

/** A body of `bytes` bytes as the bound counts it (sizeOf adds a fixed overhead per entry). */
const sized = (generation: number, bytes: number): CachedBody => body(generation, 'x'.repeat(bytes - sizeOf(body(generation, ''))));

describe('ResponseCache bounds and eviction', () => {
  it('keeps entries up to maxBytes exactly, then drops the least recently used first', () => {
    const cache = new ResponseCache(1000, 1000);
    for (const k of ['a', 'b', 'c', 'd']) cache.set(k, sized(1, 250));
    expect([cache.size, cache.heldBytes]).toEqual([4, 1000]);
    cache.get(1, 'a'); // a is now the most recently used; b the least
    cache.set('e', sized(1, 250));
    expect(['a', 'b', 'c', 'd', 'e'].filter((k) => cache.get(1, k) !== undefined)).toEqual(['a', 'c', 'd', 'e']);
    expect(cache.heldBytes).toBe(1000);
  });

  it('evicts as many entries as a large newcomer needs, oldest first', () => {
    const cache = new ResponseCache(1000, 1000);
    for (const k of ['a', 'b', 'c', 'd']) cache.set(k, sized(1, 250));
    cache.set('big', sized(1, 700));
    expect(['a', 'b', 'c', 'd', 'big'].filter((k) => cache.get(1, k) !== undefined)).toEqual(['d', 'big']);
    expect(cache.heldBytes).toBe(950);
  });

  it('does not keep an entry over maxEntryBytes or over the whole bound, and keeps what it held', () => {
    const cache = new ResponseCache(1000, 400);
    cache.set('small', sized(1, 300));
    cache.set('entry-too-big', sized(1, 401));
    const bounded = new ResponseCache(300, 1000);
    bounded.set('bound-too-big', sized(1, 301));
    expect([cache.get(1, 'entry-too-big'), bounded.get(1, 'bound-too-big')]).toEqual([undefined, undefined]);
    expect(cache.get(1, 'small')).toBeDefined();
    expect([cache.size, cache.heldBytes, bounded.size, bounded.heldBytes]).toEqual([1, 300, 0, 0]);
    // At the limit exactly it is kept.
    cache.set('at-limit', sized(1, 400));
    expect(cache.get(1, 'at-limit')).toBeDefined();
  });

  it('replacing a key counts its bytes once', () => {
    const cache = new ResponseCache(1000, 1000);
    cache.set('k', sized(1, 300));
    cache.set('k', sized(1, 500));
    expect([cache.size, cache.heldBytes]).toEqual([1, 500]);
    expect(cache.get(1, 'k')!.before.length).toBe(500 - sizeOf(body(1, '')));
  });

  it('counts hits and misses, a lookup for another generation as a miss', () => {
    const cache = new ResponseCache();
    cache.set('k', body(2, 'x'));
    cache.get(2, 'k');
    cache.get(2, 'nope');
    cache.get(1, 'k');
    cache.get(3, 'k');
    expect([cache.hits, cache.misses]).toEqual([1, 3]);
  });
});

describe('ResponseCache across a generation switch', () => {
  it('drops every entry of the old generation when a newer one is stored', () => {
    const cache = new ResponseCache();
    cache.set('a', body(1, 'one'));
    cache.set('b', body(1, 'two'));
    cache.set('c', body(2, 'three'));
    expect([cache.size, cache.get(1, 'a'), cache.get(2, 'a')]).toEqual([1, undefined, undefined]);
    expect(cache.get(2, 'c')?.before.toString()).toBe('three');
    expect(cache.heldBytes).toBe(sizeOf(body(2, 'three')));
  });

  it('does not keep a response of an older generation that finished after the switch', () => {
    const cache = new ResponseCache();
    cache.set('k', body(5, 'new'));
    cache.set('late', body(4, 'old'));
    expect([cache.size, cache.get(4, 'late'), cache.get(5, 'late')]).toEqual([1, undefined, undefined]);
    expect(cache.get(5, 'k')?.before.toString()).toBe('new');
  });

  it('clear() empties it for the generation being switched to', () => {
    const cache = new ResponseCache();
    cache.set('k', body(1, 'x'));
    cache.clear(2);
    expect([cache.size, cache.heldBytes, cache.get(1, 'k')]).toEqual([0, 0, undefined]);
    // Still a generation-1 response finishing late: refused, as older than the one being served.
    cache.set('k', body(1, 'x'));
    expect(cache.size).toBe(0);
  });
});

describe('a cached body', () => {
  it('splices the age of each response between the bytes around it; NDJSON and CSV are served as stored', () => {
    const json: CachedBody = { ...body(1, '{"freshness":{"age_seconds":'), after: Buffer.from('},"rows":[]}') };
    expect(bodyOf(json, 0).toString()).toBe('{"freshness":{"age_seconds":0},"rows":[]}');
    expect(JSON.parse(bodyOf(json, 12.5).toString())).toEqual({ freshness: { age_seconds: 12.5 }, rows: [] });
    const csv = body(1, 'a,b\n1,2\n');
    expect(bodyOf(csv, 99)).toBe(csv.before);
  });
});

describe('ResponseCache single flight', () => {
  it('lets concurrent misses of one key wait for the one render under way', async () => {
    const cache = new ResponseCache();
    const first = await cache.claim(3, 'k');
    expect('done' in first).toBe(true);
    const waiting = Promise.all([cache.claim(3, 'k'), cache.claim(3, 'k')]);
    const other = await cache.claim(3, 'other key');
    expect('done' in other).toBe(true);
    const entry = body(3, '{"rows":[]}');
    if ('done' in first) first.done(entry);
    for (const w of await waiting) expect(w).toEqual({ entry });
  });

  it('hands the render to a waiter when the first one fails, and never leaks a finished flight', async () => {
    const cache = new ResponseCache();
    const first = await cache.claim(1, 'k');
    const second = cache.claim(1, 'k');
    if ('done' in first) {
      first.done(null);
      first.done(body(1, 'late')); // a second settle is ignored
    }
    const retry = await second;
    expect('done' in retry).toBe(true);
    if ('done' in retry) retry.done(null);
    const again = await cache.claim(1, 'k');
    expect('done' in again).toBe(true);
  });

  it('keeps generations apart', async () => {
    const cache = new ResponseCache();
    const old = await cache.claim(1, 'k');
    const fresh = await cache.claim(2, 'k');
    expect('done' in old && 'done' in fresh).toBe(true);
  });
});

describe('drained', () => {
  it('rejects at once for a stream the client already closed, instead of waiting for a close that came and went', async () => {
    const { PassThrough } = await import('node:stream');
    const { drained } = await import('../../src/reads/respond/body.js');
    const stream = new PassThrough();
    stream.destroy();
    await new Promise((r) => setImmediate(r));
    // "At once": settled before the event loop turns once more, whatever the machine's load.
    const settled = await Promise.race([
      drained(stream).then(
        () => 'resolved',
        (err: Error) => err.message,
      ),
      new Promise((r) => setImmediate(() => r('still waiting'))),
    ]);
    expect(settled).toBe('the client went away');
  });
});
