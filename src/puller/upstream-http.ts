import type { Readable } from 'node:stream';

/** Longer ETags are not echoed: repo-recall's are `"<scan_version>"`, a few bytes. */
const MAX_ETAG_LENGTH = 256;
/**
 * RFC 9110 section 8.8.3: `entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE`, `etagc = %x21 / %x23-7E /
 * obs-text`. No spaces, no quotes inside, no control characters.
 */
const ENTITY_TAG = /^(?:W\/)?"[\x21\x23-\x7e\x80-\xff]*"$/;

/**
 * The ETag header as we may send it back in If-None-Match, or null when it is absent or not a valid
 * entity tag (a header we echo must be one we could have written ourselves).
 */
export function validEntityTag(raw: string | string[] | undefined): string | null {
  if (typeof raw !== 'string' || raw.length > MAX_ETAG_LENGTH) return null;
  return ENTITY_TAG.test(raw) ? raw : null;
}

/**
 * Retry-After (RFC 9110 section 10.2.3) in ms: delay-seconds or an HTTP-date (a date in the past
 * is 0). Null when absent or unreadable, so the caller falls back to its own backoff.
 */
export function retryAfterMs(raw: string | string[] | undefined, now: number = Date.now()): number | null {
  if (typeof raw !== 'string') return null;
  const text = raw.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Date.parse reads the IMF-fixdate form (and the obsolete ones) an HTTP-date takes.
  if (!/[a-z]/i.test(text)) return null;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** What an error body may cost us: enough for a message, never the rest of an endless body. */
const ERROR_BODY_BYTES = 4096;
const ERROR_BODY_MS = 2_000;
const ERROR_LINE_CHARS = 200;

/**
 * The first non-empty line of an error body (at most 4 KiB read, for at most 2 s), with control
 * characters blanked; the rest of the body is dropped with its connection.
 */
export async function errorBodyLine(body: Readable): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  const timer = setTimeout(() => body.destroy(), ERROR_BODY_MS);
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= ERROR_BODY_BYTES) break;
    }
  } catch {
    // A body cut short still says what it said so far.
  } finally {
    clearTimeout(timer);
    body.destroy();
  }
  const text = Buffer.concat(parts).subarray(0, ERROR_BODY_BYTES).toString('utf8');
  const line = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l !== '');
  return (line ?? '').replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, ERROR_LINE_CHARS);
}
