import type { Column, ViewRowsResponse, ViewSummary } from 'session-lattice/api';
import { ApiError, getCatalog, getJson, rowsUrl, type Query } from './api.js';
import { errorBox, h } from './dom.js';
import { fmtInt } from './format.js';
import { filterEditor, filtersOf } from './filter-editor.js';
import { browserHref, type PageContext, type PageHandle } from './page.js';

/**
 * /ui/views/{name}: a table browser on GET /views/{name}. The page's query string is the API's own
 * (filter[col][op], order_by, columns, limit, after), so a bookmark or a shared link shows the same
 * rows, and the download links fetch exactly the rows on screen.
 */

const PAGE_SIZES = [25, 50, 100, 500];

export async function viewBrowserPage(ctx: PageContext): Promise<PageHandle> {
  const { main, signal } = ctx;
  const name = decodeURIComponent(location.pathname.slice('/ui/views/'.length));
  const query: Query = [...new URLSearchParams(location.search)].filter(([k]) => k !== 'format');
  const catalog = await getCatalog(signal);
  const view = catalog.views.find((v) => v.name === name);
  if (!view) {
    main.replaceChildren(
      h('h1', {}, name),
      errorBox(`There is no view named ${JSON.stringify(name)}.`),
      h('p', {}, h('a', { href: '/ui/views' }, 'See the views there are.')),
    );
    return {};
  }
  const results = h('section', { 'aria-label': 'Rows', 'aria-live': 'polite', 'aria-busy': 'true' });
  main.replaceChildren(
    h('h1', {}, view.name),
    ...(view.stale
      ? [
          h(
            'p',
            { class: 'banner warn stale', role: 'status' },
            `These rows are stale: the view's last refresh failed (${view.last_error ?? 'unknown error'}), so they are from an earlier load than the other views'.`,
          ),
        ]
      : []),
    h(
      'details',
      { class: 'lede' },
      h('summary', {}, 'What this view answers'),
      h('p', {}, view.description),
      h('p', {}, `Key: ${view.key_columns.join(', ')}.`),
    ),
    controls(view, query, ctx),
    results,
  );
  const load = async () => {
    results.setAttribute('aria-busy', 'true');
    try {
      const answer = await getJson<ViewRowsResponse>(rowsUrl(view.name, query), signal);
      results.replaceChildren(...rowsSection(view, query, answer, ctx));
    } catch (err) {
      if (signal.aborted) return;
      const message = err instanceof ApiError ? `${err.message}` : `The rows could not be read: ${String(err)}`;
      results.replaceChildren(errorBox(message), h('p', {}, h('a', { href: browserHref(view.name) }, 'Start over with no filters')));
    } finally {
      results.setAttribute('aria-busy', 'false');
    }
  };
  await load();
  return { refresh: load };
}

const get = (query: Query, key: string) => query.find(([k]) => k === key)?.[1];
const without = (query: Query, ...keys: string[]): Array<[string, string]> => query.filter(([k]) => !keys.includes(k)).map(([k, v]) => [k, v]);

/** The filter form, the column chooser and the page size: applying them starts from the first page. */
function controls(view: ViewSummary, query: Query, ctx: PageContext): HTMLElement {
  const editor = filterEditor(view.columns, filtersOf(query));
  const chosen = get(query, 'columns')?.split(',') ?? view.columns.map((c) => c.name);
  const boxes = view.columns.map((c) => {
    const isKey = view.key_columns.includes(c.name);
    const box = h('input', { type: 'checkbox', name: 'column', value: c.name, checked: isKey || chosen.includes(c.name), disabled: isKey });
    return h('label', {}, box, ` ${c.name} `, h('span', { class: 'muted' }, isKey ? `${c.type}, key` : c.type));
  });
  // The query's own limit stays selectable (a bookmark may say 37); without one, the API's default is
  // marked once the first answer says what it is (rowsSection).
  const asked = Number(get(query, 'limit') ?? NaN);
  const sizes = Number.isInteger(asked) && !PAGE_SIZES.includes(asked) ? [...PAGE_SIZES, asked].sort((a, b) => a - b) : PAGE_SIZES;
  const size = h('select', { name: 'limit', id: 'page-size' }, ...sizes.map((n) => h('option', { value: n, selected: n === asked }, String(n))));
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Filters, columns and page size' },
    editor.element,
    h('details', {}, h('summary', {}, `Columns (${chosen.length} of ${view.columns.length})`), h('div', { class: 'columns-list' }, ...boxes)),
    h('div', { class: 'toolbar' }, h('label', { for: 'page-size' }, 'Rows per page '), size, h('button', { type: 'submit', class: 'primary' }, 'Apply')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next: Array<[string, string]> = [...editor.query()];
    const order = get(query, 'order_by');
    if (order) next.push(['order_by', order]);
    const picked = boxes
      .map((l) => l.querySelector('input')!)
      .filter((b) => b.checked && !b.disabled)
      .map((b) => b.value);
    const nonKey = view.columns.filter((c) => !view.key_columns.includes(c.name)).length;
    if (picked.length < nonKey) next.push(['columns', picked.join(',') || view.key_columns.join(',')]);
    next.push(['limit', size.value]);
    ctx.navigate(browserHref(view.name, next));
  });
  return form;
}

function rowsSection(view: ViewSummary, query: Query, answer: ViewRowsResponse, ctx: PageContext): HTMLElement[] {
  const firstPage = get(query, 'after') === undefined && get(query, 'offset') === undefined;
  const size = document.getElementById('page-size') as HTMLSelectElement | null;
  if (size && get(query, 'limit') === undefined) size.value = String(answer.limit);
  const count =
    answer.total === null
      ? `${fmtInt(answer.rows.length)} rows`
      : `${fmtInt(answer.rows.length)} of ${fmtInt(answer.total)} matching rows${firstPage ? '' : ' (a later page)'}`;
  const downloads = h(
    'span',
    { class: 'downloads' },
    'Download these rows: ',
    ...(['csv', 'ndjson', 'json'] as const).map((f) =>
      h('a', { href: rowsUrl(view.name, query, f), download: `${view.name}.${f}`, 'data-format': f }, f.toUpperCase()),
    ),
  );
  const pager = h(
    'nav',
    { class: 'pager', 'aria-label': 'Result pages' },
    firstPage ? null : h('a', { href: browserHref(view.name, without(query, 'after', 'offset')) }, '← First page'),
    // The API's own next page (it drops offset, keeps the rest), shown in the browser.
    answer.next_url !== null ? h('a', { href: `/ui${answer.next_url}`, rel: 'next' }, 'Next page →') : h('span', { class: 'muted' }, 'Last page'),
  );
  for (const a of pager.querySelectorAll('a')) {
    a.addEventListener('click', (e) => {
      e.preventDefault();
      ctx.navigate(a.getAttribute('href')!);
    });
  }
  return [
    h('div', { class: 'toolbar' }, h('span', { class: 'count', 'data-total': answer.total ?? '' }, count), downloads),
    rowsTable(view, query, answer, ctx),
    pager,
  ];
}

function rowsTable(view: ViewSummary, query: Query, answer: ViewRowsResponse, ctx: PageContext): HTMLElement {
  if (answer.rows.length === 0) return h('p', { class: 'empty' }, 'No rows match.');
  const sort = answer.order_by[0] ?? null;
  const header = (c: Column) => {
    const state = sort === c.name ? 'ascending' : sort === `-${c.name}` ? 'descending' : null;
    const listType = c.type.endsWith('[]');
    const label = h('span', {}, c.name);
    if (listType) return h('th', { scope: 'col', title: `${c.type}: lists cannot be sorted` }, label);
    // The arrow is hidden from the accessible name (aria-sort says it): the button stays "tool_calls".
    const arrow = state ? h('span', { class: 'arrow', 'aria-hidden': 'true' }, state === 'ascending' ? ' ▲' : ' ▼') : null;
    const button = h('button', { type: 'button', title: `Sort by ${c.name}${state === 'ascending' ? ', descending' : ''}` }, label, arrow);
    button.addEventListener('click', () => {
      const order = state === 'ascending' ? `-${c.name}` : c.name;
      ctx.navigate(
        browserHref(view.name, [...without(query, 'order_by', 'after', 'offset'), ['order_by', order]]),
        `th[data-column="${CSS.escape(c.name)}"] button`,
      );
    });
    return h('th', { scope: 'col', 'aria-sort': state, class: isNumeric(c) ? 'num' : null, 'data-column': c.name }, button);
  };
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { 'data-view': view.name },
      h('thead', {}, h('tr', {}, ...answer.columns.map(header))),
      h('tbody', {}, ...answer.rows.map((row) => h('tr', {}, ...answer.columns.map((c) => cell(c, row[c.name]))))),
    ),
  );
}

const NUMERIC = /^(BIGINT|INTEGER|HUGEINT|SMALLINT|TINYINT|UBIGINT|UINTEGER|DOUBLE|FLOAT|REAL|DECIMAL)/;
const isNumeric = (c: Column) => NUMERIC.test(c.type);

function cell(c: Column, value: unknown): HTMLElement {
  if (value === null || value === undefined) return h('td', { class: 'null' }, 'null');
  const text = Array.isArray(value) ? value.map((v) => (v === null ? 'null' : String(v))).join(', ') : String(value);
  return h('td', { class: isNumeric(c) ? 'num' : null, title: text.length > 80 ? text : null }, text.length > 80 ? `${text.slice(0, 79)}…` : text);
}
