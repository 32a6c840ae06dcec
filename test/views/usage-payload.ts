/**
 * The hand-made payload the usage and cost views are checked against, read in
 * America/Los_Angeles, where clocks went back at 02:00 PDT on Sunday 2026-11-01 (01:00-02:00
 * happened twice). Prices: data/model-prices.json, with USAGE_PRICING_FILE over it.
 *
 * | id  | started (UTC)    | local (Los Angeles)      | models                    | cost basis              |
 * |-----|------------------|--------------------------|---------------------------|-------------------------|
 * | 101 | 2026-11-01 08:30 | Sun 11-01 01:30 PDT      | sonnet                    | single_model            |
 * | 102 | 2026-11-01 09:30 | Sun 11-01 01:30 PST      | opus, haiku               | multi_model_upper_bound |
 * | 103 | 2026-11-01 06:59 | Sat 10-31 23:59 (month end) | haiku, <synthetic>     | single_model (haiku at the override rate) |
 * | 104 | 2026-10-01 06:59 | Wed 09-30 23:59 (month end) | claude-mystery-9       | unpriced (unknown model) |
 * | 105 | 2026-11-02 17:00 | Mon 11-02 09:00          | <synthetic>               | unpriced                |
 * | 106 | 2026-11-02 20:00 | Mon 11-02 12:00          | sonnet, claude-mystery-9  | partially_priced        |
 * | 107 | 2026-11-03 03:00 | Mon 11-02 19:00          | acme-internal-1           | single_model (only the override prices it) |
 * | 108 | none             | none                     | sonnet                    | single_model            |
 * | 109 | 2026-10-31 22:00 | Sat 10-31 15:00          | opus                      | single_model            |
 * | 110 | 2026-11-02 23:30 | Mon 11-02 15:30          | sonnet                    | single_model            |
 *
 * Repos: 1 "api" (101, 102, 106, 107), 2 "web" (102, 103, 108). In UTC, 103 and 104 would fall
 * on the next day and month. Session 101 ended a turn with tool_use 0 times.
 */
import { session, stops, utc, type Repo } from './payload.js';

export const USAGE_TIMEZONE = 'America/Los_Angeles';

const SONNET = 'claude-sonnet-4-5';
const OPUS = 'claude-opus-4-5';
const HAIKU = 'claude-haiku-4-5';
const UNKNOWN = 'claude-mystery-9';
const CUSTOM = 'acme-internal-1';

/** A negotiated haiku rate and a model only this file prices. */
export const USAGE_PRICING_FILE = {
  models: [
    { model: HAIKU, input_usd_per_mtok: 0.5, output_usd_per_mtok: 2.5, cache_write_usd_per_mtok: 0.625, cache_read_usd_per_mtok: 0.05 },
    {
      model: CUSTOM,
      aliases: ['acme-internal-latest'],
      input_usd_per_mtok: 2,
      output_usd_per_mtok: 8,
      cache_write_usd_per_mtok: 2.5,
      cache_read_usd_per_mtok: 0.2,
      price_date: '2026-06-01',
      source: 'our contract',
    },
  ],
};

const API: Repo = [1, 'api', '/code/api'];
const WEB: Repo = [2, 'web', '/code/web'];

interface UsageSession {
  id: number;
  started?: string;
  ended?: string;
  models: string[];
  /** input, output, cache read, cache creation */
  tokens: [number, number, number, number];
  repos?: Repo[];
  stops?: Array<[string, number]>;
}

const SESSIONS: UsageSession[] = [
  {
    id: 101,
    started: '2026-11-01 08:30:00',
    ended: '2026-11-01 08:50:00',
    models: [SONNET],
    tokens: [1000, 2000, 100_000, 10_000],
    repos: [API],
    stops: [
      ['end_turn', 2],
      ['tool_use', 0],
    ],
  },
  {
    id: 102,
    started: '2026-11-01 09:30:00',
    ended: '2026-11-01 10:15:00',
    models: [HAIKU, OPUS],
    tokens: [500, 500, 0, 0],
    repos: [API, WEB],
    stops: [['end_turn', 1]],
  },
  {
    id: 103,
    started: '2026-11-01 06:59:00',
    ended: '2026-11-01 07:20:00',
    models: ['<synthetic>', HAIKU],
    tokens: [100, 100, 100, 200],
    repos: [WEB],
    stops: [
      ['tool_use', 3],
      ['end_turn', 1],
    ],
  },
  { id: 104, started: '2026-10-01 06:59:00', models: [UNKNOWN], tokens: [10, 10, 10, 10] },
  { id: 105, started: '2026-11-02 17:00:00', models: ['<synthetic>'], tokens: [0, 0, 0, 0] },
  { id: 106, started: '2026-11-02 20:00:00', ended: '2026-11-02 20:30:00', models: [UNKNOWN, SONNET], tokens: [1000, 1000, 0, 0], repos: [API] },
  { id: 107, started: '2026-11-03 03:00:00', models: [CUSTOM], tokens: [1000, 1000, 1000, 1000], repos: [API] },
  { id: 108, models: [SONNET], tokens: [1, 1, 1, 1], repos: [WEB] },
  { id: 109, started: '2026-10-31 22:00:00', models: [OPUS], tokens: [200, 100, 0, 0] },
  { id: 110, started: '2026-11-02 23:30:00', ended: '2026-11-02 23:45:00', models: [SONNET], tokens: [0, 100, 0, 0] },
];

export function usagePayloadText(): string {
  const elements = SESSIONS.map((s) => ({
    session: session({
      id: s.id,
      cwd: '/code',
      started_at: s.started ? utc(s.started) : null,
      ended_at: s.ended ? utc(s.ended) : null,
      messages: [2, 1, 1],
      tokens: s.tokens,
      models: s.models,
      stops: s.stops ? stops(s.stops) : '',
    }),
    repos: s.repos ?? [],
  }));
  return JSON.stringify({ sessions: elements, generated_at: utc('2026-11-04 00:00:00'), scan_version: 1 });
}
