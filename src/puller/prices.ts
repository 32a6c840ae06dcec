import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError, errorMessage } from '../shared/errors.js';
import { settingName } from '../shared/config.js';
import { packageFile } from '../shared/version.js';

/**
 * Model prices: the table bundled with the package (data/model-prices.json), overridden or
 * extended by the user's pricing file (same format). The puller writes the result to
 * `base.model_prices`, one row per model id, where the cost views (and agents' SQL) join it.
 */

const usdPerMtok = z.number().finite().min(0).max(100_000);
const modelId = z
  .string()
  .min(1)
  .max(200)
  .refine((id) => id.trim() === id && id !== '<synthetic>', 'a model id (not empty, no surrounding spaces, not <synthetic>)');

/**
 * Rates for long requests: a request whose input side (input + 5-minute and 1-hour cache writes +
 * cache reads) is over the threshold has all its tokens priced here (Anthropic's rule for Sonnet 4
 * and 4.5 past 200k), not only the tokens above it.
 */
const LongContextSchema = z.strictObject({
  threshold_input_tokens: z.number().int().min(1).max(1e12),
  input_usd_per_mtok: usdPerMtok,
  output_usd_per_mtok: usdPerMtok,
  cache_write_usd_per_mtok: usdPerMtok,
  /** Optional: 2x the long input rate when left out. */
  cache_write_1h_usd_per_mtok: usdPerMtok.optional(),
  cache_read_usd_per_mtok: usdPerMtok,
});

const PriceEntrySchema = z.strictObject({
  model: modelId,
  aliases: z.array(modelId).default([]),
  input_usd_per_mtok: usdPerMtok,
  output_usd_per_mtok: usdPerMtok,
  /** The 5-minute cache-write rate. */
  cache_write_usd_per_mtok: usdPerMtok,
  /** The 1-hour cache-write rate; optional: 2x input (Anthropic's list) when left out. */
  cache_write_1h_usd_per_mtok: usdPerMtok.optional(),
  cache_read_usd_per_mtok: usdPerMtok,
  long_context: LongContextSchema.optional(),
  /** YYYY-MM-DD; a pricing file may leave it out (then: the file's modification date). */
  price_date: z.iso.date().optional(),
  /** Where the price comes from; a pricing file may leave it out (then: the file's path). */
  source: z.string().min(1).max(2000).optional(),
});

const PriceFileSchema = z.strictObject({
  $comment: z.string().optional(),
  models: z.array(PriceEntrySchema),
});

type PriceEntry = z.infer<typeof PriceEntrySchema>;

/** One row of base.model_prices. */
export interface PriceRow {
  model: string;
  canonical_model: string;
  input_usd_per_mtok: number;
  output_usd_per_mtok: number;
  cache_write_usd_per_mtok: number;
  cache_write_1h_usd_per_mtok: number;
  cache_read_usd_per_mtok: number;
  /** Long-context pricing (all NULL for a model without it): see LongContextSchema. */
  long_context_threshold_tokens: number | null;
  long_input_usd_per_mtok: number | null;
  long_output_usd_per_mtok: number | null;
  long_cache_write_usd_per_mtok: number | null;
  long_cache_write_1h_usd_per_mtok: number | null;
  long_cache_read_usd_per_mtok: number | null;
  price_date: string;
  source: string;
  from_pricing_file: boolean;
}

export interface PriceTable {
  /** One row per model id, ids ascending. */
  rows: PriceRow[];
  /** What the cost views were computed with: a change makes them due. */
  sha256: string;
}

/** Where a price file's entry went wrong, in the words of a person editing it. */
function entryLabel(file: { models?: unknown }, index: number): string {
  const entry = Array.isArray(file.models) ? (file.models[index] as { model?: unknown } | undefined) : undefined;
  return typeof entry?.model === 'string' ? `models[${index}] (${JSON.stringify(entry.model)})` : `models[${index}]`;
}

function describeIssue(issue: z.core.$ZodIssue, raw: { models?: unknown }): string {
  const [head, index, ...rest] = issue.path;
  const where =
    head === 'models' && typeof index === 'number'
      ? [entryLabel(raw, index), rest.length ? rest.map(String).join('.') : null].filter(Boolean).join(': ')
      : issue.path.map(String).join('.') || 'the top level';
  return `${where}: ${issue.message}`;
}

/** Parses and validates a price file's text; every problem names the entry and the field. */
function parsePriceFile(text: string, what: string): PriceEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${what} is not valid JSON: ${errorMessage(err)}`);
  }
  const parsed = PriceFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => describeIssue(i, (raw ?? {}) as { models?: unknown }));
    throw new ConfigError(
      `${what} is not a valid price table: ${issues.join('; ')} ` +
        `(expected {"models": [{"model", "aliases", "input_usd_per_mtok", "output_usd_per_mtok", "cache_write_usd_per_mtok", "cache_write_1h_usd_per_mtok"?, ` +
        `"cache_read_usd_per_mtok", "long_context"?, "price_date", "source"}]}, as in data/model-prices.json)`,
    );
  }
  // Where each id was first named (entry and field), so a repeat names both places.
  const seen = new Map<string, string>();
  parsed.data.models.forEach((entry, index) => {
    const fields: Array<[string, string]> = [['model', entry.model], ...entry.aliases.map((id, i): [string, string] => [`aliases[${i}]`, id])];
    for (const [field, id] of fields) {
      const where = `${entryLabel(raw as { models?: unknown }, index)}: ${field}`;
      const first = seen.get(id);
      if (first !== undefined) {
        throw new ConfigError(
          `${what} is not a valid price table: ${where}: ${JSON.stringify(id)} is already priced by ${first} (each model id may be named once)`,
        );
      }
      seen.set(id, where);
    }
  });
  return parsed.data.models;
}

function rowsOf(entries: PriceEntry[], defaults: { price_date?: string; source?: string }, fromPricingFile: boolean, what: string): PriceRow[] {
  return entries.flatMap((e) => {
    const price_date = e.price_date ?? defaults.price_date;
    const source = e.source ?? defaults.source;
    if (price_date === undefined || source === undefined) {
      throw new Error(`${what}: ${JSON.stringify(e.model)} needs a price_date and a source`);
    }
    const long = e.long_context;
    return [e.model, ...e.aliases].map((model) => ({
      model,
      canonical_model: e.model,
      input_usd_per_mtok: e.input_usd_per_mtok,
      output_usd_per_mtok: e.output_usd_per_mtok,
      cache_write_usd_per_mtok: e.cache_write_usd_per_mtok,
      cache_write_1h_usd_per_mtok: e.cache_write_1h_usd_per_mtok ?? 2 * e.input_usd_per_mtok,
      cache_read_usd_per_mtok: e.cache_read_usd_per_mtok,
      long_context_threshold_tokens: long?.threshold_input_tokens ?? null,
      long_input_usd_per_mtok: long?.input_usd_per_mtok ?? null,
      long_output_usd_per_mtok: long?.output_usd_per_mtok ?? null,
      long_cache_write_usd_per_mtok: long?.cache_write_usd_per_mtok ?? null,
      long_cache_write_1h_usd_per_mtok: long ? (long.cache_write_1h_usd_per_mtok ?? 2 * long.input_usd_per_mtok) : null,
      long_cache_read_usd_per_mtok: long?.cache_read_usd_per_mtok ?? null,
      price_date,
      source,
      from_pricing_file: fromPricingFile,
    }));
  });
}

/** The bundled table alone (a broken bundled file is a packaging bug, not the user's). */
async function bundledPrices(): Promise<PriceRow[]> {
  const path = packageFile('data/model-prices.json');
  return rowsOf(parsePriceFile(await readFile(path, 'utf8'), `the bundled price table ${path}`), {}, false, path);
}

/**
 * The prices the views use: the bundled table, where the pricing file (if any) replaces the rows
 * of every id it names (and of the bundled aliases of each model it re-prices) and adds the ids it
 * brings. Throws ConfigError naming the file, the entry
 * and the field when the file is missing or wrong.
 */
export async function loadPriceTable(pricingFile: string | null): Promise<PriceTable> {
  const byId = new Map((await bundledPrices()).map((r) => [r.model, r]));
  if (pricingFile !== null) {
    const what = `${settingName('pricingFile')} ${pricingFile}`;
    let text: string;
    let modified: Date;
    try {
      [text, modified] = await Promise.all([readFile(pricingFile, 'utf8'), stat(pricingFile).then((s) => s.mtime)]);
    } catch (err) {
      throw new ConfigError(`${what} cannot be read: ${errorMessage(err)}`);
    }
    const defaults = { price_date: modified.toISOString().slice(0, 10), source: `pricing file ${pricingFile}` };
    const overrides = rowsOf(parsePriceFile(text, what), defaults, true, what);
    const named = new Set(overrides.map((r) => r.model));
    // A bundled alias of a model the file re-prices follows it (one price per canonical model),
    // unless the file prices that alias itself.
    const repriced = new Map(overrides.filter((r) => r.model === r.canonical_model).map((r) => [r.model, r]));
    for (const [id, row] of byId) {
      const canonical = repriced.get(row.canonical_model);
      if (canonical && id !== row.canonical_model && !named.has(id)) byId.set(id, { ...canonical, model: id });
    }
    for (const row of overrides) byId.set(row.model, row);
  }
  const rows = [...byId.values()].sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
  return { rows, sha256: createHash('sha256').update(JSON.stringify(rows)).digest('hex') };
}
