/** Building DOM from data without innerHTML: text is always text, never markup. */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

/** `<data value=raw>shown</data>`: the figure as people read it, with the exact number beside it. */
export function dataValue(raw: number | string | null, shown: string): HTMLDataElement {
  return h('data', { value: raw === null ? '' : String(raw) }, shown);
}

export interface TableColumn<R> {
  label: string;
  numeric?: boolean;
  /** Long text that wraps instead of widening the table. */
  wrap?: boolean;
  cell: (row: R) => Child;
}

/** A plain table of rows: the numbers behind a chart, the catalog, the refresh history. */
export function table<R>(columns: readonly TableColumn<R>[], rows: readonly R[], caption?: string): HTMLElement {
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      {},
      caption ? h('caption', { class: 'muted' }, caption) : null,
      h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', { scope: 'col', class: c.numeric ? 'num' : null }, c.label)))),
      h('tbody', {}, ...rows.map((r) => h('tr', {}, ...columns.map((c) => h('td', { class: c.numeric ? 'num' : c.wrap ? 'wrap' : null }, c.cell(r)))))),
    ),
  );
}

export function errorBox(message: string): HTMLElement {
  return h('p', { class: 'error', role: 'alert' }, message);
}
