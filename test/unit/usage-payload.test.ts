import { expect, it } from 'vitest';
import { utc } from '../views/payload.js';
import { USAGE_TIMEZONE } from '../views/usage-payload.js';

// utc() keeps the payload's times readable; this guards the table in usage-payload.ts against a typo.
it('the payload table: 01:30 twice on 2026-11-01 in Los Angeles', () => {
  const local = (t: string) => new Date(utc(t) * 1000).toLocaleString('en-CA', { timeZone: USAGE_TIMEZONE, hour12: false, timeZoneName: 'short' });
  expect(local('2026-11-01 08:30:00')).toBe('2026-11-01, 01:30:00 PDT');
  expect(local('2026-11-01 09:30:00')).toBe('2026-11-01, 01:30:00 PST');
});
