import type { HealthResponse, Refresh, RefreshListResponse } from 'session-lattice/api';
import { getJson } from './api.js';
import { emptyFigure, timeline, type ChartFigure } from './charts.js';
import { h, table } from './dom.js';
import { pullerPhrase, TICK_OUTCOME } from './freshness.js';
import { fmtInt, localTime, relative } from './format.js';
import { browserHref, type Page, type PageContext, type PageHandle } from './page.js';

/** /ui/status: the puller's state in words, each view's refresh history, and the last tick as a timeline. */

const HISTORY = 200;
/** Refreshes further apart than this belong to different ticks. */
const TICK_GAP_MS = 5000;

/**
 * Drawn before any generation exists too (the puller's first error matters most then), and its
 * sentences about the puller follow every health check: a failed tick publishes nothing.
 */
export const statusPage: Page = async ({ main, health, signal }: PageContext): Promise<PageHandle> => {
  const tz = health.timezone;
  const at = (iso: string | null) => h('time', { datetime: iso ?? '', title: iso ? localTime(iso, tz) : null }, relative(iso));
  const facts = h('div', {}, pullerFacts(health, at));
  const puller = h('section', { 'aria-labelledby': 'puller-h' }, h('h2', { id: 'puller-h' }, 'The puller'), facts);
  const onHealth = (next: HealthResponse) => facts.replaceChildren(pullerFacts(next, at));
  if (health.generation === null) {
    main.replaceChildren(h('h1', {}, 'Status'), puller, h('p', { class: 'empty' }, 'No generation is published yet, so no view has been refreshed.'));
    return { onHealth };
  }
  const history = await getJson<RefreshListResponse>(`/refreshes?limit=${HISTORY}`, signal);
  const chart = lastTickChart(history.refreshes);
  main.replaceChildren(
    h('h1', {}, 'Status'),
    puller,
    h('h2', { class: 'section' }, 'Each view’s last refresh'),
    table<Refresh>(
      [
        { label: 'View', cell: (r) => h('a', { href: browserHref(r.view) }, r.view) },
        { label: 'Last refresh', wrap: true, cell: (r) => h('span', {}, r.error ? 'failed ' : 'refreshed ', at(r.started_at), r.error ? `: ${r.error}` : '') },
        { label: 'Took', numeric: true, cell: (r) => `${fmtInt(r.duration_ms)} ms` },
        { label: 'Rows', numeric: true, cell: (r) => fmtInt(r.row_count) },
        { label: 'Refreshes in the last ' + HISTORY, numeric: true, cell: (r) => String(history.refreshes.filter((x) => x.view === r.view).length) },
      ],
      latestPerView(history.refreshes),
    ),
    h('div', { class: 'charts' }, chart.element),
    h('h2', { class: 'section' }, `The last ${history.refreshes.length} refreshes`),
    table<Refresh>(
      [
        { label: 'Started', cell: (r) => h('time', { datetime: r.started_at }, localTime(r.started_at, tz)) },
        { label: 'View', cell: (r) => r.view },
        { label: 'Took', numeric: true, cell: (r) => `${fmtInt(r.duration_ms)} ms` },
        { label: 'Rows', numeric: true, cell: (r) => fmtInt(r.row_count) },
        { label: 'Outcome', cell: (r) => r.error ?? 'ok' },
      ],
      history.refreshes,
    ),
  );
  chart.draw();
  return { onHealth };
};
statusPage.withoutData = true;

function pullerFacts(health: HealthResponse, at: (iso: string | null) => HTMLElement): HTMLElement {
  const p = health.puller;
  const items: Array<HTMLElement | null> = [
    h('li', {}, 'Health: ', h('strong', {}, health.status), health.reasons.length ? `, because ${health.reasons.join('; ')}` : ', nothing is wrong.'),
    h('li', {}, 'Puller: ', ...pullerPhrase(p, health.timezone), '.'),
  ];
  if (p) {
    items.push(
      h('li', {}, 'Started ', at(p.started_at), `, version ${p.version}, pulling every ${p.refresh_interval_seconds} s.`),
      p.last_tick_finished_at
        ? h(
            'li',
            {},
            'Its last tick ',
            at(p.last_tick_finished_at),
            ' ',
            TICK_OUTCOME[p.last_tick_outcome ?? 'published'],
            p.last_tick_outcome === 'failed' && p.last_error ? `: ${p.last_error}` : '',
            '.',
          )
        : h('li', {}, 'It has not finished a tick yet.'),
      h('li', {}, 'Last success ', at(p.last_success_at), p.consecutive_failures > 0 ? `; ${p.consecutive_failures} failed ticks since.` : '.'),
      p.last_error && p.last_tick_outcome !== 'failed' ? h('li', {}, 'Last error (since recovered) ', at(p.last_error_at), `: ${p.last_error}`) : null,
      p.rejected_rows ? h('li', {}, `${fmtInt(p.rejected_rows)} rows of the last payload were rejected as invalid.`) : null,
      Object.keys(p.view_errors).length
        ? h(
            'li',
            {},
            `Views failing: ${Object.entries(p.view_errors)
              .map(([v, e]) => `${v} (${e})`)
              .join('; ')}.`,
          )
        : null,
    );
  }
  return h('ul', { class: 'status-list' }, ...items);
}

function latestPerView(refreshes: readonly Refresh[]): Refresh[] {
  const seen = new Map<string, Refresh>();
  for (const r of refreshes) if (!seen.has(r.view)) seen.set(r.view, r); // most recent first
  return [...seen.values()].sort((a, b) => a.view.localeCompare(b.view));
}

/** The refreshes of the most recent tick: the newest run of refreshes with no long gap between them. */
function lastTick(refreshes: readonly Refresh[]): Refresh[] {
  const ascending = [...refreshes].reverse();
  let start = ascending.length - 1;
  while (start > 0 && Date.parse(ascending[start]!.started_at) - Date.parse(ascending[start - 1]!.finished_at) < TICK_GAP_MS) start--;
  return ascending.slice(Math.max(0, start));
}

function lastTickChart(refreshes: readonly Refresh[]): ChartFigure {
  const base = { title: 'The last tick, view by view', view: 'refreshes', viewHref: '/refreshes' };
  const tick = lastTick(refreshes);
  if (tick.length === 0) return emptyFigure(base, 'No view has been refreshed yet.');
  const t0 = Date.parse(tick[0]!.started_at);
  const spans = tick.map((r): [number, number] => [(Date.parse(r.started_at) - t0) / 1000, (Date.parse(r.finished_at) - t0) / 1000]);
  const total = Math.max(...spans.map(([, b]) => b));
  const failed = tick.filter((r) => r.error !== null).length;
  const numbers = table<Refresh>(
    [
      { label: 'View', cell: (r) => r.view },
      { label: 'Start (s)', numeric: true, cell: (r) => ((Date.parse(r.started_at) - t0) / 1000).toFixed(3) },
      { label: 'Took (ms)', numeric: true, cell: (r) => fmtInt(r.duration_ms) },
      { label: 'Outcome', cell: (r) => r.error ?? 'ok' },
    ],
    tick,
  );
  return timeline(
    {
      ...base,
      tall: true,
      numbers,
      summary: `Timeline of the last tick: ${tick.length} views refreshed one after another in ${total.toFixed(2)} s${failed ? `, ${failed} failed` : ''}.`,
    },
    tick.map((r) => r.view),
    spans,
    tick.map((r) => r.error !== null),
  );
}
