import { describe, expect, it } from 'vitest';
import { nextDelaySeconds } from '../../src/puller/puller.js';

// The wait before the next tick; test/first-run.test.ts shows a real puller not waiting it out
// once repo-recall comes up.

describe('the failure backoff', () => {
  it('starts at a second and doubles up to ten minutes, or the interval when that is longer', () => {
    const table: Array<[interval: number, failures: number, delay: number]> = [
      [60, 0, 60],
      [60, 1, 1],
      [60, 2, 2],
      [60, 4, 8],
      [60, 7, 64],
      [60, 10, 512],
      [60, 11, 600],
      [60, 50, 600],
      [0.2, 0, 0.2],
      [0.2, 1, 0.2],
      [0.2, 3, 0.8],
      [3600, 1, 1],
      [3600, 30, 3600],
    ];
    for (const [interval, failures, delay] of table) {
      expect(nextDelaySeconds(interval, failures), `interval ${interval}, ${failures} failures`).toBe(delay);
    }
  });
});
