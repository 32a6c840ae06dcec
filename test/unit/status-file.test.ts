import { describe, expect, it } from 'vitest';
import { PullerStatusSchema } from '../../src/shared/status.js';

// status.json across versions of the puller (here: before the duckdb field): the reads server and `status` read what an older one wrote.
describe('DuckDB memory_limit and threads', () => {
  it('status.json without the duckdb field (an older puller) still reads', () => {
    const old = {
      pid: 1,
      version: '0.0.1',
      started_at: '2026-01-01T00:00:00.000Z',
      refresh_interval_seconds: 60,
      state: 'idle',
      last_tick_started_at: null,
      last_tick_finished_at: null,
      last_tick_outcome: null,
      last_success_at: null,
      last_error: null,
      last_error_at: null,
      consecutive_failures: 0,
      next_tick_due_at: null,
      generation: null,
      scan_version: null,
      rejected_rows: null,
      view_errors: {},
    };
    const parsed = PullerStatusSchema.parse(old);
    expect(parsed.duckdb).toBeUndefined();
  });
});
