import { describe, expect, it } from 'vitest';
import { PLAIN } from '../../src/cli/colour.js';
import { renderEventLine } from '../../src/cli/watch-format.js';
import { formatBytes } from '../../src/shared/format-bytes.js';

describe('formatBytes: one way to show a size, in binary units', () => {
  it.each([
    [0, '0 B'],
    [512, '512 B'],
    [1023, '1023 B'],
    [1024, '1 KiB'],
    [1536, '1.5 KiB'],
    [3_400_000, '3.2 MiB'],
    [64 * 1024 ** 2, '64 MiB'],
    [99.96 * 1024 ** 2, '100 MiB'],
    [150 * 1024 ** 2 + 300_000, '150 MiB'],
    [1023.96 * 1024, '1 MiB'],
    [1.5 * 1024 ** 3, '1.5 GiB'],
    [2048 * 1024 ** 4, '2048 TiB'],
  ])('%d bytes is %s', (bytes, shown) => {
    expect(formatBytes(bytes)).toBe(shown);
  });
});

describe('the watch line of a published generation', () => {
  it('shows its size as formatBytes does', () => {
    const data = JSON.stringify({ type: 'generation_published', at: '2026-01-02T03:04:05Z', generation: 12, bytes: 3_400_000, sessions: 1234 });
    expect(renderEventLine('generation_published', data, Date.parse('2026-01-02T03:04:06Z'), PLAIN)).toMatch(
      / {2}published {2}generation 12 · 1,234 sessions · 3\.2 MiB$/,
    );
  });
});
