import { BASE_DDL } from '../shared/base-tables.js';
import { META_DDL } from '../shared/snapshot.js';
import { DIGESTS_DDL } from './element-index.js';
import { HELD_DDL } from './held-payload.js';
import { TRANSCRIPT_FILES_DDL } from './transcripts/file-state.js';
import { WorkDb } from './work-db.js';

/**
 * The tables of work.duckdb, each declared by the module that owns it: what a snapshot carries
 * (lattice.meta and the base tables, src/shared/) and the puller's own bookkeeping (the held
 * payload, the element digests, the transcripts read so far), which publishing drops from the copy.
 * work-db.ts is the handle and knows no table; the owners use the handle, so the list lives here,
 * above both.
 */
const WORK_DDL: readonly string[] = [...META_DDL, ...BASE_DDL, ...HELD_DDL, ...DIGESTS_DDL, ...TRANSCRIPT_FILES_DDL];

/** Opens (creating if need be) the working database with every table in place: WorkDb.open with WORK_DDL. */
export function openWorkDb(path: string, home: string, options: Record<string, string> = {}): Promise<WorkDb> {
  return WorkDb.open(path, home, WORK_DDL, options);
}
