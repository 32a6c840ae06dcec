import type { ViewSummary } from 'session-lattice/api';
import { getCatalog } from './api.js';
import { h, table } from './dom.js';
import { fmtInt, localTime, relative } from './format.js';
import { browserHref, type PageContext } from './page.js';

/** /ui/views: the catalog, each view with what it answers, its key, size, freshness and last error. */
export async function viewsListPage({ main, signal }: PageContext): Promise<void> {
  const catalog = await getCatalog(signal);
  const tz = catalog.freshness.timezone;
  const stale = catalog.views.filter((v) => v.stale).length;
  main.replaceChildren(
    h('h1', {}, 'Views'),
    h('p', { class: 'lede' }, `${catalog.views.length} views, materialized by the puller from the sessions repo-recall serves.`),
    ...(stale
      ? [
          h(
            'p',
            { class: 'banner warn', role: 'status' },
            `${stale} ${stale === 1 ? 'view is' : 'views are'} stale: the last refresh failed, so ${stale === 1 ? 'its' : 'their'} rows are from an earlier load than the other views'. They are marked below.`,
          ),
        ]
      : []),
    table<ViewSummary>(
      [
        { label: 'View', cell: (v) => h('a', { href: browserHref(v.name) }, v.name) },
        { label: 'What it answers', wrap: true, cell: (v) => firstSentence(v.description) },
        { label: 'Key', cell: (v) => v.key_columns.join(', ') },
        { label: 'Rows', numeric: true, cell: (v) => fmtInt(v.row_count) },
        {
          label: 'Refreshed',
          cell: (v) =>
            h(
              'span',
              {},
              h('time', { datetime: v.materialized_at ?? '', title: localTime(v.materialized_at, tz) }, relative(v.materialized_at)),
              v.stale ? h('strong', { class: 'error-text stale' }, ' stale') : null,
            ),
        },
        {
          label: 'Last error',
          wrap: true,
          cell: (v) => (v.last_error ? h('span', { class: 'error-text', title: v.last_error_at ?? '' }, v.last_error) : h('span', { class: 'muted' }, 'none')),
        },
      ],
      catalog.views,
    ),
  );
}

/** The question a view answers is its description's first sentence; the rest is on the view's own page. */
function firstSentence(text: string): string {
  const end = text.indexOf('? ');
  if (end > 0 && end < 200) return text.slice(0, end + 1);
  const dot = text.indexOf('. ');
  return dot > 0 && dot < 240 ? text.slice(0, dot + 1) : text;
}
