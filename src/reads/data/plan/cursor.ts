import { createHash } from 'node:crypto';
import { z } from 'zod';
import { BadParameterError } from '../../contract/errors.js';

/**
 * Keyset cursors. A cursor holds the sort values of the last row of a page (as DuckDB's text of
 * each value, which casts back exactly) and a digest of the query it belongs to: the view, the
 * sort and the filters, which together fix the sequence of rows. A page resumes strictly after
 * those values in that order, so a cursor taken on one generation resumes by key on the next
 * (rows inserted before it are not seen, deleted ones are not skipped over).
 *
 * The digest only catches a cursor used with another query; a hand-made cursor is just another
 * starting point, and its values are validated like filter values.
 */

export const MAX_CURSOR_LENGTH = 8192;
const VERSION = 1;

const CursorSchema = z.object({ v: z.literal(VERSION), q: z.string(), k: z.array(z.string().nullable()) });

/** The digest that binds a cursor to its query (everything that fixes the sequence of rows). */
export function queryDigest(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 16);
}

export function encodeCursor(digest: string, keys: ReadonlyArray<string | null>): string {
  return Buffer.from(JSON.stringify({ v: VERSION, q: digest, k: keys })).toString('base64url');
}

/** The sort values a cursor resumes after; BadParameterError (`after`) when it is not one of this query's. */
export function decodeCursor(text: string, digest: string, terms: number): Array<string | null> {
  const bad = (why: string) => new BadParameterError('after', `${why}; use the \`next\` value of the previous page unchanged, or start again without after`);
  if (text === '') throw bad('the cursor is empty');
  if (text.length > MAX_CURSOR_LENGTH) throw bad(`the cursor is longer than ${MAX_CURSOR_LENGTH} characters`);
  if (!/^[A-Za-z0-9_-]+$/.test(text)) throw bad('not a cursor (expected base64url text)');
  let parsed: z.ZodSafeParseResult<z.infer<typeof CursorSchema>>;
  try {
    parsed = CursorSchema.safeParse(JSON.parse(Buffer.from(text, 'base64url').toString('utf8')));
  } catch {
    throw bad('not a cursor (it does not decode)');
  }
  if (!parsed.success) throw bad('not a cursor of this version (its content is not recognised)');
  if (parsed.data.q !== digest) throw bad('the cursor belongs to another query (a different view, order_by or filters)');
  if (parsed.data.k.length !== terms) throw bad(`the cursor holds ${parsed.data.k.length} sort values, this query sorts on ${terms}`);
  return parsed.data.k;
}
