import { META_SCHEMA } from '../shared/snapshot.js';
import type { WorkDb } from './work-db.js';

/**
 * One row per element of the payload last loaded, keyed by a digest of its bytes: how a tick
 * knows which sessions changed without comparing their contents. The puller's own bookkeeping,
 * like the held payload: publishing drops it from the copy.
 *
 * `session_id` is set for the elements the load kept and for duplicates of them (a repeated id),
 * NULL for the rest; `problem` says why an element was not loaded (NULL: it was).
 */
export const DIGESTS_TABLE = `${META_SCHEMA}.element_digests`;

export const DIGESTS_DDL = [
  `CREATE TABLE IF NOT EXISTS ${DIGESTS_TABLE} (
     digest VARCHAR NOT NULL,
     session_id BIGINT,
     problem VARCHAR
   )`,
];

/** Whether the working database knows the loaded payload's elements (not before a first load, nor from a puller before digests). */
export async function hasElementDigests(db: WorkDb): Promise<boolean> {
  return (await db.value<boolean>(`SELECT EXISTS (SELECT 1 FROM ${DIGESTS_TABLE})`)) === true;
}

/**
 * The digests of the loaded payload's elements, held in memory between ticks so that the split
 * can tell a changed element from an unchanged one as it streams past. Each pass over a payload
 * has its own mark: whatever an earlier, abandoned pass (a retried download) marked does not count.
 */
export class ElementIndex {
  /** digest -> the mark of the last pass that saw it. */
  private readonly seen = new Map<string, number>();
  private pass = 0;
  private loaded = false;

  /** Reads the digests from the working database the first time it is asked (once per puller). */
  async ensureLoaded(db: WorkDb): Promise<void> {
    if (this.loaded) return;
    const reader = await db.conn.runAndReadAll(`SELECT digest FROM ${DIGESTS_TABLE}`);
    for (const [digest] of reader.getRowsJson()) this.seen.set(String(digest), 0);
    this.loaded = true;
  }

  /** Starts a pass over a payload: every digest counts as not seen until `sawKnown` says so. */
  beginPass(): void {
    this.pass++;
  }

  /** Whether `digest` belongs to the loaded payload; marks it seen in this pass when it does. */
  sawKnown(digest: string): boolean {
    if (!this.seen.has(digest)) return false;
    this.seen.set(digest, this.pass);
    return true;
  }

  /** The loaded elements this pass did not see: gone from upstream, or changed. */
  unseen(): string[] {
    const out: string[] = [];
    for (const [digest, mark] of this.seen) if (mark !== this.pass) out.push(digest);
    return out;
  }

  /** After a committed load: the working database's table now holds `added` and no longer `removed`. */
  apply(removed: Iterable<string>, added: Iterable<string>): void {
    for (const digest of removed) this.seen.delete(digest);
    for (const digest of added) this.seen.set(digest, this.pass);
  }

  /** After a committed full load: the table holds exactly `digests`. */
  resetTo(digests: Iterable<string>): void {
    this.seen.clear();
    for (const digest of digests) this.seen.set(digest, this.pass);
    this.loaded = true;
  }

  /** Forgets everything (the next tick reads the table again): after a load that did not commit as planned. */
  reset(): void {
    this.seen.clear();
    this.loaded = false;
  }
}
