import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePayloadText } from './fake-recall/generate.js';
import { startFakeRecall, type FakeRecall } from './fake-recall/server.js';
import { runCli, tempHome, type TempHome } from './helpers/processes.js';
import { queryFile } from './helpers/snapshot.js';

/*
 * An independent check of the cost views: session cost and the day / ISO week / month buckets are
 * recomputed here in plain TypeScript (the pricing rule written from its description, local dates
 * from Intl, not from DuckDB) and compared with session_facts and usage_daily/weekly/monthly, in
 * a zone with northern DST and one with a half-hour offset and southern DST.
 *
 * Inputs, and where they come from: models from the payload served (our own reading of
 * models_used, the element the loader kept, matched by session_uuid); token counters and
 * started_at from base.sessions (the loader's coercions are not what is under test here); prices
 * (models and aliases) from data/model-prices.json.
 */
const SESSIONS = 3000;
const ZONES = ['America/Los_Angeles', 'Australia/Adelaide'] as const;
/** Standard (non-DST) offsets in minutes, to show that DST really moves some sessions to another day. */
const STANDARD_OFFSET: Record<(typeof ZONES)[number], number> = { 'America/Los_Angeles': -480, 'Australia/Adelaide': 570 };
const UNKNOWN = 'claude-mystery-7';
const CENT = 0.005;

type Basis = 'single_model' | 'multi_model_upper_bound' | 'partially_priced' | 'unpriced';
interface Rates {
  input: number;
  output: number;
  cacheWrite: number;
  cacheRead: number;
}
interface Tokens {
  input: number;
  output: number;
  cacheCreation: number;
  cacheRead: number;
}
interface Cost {
  usd: number | null;
  low: number | null;
  basis: Basis;
}
interface Loaded {
  id: number;
  startedMs: number | null;
  tokens: Tokens;
  models: string[];
  cost: Cost;
}
interface Bucket {
  sessions: number;
  cost: number;
  costLow: number;
  estimated: number;
  unpriced: number;
}
type Element = { session: Record<string, unknown> | null; repos: unknown };

/** Every model id and alias in the bundled price file, with its rates (USD per million tokens). */
function loadPrices(): { prices: Map<string, Rates>; aliases: Set<string> } {
  interface Row {
    model: string;
    aliases: string[];
    input_usd_per_mtok: number;
    output_usd_per_mtok: number;
    cache_write_usd_per_mtok: number;
    cache_read_usd_per_mtok: number;
  }
  const file = JSON.parse(readFileSync(resolve(import.meta.dirname, '../data/model-prices.json'), 'utf8')) as { models: Row[] };
  const prices = new Map<string, Rates>();
  const aliases = new Set(file.models.flatMap((r) => r.aliases));
  for (const r of file.models) {
    const rates = { input: r.input_usd_per_mtok, output: r.output_usd_per_mtok, cacheWrite: r.cache_write_usd_per_mtok, cacheRead: r.cache_read_usd_per_mtok };
    for (const name of [r.model, ...r.aliases]) prices.set(name, rates);
  }
  return { prices, aliases };
}
const { prices: PRICES, aliases: ALIASES } = loadPrices();

/** The models a session used: distinct names, without '<synthetic>' (no model wrote it) and ''. */
function modelsOf(used: unknown): string[] {
  if (!Array.isArray(used)) return [];
  return [...new Set(used.filter((m): m is string => typeof m === 'string' && m !== '' && m !== '<synthetic>'))];
}

function sessionCost(models: string[], t: Tokens): Cost {
  const costs = models.flatMap((m) => {
    const p = PRICES.get(m);
    return p ? [(t.input * p.input + t.output * p.output + t.cacheCreation * p.cacheWrite + t.cacheRead * p.cacheRead) / 1e6] : [];
  });
  if (costs.length === 0) return { usd: null, low: null, basis: 'unpriced' };
  const basis: Basis = models.length === 1 ? 'single_model' : costs.length === models.length ? 'multi_model_upper_bound' : 'partially_priced';
  return { usd: Math.max(...costs), low: Math.min(...costs), basis };
}

/** Local calendar date 'YYYY-MM-DD' (en-CA formats it that way), and the ISO week's Monday and the month's first day. */
const dayIn = (f: Intl.DateTimeFormat, ms: number): string => f.format(new Date(ms));
function mondayOf(day: string): string {
  const t = Date.parse(`${day}T00:00:00Z`);
  return new Date(t - ((new Date(t).getUTCDay() + 6) % 7) * 86_400_000).toISOString().slice(0, 10);
}
const monthOf = (day: string): string => `${day.slice(0, 7)}-01`;

function bucketize(sessions: Loaded[], keyOf: (ms: number) => string): Map<string, Bucket> {
  const out = new Map<string, Bucket>();
  for (const s of sessions) {
    if (s.startedMs === null) continue; // undated sessions are in no bucket
    const key = keyOf(s.startedMs);
    const b = out.get(key) ?? { sessions: 0, cost: 0, costLow: 0, estimated: 0, unpriced: 0 };
    b.sessions += 1;
    b.cost += s.cost.usd ?? 0;
    b.costLow += s.cost.low ?? 0;
    if (s.cost.basis === 'multi_model_upper_bound' || s.cost.basis === 'partially_priced') b.estimated += 1;
    if (s.cost.basis === 'unpriced') b.unpriced += 1;
    out.set(key, b);
  }
  return out;
}

/**
 * The generator never names an unpriced model, nor a bare alias, null models_used or a duplicate
 * id: add them to the text served (a few sessions in each 40), leaving the generator alone.
 */
function withExtraCases(text: string): { text: string; elements: Element[]; duplicateId: number } {
  const payload = JSON.parse(text) as { sessions: Element[] };
  const valid = payload.sessions.filter((e) => typeof e.session?.id === 'number' && typeof e.session.session_uuid === 'string');
  valid.forEach((e, i) => {
    const s = e.session as Record<string, unknown>;
    const used = Array.isArray(s.models_used) ? (s.models_used as unknown[]) : [];
    if (i % 40 === 3) s.models_used = [UNKNOWN]; // unpriced
    if (i % 40 === 11) s.models_used = [...used, UNKNOWN, '']; // partially priced (or unpriced if nothing else)
    if (i % 40 === 19) s.models_used = ['claude-opus-4-5']; // an alias only: single_model
    if (i % 40 === 23) s.models_used = null; // no models at all
    if (i % 40 === 31) s.models_used = ['<synthetic>', '<synthetic>', 'claude-haiku-4-5-20251001'];
  });
  // Two more copies of one id: the loader keeps the lowest session_uuid, i.e. the first copy.
  const original = valid[100]?.session as Record<string, unknown>;
  payload.sessions.push(
    { session: { ...original, session_uuid: '00000000-0000-4000-8000-000000000000', models_used: [UNKNOWN, 'claude-opus-4-1'] }, repos: [] },
    { session: { ...original, session_uuid: 'ffffffff-ffff-4fff-8fff-ffffffffffff', models_used: ['claude-opus-4-1'] }, repos: [] },
  );
  return { text: JSON.stringify(payload), elements: payload.sessions, duplicateId: Number(original.id) };
}

async function num<T extends string>(file: string, sql: string): Promise<Array<Record<T, number | string | null>>> {
  return queryFile<Record<T, number | string | null>>(file, sql);
}
const n = (v: number | string | null | undefined): number => Number(v); // BIGINTs come back as strings

describe(`usage views recomputed in TypeScript on ${SESSIONS} messy sessions, in ${ZONES.join(' and ')}`, () => {
  let recall: FakeRecall;
  const homes = new Map<string, TempHome>();
  const file = (zone: string): string => join(homes.get(zone)?.dir ?? '', 'session-lattice.duckdb');
  let loaded: Loaded[] = [];
  let elements: Element[] = [];
  let duplicateId = 0;

  beforeAll(async () => {
    const served = withExtraCases(generatePayloadText({ sessions: SESSIONS, seed: 12 }));
    ({ elements, duplicateId } = served);
    recall = await startFakeRecall({ sessions: 0 });
    await recall.setPayloadText(served.text);
    await Promise.all(
      ZONES.map(async (zone) => {
        const home = await tempHome('lattice-recompute-');
        homes.set(zone, home);
        const r = await runCli(['pull', '--home', home.dir, '--repo-recall-url', recall.url, '--timezone', zone]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).not.toMatch(/views failed/);
      }),
    );
    // Only what the loader kept: rejected rows are not loaded, a duplicate id keeps one element.
    const byKey = new Map(elements.flatMap((e) => (e.session ? [[`${String(e.session.id)}|${String(e.session.session_uuid)}`, e.session] as const] : [])));
    const rows = await num<'id' | 'uuid' | 'started_ms' | 'i' | 'o' | 'cc' | 'cr'>(
      file(ZONES[0]),
      `SELECT session_id AS id, session_uuid AS uuid, epoch_ms(started_at) AS started_ms, input_tokens AS i,
              output_tokens AS o, cache_creation_tokens AS cc, cache_read_tokens AS cr FROM base.sessions`,
    );
    loaded = rows.map((r) => {
      const kept = byKey.get(`${String(r.id)}|${String(r.uuid)}`);
      if (!kept) throw new Error(`base.sessions has session ${String(r.id)} / ${String(r.uuid)}, which the payload does not`);
      const tokens = { input: n(r.i), output: n(r.o), cacheCreation: n(r.cc), cacheRead: n(r.cr) };
      const models = modelsOf(kept.models_used);
      return { id: n(r.id), startedMs: r.started_ms === null ? null : n(r.started_ms), tokens, models, cost: sessionCost(models, tokens) };
    });
  });

  afterAll(async () => {
    await recall?.close();
    for (const home of homes.values()) await home.cleanup();
  });

  it('the loaded sessions cover every pricing case (and the duplicate id kept its lowest uuid)', () => {
    const kept = new Map(loaded.map((s) => [s.id, s]));
    const raw = elements.filter((e) => e.session && kept.has(Number(e.session.id))).map((e) => e.session?.models_used);
    const count = (p: (m: string[]) => boolean): number => loaded.filter((s) => p(s.models)).length;
    expect(loaded.length).toBeGreaterThan(SESSIONS * 0.9);
    expect(loaded.filter((s) => s.startedMs === null).length, 'undated').toBeGreaterThan(0);
    expect(
      count((m) => m.length === 1),
      'single-model',
    ).toBeGreaterThan(0);
    expect(
      count((m) => m.length > 1),
      'multi-model',
    ).toBeGreaterThan(0);
    expect(
      count((m) => m.some((x) => !PRICES.has(x))),
      'unknown model',
    ).toBeGreaterThan(0);
    expect(
      count((m) => m.some((x) => ALIASES.has(x))),
      'alias',
    ).toBeGreaterThan(0);
    expect(raw.filter((m) => Array.isArray(m) && m.includes('<synthetic>')).length, '<synthetic>').toBeGreaterThan(0);
    expect(raw.filter((m) => Array.isArray(m) && m.includes('')).length, 'empty name').toBeGreaterThan(0);
    for (const b of ['single_model', 'multi_model_upper_bound', 'partially_priced', 'unpriced'] as const) {
      expect(loaded.filter((s) => s.cost.basis === b).length, b).toBeGreaterThan(0);
    }
    expect(kept.get(duplicateId)?.models).toEqual([UNKNOWN, 'claude-opus-4-1']);
  });

  it.each(ZONES)('session_facts cost_usd, cost_usd_low and cost_basis agree per session (%s)', async (zone) => {
    const rows = await num<'id' | 'usd' | 'low' | 'basis'>(
      file(zone),
      'SELECT session_id AS id, cost_usd AS usd, cost_usd_low AS low, cost_basis AS basis FROM session_facts',
    );
    const facts = new Map(rows.map((r) => [n(r.id), r]));
    expect(facts.size).toBe(loaded.length);
    const off = (a: number | null, b: number | string | null): boolean => (a === null ? b !== null : b === null || Math.abs(a - n(b)) >= CENT);
    const wrong = loaded.filter((s) => {
      const f = facts.get(s.id);
      return !f || f.basis !== s.cost.basis || off(s.cost.usd, f.usd) || off(s.cost.low, f.low);
    });
    expect(wrong.map((s) => ({ id: s.id, models: s.models, mine: s.cost, view: facts.get(s.id) }))).toEqual([]);
  });

  const PERIODS = [
    { view: 'usage_daily', key: 'day', of: (d: string) => d },
    { view: 'usage_weekly', key: 'week', of: mondayOf },
    { view: 'usage_monthly', key: 'month', of: monthOf },
  ] as const;

  it.each(ZONES.flatMap((zone) => PERIODS.map((p) => [zone, p.view, p] as const)))('%s: %s agrees bucket by bucket', async (zone, _view, p) => {
    const f = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
    const mine = bucketize(loaded, (ms) => p.of(dayIn(f, ms)));
    const rows = await num<'k' | 'sessions' | 'cost' | 'low' | 'estimated' | 'unpriced'>(
      file(zone),
      `SELECT strftime(${p.key}, '%Y-%m-%d') AS k, session_count AS sessions, cost_usd AS cost, cost_usd_low AS low,
              estimated_sessions AS estimated, unpriced_sessions AS unpriced FROM ${p.view}`,
    );
    expect(rows.map((r) => String(r.k)).sort()).toEqual([...mine.keys()].sort());
    const wrong = rows.filter((r) => {
      const b = mine.get(String(r.k));
      return (
        !b ||
        n(r.sessions) !== b.sessions ||
        n(r.estimated) !== b.estimated ||
        n(r.unpriced) !== b.unpriced ||
        Math.abs(n(r.cost) - b.cost) >= CENT ||
        Math.abs(n(r.low) - b.costLow) >= CENT
      );
    });
    expect(wrong.map((r) => ({ view: r, mine: mine.get(String(r.k)) }))).toEqual([]);
    expect(rows.reduce((sum, r) => sum + n(r.sessions), 0)).toBe(loaded.filter((s) => s.startedMs !== null).length);
  });

  it('the zones put some sessions on different days, and DST moves some within each zone', async () => {
    const dated = loaded.flatMap((s) => (s.startedMs === null ? [] : [s.startedMs]));
    const [la, adl] = ZONES.map((z) => new Intl.DateTimeFormat('en-CA', { timeZone: z, year: 'numeric', month: '2-digit', day: '2-digit' }));
    if (!la || !adl) throw new Error('two zones');
    expect(dated.filter((ms) => dayIn(la, ms) !== dayIn(adl, ms)).length).toBeGreaterThan(0);
    for (const [zone, f] of [
      [ZONES[0], la],
      [ZONES[1], adl],
    ] as const) {
      const standard = (ms: number): string => new Date(ms + STANDARD_OFFSET[zone] * 60_000).toISOString().slice(0, 10);
      expect(dated.filter((ms) => dayIn(f, ms) !== standard(ms)).length, `${zone}: sessions DST moves`).toBeGreaterThan(0);
    }
    // And the published views themselves differ between the zones.
    const daily = await Promise.all(ZONES.map((z) => queryFile(file(z), "SELECT strftime(day, '%Y-%m-%d') AS k, session_count FROM usage_daily")));
    expect(daily[0]).not.toEqual(daily[1]);
  });
});
