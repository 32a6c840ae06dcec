import { describe, expect, it } from 'vitest';
import { fatalCause, fatalSentence, isDiskCondition } from '../../src/puller/fatal-errors.js';
import { afterFatal } from '../../src/puller/fatal-errors.js';
import { initialStatus } from '../../src/puller/status-writer.js';
import { UpstreamError } from '../../src/puller/upstream-error.js';

/**
 * Which errors end the puller (src/puller/fatal-errors.ts), on the texts DuckDB, Node and `cp`
 * really give (the first two seen on a full tmpfs; the others from DuckDB's and coreutils' sources).
 */

const WORK = '/home/u/.session-lattice/puller/work.duckdb';
const errno = (code: string, message: string) => Object.assign(new Error(message), { code });

const CASES: Array<[string, unknown, ReturnType<typeof fatalCause>]> = [
  [
    'a checkpoint on a full disk',
    new Error(`FATAL Error: Failed to create checkpoint because of error: Could not write file "${WORK}": No space left on device`),
    'disk-full',
  ],
  [
    'every statement after it',
    new Error(
      `FATAL Error: Failed: database has been invalidated because of a previous fatal error. The database must be restarted prior to being used again.\nOriginal error: "Failed to create checkpoint because of error: Could not write file "${WORK}": No space left on device"`,
    ),
    'disk-full',
  ],
  [
    'an invalidated database of another first cause',
    new Error('FATAL Error: Failed: database has been invalidated because of a previous fatal error.'),
    'invalidated',
  ],
  ['the staged payload on a full disk (Node)', errno('ENOSPC', 'ENOSPC: no space left on device, write'), 'disk-full'],
  ['a quota', errno('EDQUOT', 'EDQUOT: disk quota exceeded, write'), 'disk-full'],
  [
    'cp of a publish',
    new Error(`could not copy the working database to publish it (cp a b): Command failed: cp a b\ncp: error writing 'b': No space left on device`),
    'disk-full',
  ],
  ['a wrapped errno', new Error('load failed', { cause: errno('EROFS', 'EROFS: read-only file system, open') }), 'read-only'],
  ['a failing disk', errno('EIO', 'EIO: i/o error, read'), 'io'],
  ['DuckDB I/O on the working file', new Error(`IO Error: Could not read enough bytes from file "${WORK}": attempted to read 4096 bytes`), 'io'],
  ['DuckDB I/O on its WAL', new Error(`IO Error: Could not write file "${WORK}.wal": Bad file descriptor`), 'io'],
  [
    'DuckDB I/O on a staged part (gone): the tick fails, the process lives',
    new Error('IO Error: No files found that match the pattern "/h/puller/incoming.3.ndjson"'),
    null,
  ],
  ['upstream', new Error('repo-recall answered 500'), null],
  [
    'upstream quoting its own full disk',
    new UpstreamError('repo-recall answered 500 for GET /api/sessions: FATAL Error: No space left on device', true, 'status'),
    null,
  ],
  [
    'the staged body failing to write, wrapped as an upstream request failure',
    new UpstreamError('repo-recall request failed: ENOSPC: no space left on device, write', false, 'network', {
      cause: errno('ENOSPC', 'ENOSPC: no space left on device, write'),
    }),
    'disk-full',
  ],
  ['a view', new Error('Binder Error: column x not found'), null],
  ['out of memory', new Error('Out of Memory Error: failed to allocate data of size 16.0 MiB (1.8 GiB/1.8 GiB used)'), null],
];

describe('fatal storage errors', () => {
  it.each(CASES)('%s', (_name, err, cause) => {
    expect(fatalCause(err, WORK)).toBe(cause);
  });

  it('tells a full or read-only disk (moving the file aside would not help) from a broken file', () => {
    expect(['disk-full', 'read-only', 'io', 'invalidated', null].map((c) => isDiskCondition(c as never))).toEqual([true, true, false, false, false]);
  });

  it('says the cause, the home and the free space, then the original text', () => {
    const text = fatalSentence('disk-full', '/h', { freeBytes: 123_456, totalBytes: 6e6 }, errno('ENOSPC', 'ENOSPC: no space left on device, write'));
    expect(text).toBe(
      'fatal storage error: no space left on device at /h, 121 KiB free; the puller exits to be restarted: ENOSPC: no space left on device, write',
    );
  });
});

describe('a puller restarted after a fatal error', () => {
  const base = initialStatus('0.1.0', 60, new Date('2026-06-01T00:00:00Z'));
  const failedWith = (error: string, n: number) => ({
    ...base,
    state: 'stopped' as const,
    last_tick_outcome: 'failed' as const,
    last_tick_finished_at: '2026-06-01T00:01:00.000Z',
    last_error: error,
    last_error_at: '2026-06-01T00:01:00.000Z',
    consecutive_failures: n,
  });

  it('carries the failure and its count on, so a restart loop still turns failing after 3', () => {
    const fatal = 'fatal storage error: an I/O error on the working database in /h, 5.0 MB free; the puller exits to be restarted: EIO';
    expect(afterFatal(failedWith(fatal, 2))).toEqual({
      last_tick_finished_at: '2026-06-01T00:01:00.000Z',
      last_tick_outcome: 'failed',
      last_error: fatal,
      last_error_code: 'fatal_storage',
      last_error_at: '2026-06-01T00:01:00.000Z',
      consecutive_failures: 2,
    });
  });

  it('knows a fatal failure by its code when status.json has one, by its sentence when it is older', () => {
    expect(afterFatal({ ...failedWith('disk gone', 4), last_error_code: 'fatal_storage' })).toMatchObject({
      consecutive_failures: 4,
      last_error_code: 'fatal_storage',
    });
    expect(afterFatal({ ...failedWith('fatal storage error: quoted by upstream', 4), last_error_code: 'upstream' })).toEqual({});
    const { last_error_code: _absent, ...older } = failedWith('fatal storage error: no space left on device at /h', 1);
    expect(afterFatal(older)).toMatchObject({ consecutive_failures: 1, last_error_code: 'fatal_storage' });
  });

  it('starts afresh after any other ending', () => {
    expect(afterFatal(failedWith('repo-recall answered 500', 2))).toEqual({});
    expect(afterFatal({ ...base, last_tick_outcome: 'published' })).toEqual({});
    expect(afterFatal(null)).toEqual({});
  });
});
