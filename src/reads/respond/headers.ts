import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { VERSION } from '../../shared/version.js';
import type { Freshness } from '../contract/api-types.js';

/** The validators and freshness headers of a data response (the catalog and the rows). */

/**
 * The ETag of an answer: its generation and query, plus the generation's publish time, so that a
 * home rebuilt from scratch (generations counting from 1 again) never matches an old client's tag.
 */
export function etagFor(generation: number, publishedAt: string, key: string): string {
  // The server's version too: an upgrade may change a body's shape for the same generation.
  const digest = createHash('sha1').update(`${VERSION}\n${publishedAt}\n${key}`).digest('base64url').slice(0, 20);
  return `W/"g${generation}-${digest}"`;
}

export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const strip = (t: string) => t.trim().replace(/^W\//, '');
  const want = strip(etag);
  return header.split(',').some((t) => t.trim() === '*' || strip(t) === want);
}

function setFreshnessHeaders(reply: FastifyReply, f: Freshness): void {
  reply.header('x-lattice-generation', String(f.generation));
  reply.header('x-lattice-published-at', f.published_at);
  if (f.materialized_at) reply.header('x-lattice-materialized-at', f.materialized_at);
  if (f.scan_version !== null) reply.header('x-lattice-scan-version', String(f.scan_version));
  if (f.timezone !== null) reply.header('x-lattice-timezone', f.timezone);
  reply.header('x-lattice-age-seconds', String(f.age_seconds));
}

/** Sets freshness, ETag and caching headers; true when If-None-Match matched (answer 304). */
export function validate(reply: FastifyReply, ifNoneMatch: string | undefined, etag: string, freshness: Freshness): boolean {
  setFreshnessHeaders(reply, freshness);
  reply.header('etag', etag).header('cache-control', 'no-cache').header('vary', 'Accept');
  return etagMatches(ifNoneMatch, etag);
}
