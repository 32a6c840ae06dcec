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
  /** A single SELECT over the `base.*` tables (and earlier views are not visible: keep it self-contained). */
  readonly sql: string;
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

export type ViewInput = Omit<ViewDefinition, 'refreshIntervalSeconds'> & { refreshIntervalSeconds?: number };

const NAME = /^[a-z][a-z0-9_]{0,62}$/;

export function defineView(input: ViewInput): ViewDefinition {
  const view = { ...input, refreshIntervalSeconds: input.refreshIntervalSeconds ?? 0 };
  if (!NAME.test(view.name)) throw new Error(`view name ${JSON.stringify(view.name)} must be lower snake_case`);
  if (view.keyColumns.length === 0) throw new Error(`view ${view.name} needs at least one key column`);
  if (!(view.refreshIntervalSeconds >= 0)) throw new Error(`view ${view.name} needs a refresh interval of 0 or more seconds`);
  return Object.freeze({ ...view, sql: view.sql.trim(), keyColumns: Object.freeze([...view.keyColumns]) });
}

export function assertUniqueNames(views: readonly ViewDefinition[]): void {
  const seen = new Set<string>();
  for (const v of views) {
    if (seen.has(v.name)) throw new Error(`view ${v.name} is defined twice`);
    seen.add(v.name);
  }
}
