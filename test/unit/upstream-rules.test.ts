import { afterEach, describe, expect, it, vi } from 'vitest';
import { watchPace } from '../../src/puller/body-pace.js';
import { judgePayload, type GuardSettings, type LoadedData } from '../../src/puller/shrink-guard.js';
import { retryAfterMs, validEntityTag } from '../../src/puller/upstream-http.js';

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

describe('judgePayload (the shrink guard)', () => {
  const loaded: LoadedData = { baseVersion: 3, sessions: 1000, scanVersion: 7 };
  const settings: GuardSettings = { maxShrinkPercent: 50, confirmTicks: 3, acceptShrink: false };
  const payload = (sessions: number, scanVersion = 8, fingerprint = 'f1') => ({ fingerprint, sessions, scanVersion });

  it('never holds the first load, a growth, or a drop within the limit', () => {
    expect(judgePayload({ baseVersion: 0, sessions: 0, scanVersion: null }, payload(0, 1), null, settings).kind).toBe('accept');
    expect(judgePayload(loaded, payload(5000), null, settings).kind).toBe('accept');
    expect(judgePayload(loaded, payload(500), null, settings).kind).toBe('accept');
  });

  it('holds a drop past the limit and a scan_version that goes backwards, saying why', () => {
    const empty = judgePayload(loaded, payload(0), null, settings);
    expect(empty).toEqual({
      kind: 'hold',
      reasons: ['it would drop 1000 of the 1000 loaded sessions (100%), more than the 50% SESSION_LATTICE_MAX_SHRINK_PERCENT (--max-shrink-percent) allows'],
      seenTicks: 1,
      confirmTicks: 3,
    });
    const back = judgePayload(loaded, payload(1000, 2), null, settings);
    expect(back).toMatchObject({ kind: 'hold', reasons: ['its scan_version 2 is lower than the 7 loaded'] });
    expect(judgePayload(loaded, payload(10, 2), null, settings)).toMatchObject({
      kind: 'hold',
      reasons: [expect.stringMatching(/scan_version/), expect.stringMatching(/drop 990/)],
    });
  });

  it('accepts the very same payload on its Nth consecutive tick; another payload starts the count again', () => {
    expect(judgePayload(loaded, payload(0), { fingerprint: 'f1', seenTicks: 1 }, settings)).toMatchObject({ kind: 'hold', seenTicks: 2 });
    expect(judgePayload(loaded, payload(0), { fingerprint: 'f1', seenTicks: 2 }, settings)).toMatchObject({
      kind: 'accept',
      overrode: { by: 'repeated', seenTicks: 3 },
    });
    expect(judgePayload(loaded, payload(0, 8, 'f2'), { fingerprint: 'f1', seenTicks: 2 }, settings)).toMatchObject({ kind: 'hold', seenTicks: 1 });
  });

  it('accepts at once with --accept-shrink or a confirm count of 1; 100% never holds for size', () => {
    expect(judgePayload(loaded, payload(0), null, { ...settings, acceptShrink: true })).toMatchObject({ kind: 'accept', overrode: { by: 'accept-shrink' } });
    expect(judgePayload(loaded, payload(0), null, { ...settings, confirmTicks: 1 })).toMatchObject({ kind: 'accept', overrode: { by: 'repeated' } });
    expect(judgePayload(loaded, payload(0), null, { ...settings, maxShrinkPercent: 100 })).toEqual({ kind: 'accept', overrode: null });
  });
});
