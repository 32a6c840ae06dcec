import { afterEach, describe, expect, it, vi } from 'vitest';
import { watchPace } from '../src/puller/body-pace.js';
import { retryAfterMs, validEntityTag } from '../src/puller/upstream-http.js';

/** The rules of the upstream edge, as pure functions; upstream-edge.test.ts runs them end to end. */

describe('validEntityTag', () => {
  it('keeps what RFC 9110 calls an entity tag', () => {
    for (const tag of ['"1"', '""', 'W/"abc"', '"x-y_z.0~!#$%"', '"\u00e9"']) expect(validEntityTag(tag), tag).toBe(tag);
  });

  it('refuses anything else: unquoted, quotes or spaces inside, control characters, too long, several', () => {
    for (const tag of ['unquoted-1', '"a"b"', '"a b"', 'W/ "x"', 'w/"x"', '"x', 'x"', '"a\tb"', '"1", "2"', `"${'x'.repeat(300)}"`, '']) {
      expect(validEntityTag(tag), JSON.stringify(tag)).toBeNull();
    }
    expect(validEntityTag(undefined)).toBeNull();
    expect(validEntityTag(['"1"', '"2"'])).toBeNull();
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');

  it('reads delay-seconds and HTTP dates (a past date is no wait)', () => {
    expect(retryAfterMs('5', now)).toBe(5000);
    expect(retryAfterMs(' 0 ', now)).toBe(0);
    expect(retryAfterMs('Sun, 01 Mar 2026 12:00:10 GMT', now)).toBe(10_000);
    expect(retryAfterMs('Sun, 01 Mar 2026 11:00:00 GMT', now)).toBe(0);
  });

  it('gives null for what it cannot read, so the caller backs off on its own', () => {
    for (const raw of [undefined, '', 'soon', '-1', '1.5', '1e3', ['5']]) expect(retryAfterMs(raw, now), JSON.stringify(raw)).toBeNull();
  });
});

describe('watchPace', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('stops a body once a whole window brings less than the minimum, and only once', () => {
    vi.useFakeTimers();
    let received = 0;
    const slow: number[] = [];
    const stop = watchPace({ windowMs: 1000, minBytes: 100, received: () => received, onTooSlow: (n) => slow.push(n) });
    received = 150;
    vi.advanceTimersByTime(1000);
    expect(slow).toEqual([]);
    received = 200;
    vi.advanceTimersByTime(1000);
    expect(slow).toEqual([50]);
    vi.advanceTimersByTime(5000);
    expect(slow).toEqual([50]);
    stop();
  });

  it('judges nothing once stopped', () => {
    vi.useFakeTimers();
    const slow: number[] = [];
    const stop = watchPace({ windowMs: 1000, minBytes: 100, received: () => 0, onTooSlow: (n) => slow.push(n) });
    stop();
    vi.advanceTimersByTime(10_000);
    expect(slow).toEqual([]);
  });
});
