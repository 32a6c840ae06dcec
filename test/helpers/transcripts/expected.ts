import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './root.js';
import { isoWeekStart, localDay, localHourStart, monthStart } from './zone.js';

/**
 * The independent recomputation: plain TS over the transcript files, importing nothing from src/
 * (it is what our pipeline is checked against). The rule (issue 26): a response is message.id +
 * requestId (message.id alone without requestId; a line with no message.id is its own response);
 * its usage is the line with the largest output_tokens; it is dated by its first line; it is
 * priced at its own model from data/model-prices.json: 5-minute writes at cache_write, 1-hour
 * writes at 2x input (Anthropic's list), and for Sonnet 4 / 4.5 a request whose input side
 * (input + cache creation + cache read) is over 200k has every kind at the long rates.
 */

export interface Message {
  key: string;
  sessionId: string;
  /** ms, UTC, of the response's first line */
  firstAt: number;
  model: string | null;
  input: number;
  output: number;
  cache5m: number;
  cache1h: number;
  cacheRead: number;
  sourceFile: string;
}

interface RawLine {
  sessionId?: unknown;
  requestId?: unknown;
  timestamp?: unknown;
  message?: { id?: unknown; model?: unknown; usage?: Record<string, unknown> };
}

function count(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function jsonlFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) jsonlFiles(p, out);
    else if (e.isFile() && e.name.endsWith('.jsonl')) out.push(p);
  }
  return out;
}

/** Every response in the projects directories, de-duplicated across files. */
export function readMessages(projectsDirs: string[]): Message[] {
  const byKey = new Map<string, Message>();
  for (const dir of projectsDirs) {
    for (const file of jsonlFiles(dir).sort()) {
      let offset = 0;
      for (const text of readFileSync(file, 'utf8').split('\n')) {
        const at = offset;
        offset += Buffer.byteLength(text) + 1;
        if (text.trim() === '') continue;
        let line: RawLine;
        try {
          line = JSON.parse(text) as RawLine;
        } catch {
          continue;
        }
        const usage = line.message?.usage;
        if (!usage || typeof line.timestamp !== 'string' || typeof line.sessionId !== 'string') continue;
        const id = typeof line.message?.id === 'string' ? line.message.id : null;
        const requestId = typeof line.requestId === 'string' ? line.requestId : null;
        const key = id === null ? `${file}:${at}` : requestId === null ? id : `${id}:${requestId}`;
        const breakdown = usage.cache_creation as Record<string, unknown> | undefined;
        const m: Message = {
          key,
          sessionId: line.sessionId,
          firstAt: Date.parse(line.timestamp),
          model: typeof line.message?.model === 'string' ? line.message.model : null,
          input: count(usage.input_tokens),
          output: count(usage.output_tokens),
          cache5m: breakdown ? count(breakdown.ephemeral_5m_input_tokens) : count(usage.cache_creation_input_tokens),
          cache1h: breakdown ? count(breakdown.ephemeral_1h_input_tokens) : 0,
          cacheRead: count(usage.cache_read_input_tokens),
          sourceFile: file,
        };
        const seen = byKey.get(key);
        if (!seen) byKey.set(key, m);
        else {
          const firstAt = Math.min(seen.firstAt, m.firstAt);
          byKey.set(key, m.output > seen.output ? { ...m, firstAt } : { ...seen, firstAt });
        }
      }
    }
  }
  return [...byKey.values()];
}

interface Rates {
  input: number;
  output: number;
  cache5m: number;
  cache1h: number;
  cacheRead: number;
}

/** Per model id and alias: the standard rates and, for Sonnet 4 / 4.5, the long-context rates (USD per Mtok). */
export interface PriceBook {
  rates: Map<string, Rates>;
  long: Map<string, Rates>;
}

/** Anthropic's long-context rates for Sonnet 4 and 4.5 (requests over 200k input-side tokens). */
const SONNET_LONG: Rates = { input: 6, output: 22.5, cache5m: 7.5, cache1h: 12, cacheRead: 0.6 };
const LONG_CONTEXT_IDS = ['claude-sonnet-4-20250514', 'claude-sonnet-4-5-20250929'];

interface PriceFile {
  models: Array<{
    model: string;
    aliases: string[];
    input_usd_per_mtok: number;
    output_usd_per_mtok: number;
    cache_write_usd_per_mtok: number;
    cache_read_usd_per_mtok: number;
  }>;
}

export function loadPriceBook(path = join(repoRoot(), 'data', 'model-prices.json')): PriceBook {
  const file = JSON.parse(readFileSync(path, 'utf8')) as PriceFile;
  const book: PriceBook = { rates: new Map(), long: new Map() };
  for (const m of file.models) {
    const r: Rates = {
      input: m.input_usd_per_mtok,
      output: m.output_usd_per_mtok,
      cache5m: m.cache_write_usd_per_mtok,
      cache1h: 2 * m.input_usd_per_mtok,
      cacheRead: m.cache_read_usd_per_mtok,
    };
    for (const name of [m.model, ...m.aliases]) {
      book.rates.set(name, r);
      if (LONG_CONTEXT_IDS.includes(m.model)) book.long.set(name, SONNET_LONG);
    }
  }
  return book;
}

/** A message's cost in USD; 0 for `<synthetic>`; null for an unknown (unpriced) model. */
function messageCost(m: Message, book: PriceBook): number | null {
  if (m.model === '<synthetic>') return 0;
  const standard = m.model === null ? undefined : book.rates.get(m.model);
  if (!standard || m.model === null) return null;
  const inputSide = m.input + m.cache5m + m.cache1h + m.cacheRead;
  const r = inputSide > 200_000 ? (book.long.get(m.model) ?? standard) : standard;
  return (m.input * r.input + m.output * r.output + m.cache5m * r.cache5m + m.cache1h * r.cache1h + m.cacheRead * r.cacheRead) / 1e6;
}

export interface UsageRow {
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_creation_tokens: number;
  total_tokens: number;
  cost_usd: number;
}

function empty(): UsageRow {
  return { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_creation_tokens: 0, total_tokens: 0, cost_usd: 0 };
}

function add(row: UsageRow, m: Message, book: PriceBook): void {
  row.input_tokens += m.input;
  row.output_tokens += m.output;
  row.cache_read_tokens += m.cacheRead;
  row.cache_creation_tokens += m.cache5m + m.cache1h;
  row.total_tokens += m.input + m.output + m.cacheRead + m.cache5m + m.cache1h;
  row.cost_usd += messageCost(m, book) ?? 0;
}

function grouped<K extends string>(messages: Message[], book: PriceBook, keyOf: (m: Message) => K | null): Map<K, UsageRow> {
  const out = new Map<K, UsageRow>();
  for (const m of messages) {
    const k = keyOf(m);
    if (k === null) continue;
    let row = out.get(k);
    if (!row) out.set(k, (row = empty()));
    add(row, m, book);
  }
  return new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const isModel = (model: string | null): model is string => model !== null && model !== '<synthetic>';

/** The rows the usage views must hold (token columns and cost_usd), keyed as the views are. */
export function expectedViews(messages: Message[], zone: string, book: PriceBook = loadPriceBook()) {
  const day = (m: Message) => localDay(m.firstAt, zone);
  return {
    usage_daily: [...grouped(messages, book, day)].map(([d, r]) => ({ day: d, ...r })),
    usage_weekly: [...grouped(messages, book, (m) => isoWeekStart(day(m)))].map(([w, r]) => ({ week: w, ...r })),
    usage_monthly: [...grouped(messages, book, (m) => monthStart(day(m)))].map(([mo, r]) => ({ month: mo, ...r })),
    // <synthetic> is no model: its (zero-token) responses go in a day's '(no model)' row, so the
    // day's rows still add up to usage_daily
    usage_daily_by_model: [...grouped(messages, book, (m) => `${day(m)}\u0000${isModel(m.model) ? m.model : '(no model)'}`)].map(([k, r]) => {
      const [d, model] = k.split('\u0000');
      return { day: d ?? '', model: model ?? '', ...r };
    }),
    usage_by_model: [...grouped(messages, book, (m) => (isModel(m.model) ? m.model : null))].map(([model, r]) => ({ model, ...r })),
    usage_blocks: blocks(messages, book),
    // per local hour (keyed by the UTC instant it began), session and model
    usage_hourly: [
      ...grouped(
        messages,
        book,
        (m) => `${new Date(localHourStart(m.firstAt, zone)).toISOString()}\u0000${m.sessionId}\u0000${isModel(m.model) ? m.model : '(no model)'}`,
      ),
    ].map(([k, r]) => {
      const [hour, session, model] = k.split('\u0000');
      return { hour_start: hour ?? '', session_uuid: session ?? '', model: model ?? '', ...r };
    }),
  };
}

const HOUR = 3_600_000;
const BLOCK = 5 * HOUR;

/**
 * ccusage's 5-hour blocks: a block starts at its first message floored to the UTC hour; a message
 * more than 5 hours after the block's start, or more than 5 hours after the previous message,
 * starts the next one. block_start / block_end as ISO instants (UTC).
 */
function blocks(messages: Message[], book: PriceBook): Array<{ block_start: string; block_end: string } & UsageRow> {
  const sorted = [...messages].sort((a, b) => a.firstAt - b.firstAt);
  const out: Array<{ block_start: string; block_end: string } & UsageRow> = [];
  let start: number | null = null;
  let last = 0;
  let row = empty();
  const close = () => {
    if (start !== null) out.push({ block_start: new Date(start).toISOString(), block_end: new Date(start + BLOCK).toISOString(), ...row });
  };
  for (const m of sorted) {
    if (start === null || m.firstAt - start > BLOCK || m.firstAt - last > BLOCK) {
      close();
      start = Math.floor(m.firstAt / HOUR) * HOUR;
      row = empty();
    }
    add(row, m, book);
    last = m.firstAt;
  }
  close();
  return out;
}
