/**
 * A view of the catalog: everything about it in one place. The puller materializes `sql` into a
 * table named `name` when the view is due; the reads server describes the view from what the
 * puller recorded in the snapshot.
 */
export interface ViewDefinition {
  /** Lower snake_case; also the table name in the snapshot and the URL segment. */
  readonly name: string;
  /** What question the view answers, for a person or an agent that has never seen it. */
  readonly description: string;
  /**
   * A single SELECT over the `base.*` tables and the views named in `readsViews` (by their bare
   * name, e.g. `FROM session_facts`).
   */
  readonly sql: string;
  /**
   * The catalog views the SQL reads. They come earlier in the catalog, so they are materialized
   * first in a tick; a view is redone whenever one of them is, and fails (keeping its rows) when
   * one of them failed. A rule computed once per session (its local day, its cost) lives in
   * session_facts and is read from there, not pasted into every view.
   */
  readonly readsViews: readonly string[];
  /**
   * Minimum seconds between two materializations; a view is only redone when base data (or an
   * input it reads: the zone, the prices) changed. Default 0: with every load. Set it only when
   * the view's measured cost says so, and say so beside it.
   */
  readonly refreshIntervalSeconds: number;
  /** The columns that identify a row (unique together); the default sort order. */
  readonly keyColumns: readonly string[];
  /**
   * For rows that stop being true by the clock alone: a SELECT over the view's own table (named
   * `this`) giving the instant (TIMESTAMPTZ) they do, or NULL for never. The view is redone then.
   */
  readonly validUntilSql?: string;
}

export type ViewInput = Omit<ViewDefinition, 'refreshIntervalSeconds' | 'readsViews'> & {
  refreshIntervalSeconds?: number;
  readsViews?: readonly string[];
};

const NAME = /^[a-z][a-z0-9_]{0,62}$/;

export function defineView(input: ViewInput): ViewDefinition {
  const view = { ...input, refreshIntervalSeconds: input.refreshIntervalSeconds ?? 0, readsViews: Object.freeze([...(input.readsViews ?? [])]) };
  if (!NAME.test(view.name)) throw new Error(`view name ${JSON.stringify(view.name)} must be lower snake_case`);
  if (view.keyColumns.length === 0) throw new Error(`view ${view.name} needs at least one key column`);
  if (!(view.refreshIntervalSeconds >= 0)) throw new Error(`view ${view.name} needs a refresh interval of 0 or more seconds`);
  return Object.freeze({ ...view, sql: view.sql.trim(), keyColumns: Object.freeze([...view.keyColumns]) });
}

/**
 * Checks what the catalog's order and the views' SQL rely on: unique names, and every view the SQL
 * reads (FROM or JOIN it) is one it declares in `readsViews`, defined earlier in the catalog.
 */
export function assertCatalog(views: readonly ViewDefinition[]): void {
  const seen = new Set<string>();
  for (const v of views) {
    if (seen.has(v.name)) throw new Error(`view ${v.name} is defined twice`);
    for (const d of v.readsViews) {
      if (!seen.has(d)) throw new Error(`view ${v.name} reads ${d}, which is not defined before it in the catalog`);
    }
    seen.add(v.name);
  }
  for (const v of views) {
    for (const other of views) {
      if (other !== v && new RegExp(`\\b(FROM|JOIN)\\s+(main\\.)?${other.name}\\b`, 'i').test(v.sql) && !v.readsViews.includes(other.name)) {
        throw new Error(`view ${v.name}'s SQL names ${other.name}: list it in readsViews`);
      }
    }
  }
}
