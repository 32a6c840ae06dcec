import type { CatalogColumn, FilterOp } from 'session-lattice/api';
import { h } from './dom.js';

/**
 * The filter rows of the table browser: column, operator, value, in the read API's syntax
 * (`filter[col][op]=value`). The server checks every value and names the parameter at fault; the
 * editor offers only the operators the catalog says a column takes, so most mistakes cannot be made.
 */

export interface Filter {
  column: string;
  op: FilterOp;
  value: string;
}

const OP_LABELS: Record<FilterOp, string> = {
  eq: '=',
  ne: '≠',
  gt: '>',
  gte: '≥',
  lt: '<',
  lte: '≤',
  in: 'is one of (a,b,…)',
  prefix: 'starts with',
  contains: 'contains',
  isnull: 'is null (true/false)',
};

const FILTER_KEY = /^filter\[([^\]]+)\](?:\[([a-z]+)\])?$/;

/** The filters of a query string, in order. */
export function filtersOf(query: ReadonlyArray<readonly [string, string]>): Filter[] {
  const out: Filter[] = [];
  for (const [key, value] of query) {
    const m = FILTER_KEY.exec(key);
    if (m) out.push({ column: m[1]!, op: (m[2] ?? 'eq') as FilterOp, value });
  }
  return out;
}

export interface FilterEditor {
  element: HTMLElement;
  /** The rows as query parameters; a row with no value is left out (except `isnull`, which needs one anyway). */
  query(): Array<[string, string]>;
}

export function filterEditor(columns: readonly CatalogColumn[], initial: readonly Filter[]): FilterEditor {
  const list = h('div', { class: 'filter-list' });
  let serial = 0;
  const addRow = (f: Partial<Filter>) => {
    const id = `f${serial++}`;
    const column = h(
      'select',
      { 'aria-label': 'Column', id: `${id}-col` },
      ...columns.map((c) => h('option', { value: c.name, selected: c.name === f.column }, c.name)),
    );
    const op = h('select', { 'aria-label': 'Operator', id: `${id}-op` });
    const value = h('input', { type: 'text', 'aria-label': 'Value', id: `${id}-value`, value: f.value ?? '', autocomplete: 'off' });
    const fillOps = (selected?: FilterOp) => {
      const chosen = columns.find((c) => c.name === column.value);
      op.replaceChildren(...(chosen?.operators ?? []).map((o) => h('option', { value: o, selected: o === selected }, OP_LABELS[o])));
      value.placeholder = chosen?.type ?? '';
    };
    fillOps(f.op);
    column.addEventListener('change', () => fillOps(op.value as FilterOp));
    const remove = h('button', { type: 'button', 'aria-label': 'Remove this filter' }, 'Remove');
    const row = h('div', { class: 'filter-row', role: 'group', 'aria-label': 'Filter' }, column, op, value, remove);
    remove.addEventListener('click', () => {
      row.remove();
      addButton.focus();
    });
    list.appendChild(row);
    return column;
  };
  const addButton = h('button', { type: 'button' }, 'Add a filter');
  addButton.addEventListener('click', () => addRow({}).focus());
  for (const f of initial) addRow(f);
  const element = h('fieldset', {}, h('legend', {}, 'Filters'), list, addButton);
  return {
    element,
    query: () =>
      [...list.querySelectorAll('.filter-row')].flatMap((row): Array<[string, string]> => {
        const [column, op] = [...row.querySelectorAll('select')].map((s) => s.value);
        const value = row.querySelector('input')!.value;
        if (!column || !op || value === '') return [];
        return [[op === 'eq' ? `filter[${column}]` : `filter[${column}][${op}]`, value]];
      }),
  };
}
