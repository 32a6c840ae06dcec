import { createHash } from 'node:crypto';
import type { ViewDefinition } from '../shared/catalog/index.js';
import { PRICES_TABLE, TIMEZONE_VARIABLE } from '../shared/catalog/sql.js';
import { settingName } from '../shared/config.js';
import { ConfigError, errorMessage } from '../shared/errors.js';
import { META_SCHEMA, sqlLiteral } from '../shared/snapshot.js';
import type { PriceTable } from './prices.js';
import type { WorkDb } from './work-db.js';

/**
 * What a view's rows depend on besides the base data: the zone calendar buckets are cut in and
 * the price table. Both are settings of the puller, and a view's identity includes those it
 * reads, so changing one re-materializes exactly the views that read it, on the next tick, even
 * when upstream has nothing new.
 */
export interface ViewInputs {
  timezone: string;
  prices: PriceTable;
}

/** The inputs a view's own SQL reads. */
function ownInputs(view: ViewDefinition): { timezone: boolean; prices: boolean } {
  return { timezone: view.sql.includes(TIMEZONE_VARIABLE), prices: view.sql.includes(PRICES_TABLE) };
}

/** Which inputs a view's rows depend on: those its SQL reads, and those of the views it reads. */
export function inputsRead(view: ViewDefinition, catalog: readonly ViewDefinition[]): { timezone: boolean; prices: boolean } {
  const read = ownInputs(view);
  for (const name of view.readsViews) {
    const dependency = catalog.find((v) => v.name === name);
    if (!dependency) throw new Error(`view ${view.name} reads ${name}, which is not in the catalog`);
    const inner = inputsRead(dependency, catalog);
    read.timezone ||= inner.timezone;
    read.prices ||= inner.prices;
  }
  return read;
}

/**
 * Each view's identity: its SQL, the value of each input it reads, and the identities of the views
 * it reads. When it changes, the view's rows are stale.
 */
export function viewIdentities(catalog: readonly ViewDefinition[], inputs: ViewInputs): Map<string, string> {
  const identities = new Map<string, string>();
  for (const view of catalog) {
    const parts = [view.sql];
    const own = ownInputs(view);
    if (own.timezone) parts.push(`timezone=${inputs.timezone}`);
    if (own.prices) parts.push(`prices=${inputs.prices.sha256}`);
    for (const name of view.readsViews) parts.push(`${name}=${identities.get(name) ?? '?'}`);
    identities.set(view.name, createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16));
  }
  return identities;
}

/**
 * Sets the zone as the `timezone` variable the views' SQL reads, refusing (ConfigError) a zone
 * Node's ICU knows and DuckDB's does not: the two databases can differ. `run` runs a statement on
 * the connection that gets the variable (the working database's; an in-memory one before start).
 */
export async function checkTimezone(run: (sql: string) => Promise<unknown>, timezone: string): Promise<void> {
  try {
    await run(`SET VARIABLE timezone = ${sqlLiteral(timezone)}`);
    await run(`SELECT timezone(${TIMEZONE_VARIABLE}, TIMESTAMPTZ '2000-01-01 00:00:00+00')`);
  } catch (err) {
    throw new ConfigError(
      `${settingName('timezone')} is ${JSON.stringify(timezone)}, which DuckDB's time zone database does not know ` +
        `(${errorMessage(err).split('\n')[0]}); use a zone such as America/Los_Angeles, Europe/Berlin or UTC`,
    );
  }
}

/**
 * Makes the inputs visible to the views' SQL on the puller's connection: the zone as the `timezone`
 * variable (checked once at start by checkTimezone), the prices as base.model_prices, rewritten
 * only when they changed; both recorded in lattice.meta. `recorded`: what meta says now (readState).
 */
export async function applyViewInputs(db: WorkDb, inputs: ViewInputs, recorded: { timezone: string | null; prices_sha256: string | null }): Promise<void> {
  await db.run(`SET VARIABLE timezone = ${sqlLiteral(inputs.timezone)}`);
  if (recorded.prices_sha256 !== inputs.prices.sha256) {
    await db.transaction(async () => {
      await db.run(`DELETE FROM ${PRICES_TABLE}`);
      for (const r of inputs.prices.rows) {
        // By name: a working database made before the later columns has them in another order.
        await db.run(
          `INSERT INTO ${PRICES_TABLE} BY NAME
           SELECT ? AS model, ? AS canonical_model, ? AS input_usd_per_mtok, ? AS output_usd_per_mtok,
                  ? AS cache_write_usd_per_mtok, ? AS cache_write_1h_usd_per_mtok, ? AS cache_read_usd_per_mtok,
                  ?::BIGINT AS long_context_threshold_tokens, ? AS long_input_usd_per_mtok, ? AS long_output_usd_per_mtok,
                  ? AS long_cache_write_usd_per_mtok, ? AS long_cache_write_1h_usd_per_mtok, ? AS long_cache_read_usd_per_mtok,
                  ?::DATE AS price_date, ? AS source, ? AS from_pricing_file`,
          [
            r.model,
            r.canonical_model,
            r.input_usd_per_mtok,
            r.output_usd_per_mtok,
            r.cache_write_usd_per_mtok,
            r.cache_write_1h_usd_per_mtok,
            r.cache_read_usd_per_mtok,
            r.long_context_threshold_tokens,
            r.long_input_usd_per_mtok,
            r.long_output_usd_per_mtok,
            r.long_cache_write_usd_per_mtok,
            r.long_cache_write_1h_usd_per_mtok,
            r.long_cache_read_usd_per_mtok,
            r.price_date,
            r.source,
            r.from_pricing_file,
          ],
        );
      }
      await db.run(`UPDATE ${META_SCHEMA}.meta SET prices_sha256 = ?`, [inputs.prices.sha256]);
    });
  }
  if (recorded.timezone !== inputs.timezone) await db.run(`UPDATE ${META_SCHEMA}.meta SET timezone = ?`, [inputs.timezone]);
}
