import { readFile } from 'node:fs/promises';

/**
 * Bytes this process (and the children it has reaped) caused to be written to storage so far:
 * Linux's /proc/self/io `write_bytes`, less what was truncated away before it reached the disk.
 * Null where the kernel does not say (macOS): a tick then reports no figure rather than a guess.
 */
export async function writtenBytes(): Promise<number | null> {
  let text: string;
  try {
    text = await readFile('/proc/self/io', 'utf8');
  } catch {
    return null;
  }
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
  const bytes = field('write_bytes') - field('cancelled_write_bytes');
  return Number.isFinite(bytes) ? bytes : null;
}
