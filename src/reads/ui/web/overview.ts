import type { UsageDailyByModelRow } from 'session-lattice/api';
import { getRows } from './api.js';
import { emptyFigure, heatmap, horizontalBars, stackedBars, type ChartFigure, type FigureOptions, type Series } from './charts.js';
import { dataValue, h, table } from './dom.js';
import { addDays, fmtCompact, fmtInt, fmtPercent, fmtUsd, mondayOf, monthOf, todayIn } from './format.js';
import { browserHref, type PageContext } from './page.js';

/**
 * The overview: headline figures for today, this week and this month (in the data's zone), and
 * the charts people would rather look at than read. Each figure and chart comes from one view,
 * read through the public API and linked to in the table browser.
 */

const DAYS = 90;
/** Models beyond this many (by cost over the 90 days) are drawn as one "other" series. */
const MAX_SERIES = 6;
const TOP = 10;

interface Period {
  label: string;
  view: 'usage_daily' | 'usage_weekly' | 'usage_monthly';
  key: 'day' | 'week' | 'month';
  value: string;
}

type Result<T> = { ok: true; value: T } | { ok: false; error: string };

/** One request's outcome: a view that fails (not materialized yet, say) costs its own figure, not the page. */
function settle<T>(p: Promise<T>): Promise<Result<T>> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (err: unknown) => ({ ok: false as const, error: err instanceof Error ? err.message : String(err) }),
  );
}

function rowsOr<T>(result: Result<{ rows: T[] }>, base: Omit<FigureOptions, 'numbers' | 'summary'>, draw: (rows: T[]) => ChartFigure): ChartFigure {
  return result.ok ? draw(result.value.rows) : emptyFigure(base, `Cannot read ${base.view}: ${result.error}`);
}

export async function overviewPage({ main, health, signal }: PageContext): Promise<void> {
  const today = todayIn(health.timezone);
  const periods: Period[] = [
    { label: 'Today', view: 'usage_daily', key: 'day', value: today },
    { label: 'This week', view: 'usage_weekly', key: 'week', value: mondayOf(today) },
    { label: 'This month', view: 'usage_monthly', key: 'month', value: monthOf(today) },
  ];
  const daily = (from: string, to: string) =>
    settle(
      getRows(
        'usage_daily_by_model',
        [
          ['filter[day][gte]', from],
          ['filter[day][lte]', to],
          ['order_by', 'day'],
          ['columns', 'session_count,total_tokens,cost_usd'],
          ['limit', '10000'],
        ],
        signal,
      ),
    );
  // All at once, the last day with sessions too: it is needed only when the last 90 days are empty.
  let range = { from: addDays(today, -(DAYS - 1)), to: today };
  let [byModel, latest, heat, tools, repos, ...figures] = await Promise.all([
    daily(range.from, range.to),
    settle(
      getRows(
        'usage_daily',
        [
          ['order_by', '-day'],
          ['limit', '1'],
          ['columns', 'day'],
          ['count', 'none'],
        ],
        signal,
      ),
    ),
    settle(getRows('activity_heatmap', [['limit', '168']], signal)),
    settle(
      getRows(
        'tool_usage',
        [
          ['order_by', '-calls'],
          ['limit', String(TOP)],
        ],
        signal,
      ),
    ),
    settle(
      getRows(
        'usage_by_repo',
        [
          ['order_by', '-cost_usd'],
          ['limit', String(TOP)],
        ],
        signal,
      ),
    ),
    ...periods.map((p) => settle(getRows(p.view, [[`filter[${p.key}]`, p.value]], signal))),
  ]);
  // No session in the last 90 days (an old export, a long break): the 90 days up to the last one.
  const lastDay = latest.ok ? latest.value.rows[0]?.day : undefined;
  if (byModel.ok && byModel.value.rows.length === 0 && lastDay !== undefined && lastDay < range.from) {
    range = { from: addDays(lastDay, -(DAYS - 1)), to: lastDay };
    byModel = await daily(range.from, range.to);
  }
  const { from, to } = range;

  const figureCards = periods.map((p, i) => {
    const result = figures[i]!;
    if (!result.ok) {
      return h(
        'section',
        { class: 'figure', 'aria-label': p.label, 'data-period': p.key },
        h('h2', {}, p.label),
        h('p', { class: 'empty' }, `Cannot read ${p.view}: ${result.error}`),
      );
    }
    const row = result.value.rows[0];
    // No row: no session started in the period.
    const sessions = row?.session_count ?? 0;
    const tokens = row?.total_tokens ?? 0;
    const cost = row?.cost_usd ?? 0;
    return h(
      'section',
      { class: 'figure', 'aria-label': p.label, 'data-period': p.key },
      h('h2', {}, h('a', { href: browserHref(p.view, [[`filter[${p.key}]`, p.value]]) }, p.label)),
      h(
        'dl',
        {},
        h('dt', {}, 'Sessions'),
        h('dd', { 'data-figure': 'sessions' }, dataValue(sessions, fmtInt(sessions))),
        h('dt', {}, 'Tokens'),
        h('dd', { 'data-figure': 'tokens' }, dataValue(tokens, fmtCompact(tokens))),
        h('dt', {}, 'Cost'),
        h('dd', { 'data-figure': 'cost' }, dataValue(cost, fmtUsd(cost))),
      ),
    );
  });
  const all = health.session_count;
  const allCard = h(
    'section',
    { class: 'figure', 'aria-label': 'All sessions loaded', 'data-period': 'all' },
    h('h2', {}, h('a', { href: browserHref('session_facts') }, 'All sessions loaded')),
    h('p', { class: 'big', 'data-figure': 'sessions' }, dataValue(all, fmtInt(all))),
  );

  const dailyBase = {
    view: 'usage_daily_by_model',
    viewHref: browserHref('usage_daily_by_model', [
      ['filter[day][gte]', from],
      ['order_by', '-day'],
    ]),
  };
  const charts: ChartFigure[] = [
    ...(byModel.ok
      ? dailyCharts(byModel.value.rows, from, to)
      : [COST_TITLE, TOKENS_TITLE].map((title) => emptyFigure({ ...dailyBase, title }, `Cannot read usage_daily_by_model: ${byModel.error}`))),
    rowsOr(tools, TOOLS_BASE, toolsChart),
    rowsOr(repos, REPOS_BASE, reposChart),
    rowsOr(heat, HEATMAP_BASE, heatmapChart),
  ];
  main.replaceChildren(
    h('h1', {}, 'Overview'),
    h(
      'p',
      { class: 'lede' },
      `Days, weeks and months are local to ${health.timezone ?? 'the server’s zone'}, the zone the puller computed them in.`,
      to !== today ? ` No session started in the last ${DAYS} days: the charts show the ${DAYS} days up to ${to}, the last day with sessions.` : '',
    ),
    h('div', { class: 'figures' }, allCard, ...figureCards),
    h('div', { class: 'charts' }, ...charts.map((c) => c.element)),
  );
  for (const c of charts) c.draw();
}

const COST_TITLE = `Cost per day, last ${DAYS} days`;
const TOKENS_TITLE = `Tokens per day, last ${DAYS} days`;
const TOOLS_BASE = { title: `Top ${TOP} tools by calls`, view: 'tool_usage', viewHref: browserHref('tool_usage', [['order_by', '-calls']]) };
const REPOS_BASE = { title: `Top ${TOP} repos by cost`, view: 'usage_by_repo', viewHref: browserHref('usage_by_repo', [['order_by', '-cost_usd']]) };
const HEATMAP_BASE = { title: 'When sessions start', view: 'activity_heatmap', viewHref: browserHref('activity_heatmap', [['order_by', '-session_count']]) };

function dailyCharts(rows: UsageDailyByModelRow[], from: string, today: string): ChartFigure[] {
  const days: string[] = [];
  for (let d = from; d <= today; d = addDays(d, 1)) days.push(d);
  const href = browserHref('usage_daily_by_model', [
    ['filter[day][gte]', from],
    ['order_by', '-day'],
  ]);
  const base = { view: 'usage_daily_by_model', viewHref: href };
  if (rows.length === 0) {
    const why = `No session started between ${from} and ${today}.`;
    return [emptyFigure({ ...base, title: COST_TITLE }, why), emptyFigure({ ...base, title: TOKENS_TITLE }, why)];
  }
  // Models ranked by cost, then tokens (unpriced models cost nothing but still used tokens).
  const totals = new Map<string, { cost: number; tokens: number }>();
  for (const r of rows) {
    const t = totals.get(r.model) ?? { cost: 0, tokens: 0 };
    t.cost += r.cost_usd ?? 0;
    t.tokens += r.total_tokens ?? 0;
    totals.set(r.model, t);
  }
  const ranked = [...totals.entries()].sort(([, a], [, b]) => b.cost - a.cost || b.tokens - a.tokens).map(([m]) => m);
  const shown = ranked.length > MAX_SERIES ? ranked.slice(0, MAX_SERIES - 1) : ranked;
  const seriesOf = (model: string) => (shown.includes(model) ? model : 'other models');
  const labels = [...shown, ...(ranked.length > shown.length ? ['other models'] : [])];
  const index = new Map(days.map((d, i) => [d, i]));
  const build = (pick: (r: UsageDailyByModelRow) => number): Series[] => {
    const series = labels.map((label) => ({ label, data: days.map(() => 0) }));
    for (const r of rows) {
      const s = series[labels.indexOf(seriesOf(r.model))];
      const i = index.get(r.day);
      if (s && i !== undefined) s.data[i]! += pick(r);
    }
    return series;
  };
  const cost = build((r) => r.cost_usd ?? 0);
  const tokens = build((r) => r.total_tokens ?? 0);
  const totalOf = (series: Series[]) => series.reduce((t, s) => t + s.data.reduce((a, b) => a + b, 0), 0);
  const numbers = table(
    [
      { label: 'Day', cell: (r: UsageDailyByModelRow) => r.day },
      { label: 'Model', cell: (r: UsageDailyByModelRow) => r.model },
      { label: 'Sessions', numeric: true, cell: (r: UsageDailyByModelRow) => fmtInt(r.session_count) },
      { label: 'Tokens', numeric: true, cell: (r: UsageDailyByModelRow) => fmtInt(r.total_tokens) },
      { label: 'Cost', numeric: true, cell: (r: UsageDailyByModelRow) => fmtUsd(r.cost_usd) },
    ],
    [...rows].reverse(),
  );
  return [
    stackedBars(
      {
        ...base,
        title: COST_TITLE,
        numbers,
        summary: `Stacked bar chart of cost in USD per day from ${from} to ${today}, by model: ${fmtUsd(totalOf(cost))} in total.`,
      },
      days.map((d) => d.slice(5)),
      cost,
      fmtUsd,
    ),
    stackedBars(
      {
        ...base,
        title: TOKENS_TITLE,
        numbers: numbers.cloneNode(true) as HTMLElement,
        summary: `Stacked bar chart of tokens per day from ${from} to ${today}, by model: ${fmtCompact(totalOf(tokens))} in total.`,
      },
      days.map((d) => d.slice(5)),
      tokens,
      fmtCompact,
    ),
  ];
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function heatmapChart(rows: Array<{ iso_weekday: number; hour: number; session_count: number | null }>): ChartFigure {
  const hours = Array.from({ length: 24 }, (_, i) => String(i).padStart(2, '0'));
  const cells = rows.map((r) => ({ x: hours[r.hour] ?? String(r.hour), y: WEEKDAYS[r.iso_weekday - 1] ?? String(r.iso_weekday), v: r.session_count ?? 0 }));
  const busiest = [...cells].sort((a, b) => b.v - a.v)[0];
  const grid = WEEKDAYS.map((day) => ({ day, counts: hours.map((hr) => cells.find((c) => c.y === day && c.x === hr)?.v ?? 0) }));
  const numbers = table(
    [
      { label: 'Day', cell: (r: (typeof grid)[number]) => r.day },
      ...hours.map((hr, i) => ({ label: hr, numeric: true, cell: (r: (typeof grid)[number]) => String(r.counts[i]) })),
    ],
    grid,
    'Sessions started, by weekday (rows) and hour (columns)',
  );
  return heatmap(
    {
      ...HEATMAP_BASE,
      summary: `Heatmap of sessions started by weekday and hour of day${busiest && busiest.v > 0 ? `; busiest: ${busiest.y} ${busiest.x}:00 with ${busiest.v} sessions` : ''}.`,
      numbers,
      tall: true,
      wide: true,
    },
    hours,
    [...WEEKDAYS].reverse(),
    cells,
    (n) => `${fmtInt(n)} sessions`,
  );
}

function toolsChart(rows: Array<{ tool_name: string; calls: number | null; errors: number | null; error_rate: number | null }>): ChartFigure {
  const base = TOOLS_BASE;
  if (rows.length === 0) return emptyFigure(base, 'No tool calls yet.');
  const numbers = table(
    [
      { label: 'Tool', cell: (r: (typeof rows)[number]) => r.tool_name },
      { label: 'Calls', numeric: true, cell: (r: (typeof rows)[number]) => fmtInt(r.calls) },
      { label: 'Errors', numeric: true, cell: (r: (typeof rows)[number]) => fmtInt(r.errors) },
      { label: 'Error rate', numeric: true, cell: (r: (typeof rows)[number]) => fmtPercent(r.error_rate) },
    ],
    rows,
  );
  return horizontalBars(
    {
      ...base,
      numbers,
      summary: `Bar chart of the ${rows.length} most called tools, split into calls that succeeded and failed; most called: ${rows[0]!.tool_name} with ${fmtInt(rows[0]!.calls)} calls.`,
    },
    rows.map((r) => `${r.tool_name} (${fmtPercent(r.error_rate ?? 0)} errors)`),
    [
      { label: 'succeeded', data: rows.map((r) => (r.calls ?? 0) - (r.errors ?? 0)) },
      { label: 'failed', data: rows.map((r) => r.errors ?? 0) },
    ],
    fmtInt,
  );
}

function reposChart(rows: Array<{ repo_id: number; repo_name: string | null; cost_usd: number | null; session_count: number | null }>): ChartFigure {
  const base = REPOS_BASE;
  if (rows.length === 0) return emptyFigure(base, 'No session belongs to a repo yet.');
  const name = (r: (typeof rows)[number]) => r.repo_name ?? `repo ${r.repo_id}`;
  const numbers = table(
    [
      { label: 'Repo', cell: name },
      { label: 'Sessions', numeric: true, cell: (r: (typeof rows)[number]) => fmtInt(r.session_count) },
      { label: 'Cost', numeric: true, cell: (r: (typeof rows)[number]) => fmtUsd(r.cost_usd) },
    ],
    rows,
  );
  return horizontalBars(
    { ...base, numbers, summary: `Bar chart of the ${rows.length} repos that cost the most; first: ${name(rows[0]!)} at ${fmtUsd(rows[0]!.cost_usd)}.` },
    rows.map(name),
    [{ label: 'cost', data: rows.map((r) => r.cost_usd ?? 0) }],
    fmtUsd,
  );
}
