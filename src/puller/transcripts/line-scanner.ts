import { readSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { USAGE_MARKER } from './parse-line.js';

const MIB = 1024 * 1024;

/**
 * The longest line parsed. A response's line holds one content block: even the largest output
 * (128k tokens, ~0.5 MB of text, a few MB if every character were \u-escaped) stays well under
 * it, while a user line can be longer (pasted screenshots, as base64) and is never parsed anyway.
 * It also bounds what one read holds in memory: a 1 GB line streams past in chunks.
 */
export const LINE_LIMIT = 8 * MIB;
/** Bytes per read. */
const CHUNK = 1 * MIB;

/** Where a scan of a file stopped, to resume from on its next append. */
export interface ScanPosition {
  /** Byte offset after the last complete line (inside an oversized line: how far it was skipped). */
  offset: number;
  /** Inside a line longer than LINE_LIMIT, being skipped to its end. */
  skipping: boolean;
  /** The line being skipped carries the usage marker (so it counts as an oversized response when it ends). */
  skippingUsage: boolean;
}

export interface ScanResult extends ScanPosition {
  bytesRead: number;
  /** Lines over LINE_LIMIT that could have held a response. */
  oversized: number;
}

/** Called for each complete line that contains USAGE_MARKER: `buf[start, end)`, at file offset `offset`. */
export type LineSink = (buf: Buffer, start: number, end: number, offset: number) => void;

/** A reusable buffer for scans (one at a time): the longest line plus a chunk. */
export function scanBuffer(): Buffer {
  return Buffer.allocUnsafe(LINE_LIMIT + CHUNK);
}

const NL = 10;
/** Bytes kept from a skipped piece, so a marker cut in two by a read is still seen. */
const KEEP = USAGE_MARKER.length - 1;

function hasMarker(view: Buffer, from: number, to: number): boolean {
  const at = view.indexOf(USAGE_MARKER, from);
  return at !== -1 && at + USAGE_MARKER.length <= to;
}

/**
 * Gives the event loop a turn every so often during a long scan (the reads are synchronous).
 * Synchronous, because a read of the page cache takes microseconds and a round trip through
 * libuv's thread pool costs more than that on a busy machine: with 3,000 files (five calls each)
 * the asynchronous reader spent most of its time waiting for its turn (docs/benchmarks.md).
 */
export class Pacer {
  private last = performance.now();
  constructor(private readonly everyMs = 10) {}
  async maybeYield(signal?: AbortSignal): Promise<void> {
    if (performance.now() - this.last < this.everyMs) return;
    await yieldToLoop();
    signal?.throwIfAborted();
    this.last = performance.now();
  }
}

/**
 * Reads file `fd` from `from.offset` up to `size` (its size when opened) in CHUNK reads, handing each complete line with the
 * usage marker to `sink`; lines without it are never decoded. A trailing line without its newline
 * is left for the next scan (Claude Code may be writing it). A line past LINE_LIMIT is not held:
 * it is skipped to its newline (across scans, if need be) and counted when it carries the marker.
 */
export async function scanLines(
  fd: number,
  size: number,
  from: ScanPosition,
  buf: Buffer,
  sink: LineSink,
  pacer: Pacer | null,
  signal?: AbortSignal,
): Promise<ScanResult> {
  let base = from.offset; // file offset of buf[0]
  let have = 0;
  let skipping = from.skipping;
  let skippingUsage = from.skippingUsage;
  let bytesRead = 0;
  let oversized = 0;
  for (;;) {
    if (pacer) await pacer.maybeYield(signal);
    const want = Math.min(CHUNK, size - (base + have));
    // Up to the size it had when opened: what is appended while it is read waits for the next tick.
    const n = want > 0 ? readSync(fd, buf, have, want, base + have) : 0;
    if (n === 0) break;
    bytesRead += n;
    have += n;
    const view = buf.subarray(0, have);
    let at = 0;
    if (skipping) {
      const nl = view.indexOf(NL);
      skippingUsage ||= hasMarker(view, 0, nl === -1 ? have : nl);
      if (nl === -1) {
        const keep = Math.min(KEEP, have);
        buf.copy(buf, 0, have - keep, have);
        base += have - keep;
        have = keep;
        continue;
      }
      if (skippingUsage) oversized++;
      skipping = false;
      skippingUsage = false;
      at = nl + 1;
    }
    const lastNl = view.lastIndexOf(NL);
    if (lastNl >= at) {
      let pos = at;
      while (pos <= lastNl) {
        const m = view.indexOf(USAGE_MARKER, pos);
        if (m === -1 || m > lastNl) break;
        const start = m > at ? Math.max(at, view.lastIndexOf(NL, m - 1) + 1) : at;
        const end = view.indexOf(NL, m);
        if (end - start > LINE_LIMIT) oversized++;
        else sink(view, start, end, base + start);
        pos = end + 1;
      }
      at = lastNl + 1;
    }
    const rest = have - at;
    if (rest > LINE_LIMIT) {
      // Too long to hold: from here on it is skipped, remembering whether it could be a response.
      skipping = true;
      skippingUsage = hasMarker(view, at, have);
      const keep = Math.min(KEEP, rest);
      buf.copy(buf, 0, have - keep, have);
      base += have - keep;
      have = keep;
    } else {
      buf.copy(buf, 0, at, have);
      base += at;
      have = rest;
    }
  }
  return { offset: skipping ? base + have : base, skipping, skippingUsage, bytesRead, oversized };
}
