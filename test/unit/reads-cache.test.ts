import { describe, expect, it } from 'vitest';
import { ResponseCache, type CachedBody } from '../../src/reads/data/response-cache.js';

const body = (generation: number, text: string): CachedBody => ({
  generation,
  contentType: 'application/json',
  headers: {},
  before: Buffer.from(text),
  after: null,
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
