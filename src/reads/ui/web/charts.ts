import type { Chart as ChartJs, ChartConfiguration, ChartType } from 'chart.js';
import type {} from 'chartjs-chart-matrix';
import { h } from './dom.js';

/**
 * Charts, drawn by Chart.js (loaded by the page as its UMD build, which registers `window.Chart`;
 * the matrix controller for the heatmap registers itself on it). Every chart is a figure with a
 * link to the view that feeds it, a text summary for screen readers, and its numbers as a table
 * one click away.
 */

declare global {
  interface Window {
    Chart: typeof ChartJs;
  }
}

/** Okabe & Ito's palette: told apart with every common colour-vision deficiency, and in both themes. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#999999'];

const drawn = new Set<{ destroy(): void }>();

/** Before a page re-renders: a chart keeps listeners on its canvas until destroyed. */
export function destroyCharts(): void {
  for (const c of drawn) c.destroy();
  drawn.clear();
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function draw<T extends ChartType>(canvas: HTMLCanvasElement, config: ChartConfiguration<T>): void {
  const Chart = window.Chart;
  // Read at each draw: the theme follows prefers-color-scheme, which can change while the page is open.
  Chart.defaults.color = cssVar('--muted');
  Chart.defaults.borderColor = cssVar('--line');
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  drawn.add(new Chart(canvas, config));
}

export interface ChartFigure {
  element: HTMLElement;
  /** Draws once the figure is in the document (Chart.js sizes the canvas from its box). */
  draw(): void;
}

export interface FigureOptions {
  title: string;
  /** The view the chart's numbers come from, and the browser URL showing them. */
  view: string;
  viewHref: string;
  /** What the chart shows, in one or two sentences: the canvas's accessible name. */
  summary: string;
  numbers: HTMLElement;
  tall?: boolean;
  /** Spans the whole row of the chart grid. */
  wide?: boolean;
}

function figure(opts: FigureOptions, paint: (canvas: HTMLCanvasElement) => void): ChartFigure {
  const canvas = h('canvas', { role: 'img', 'aria-label': opts.summary });
  const element = h(
    'figure',
    { class: opts.wide ? 'chart wide' : 'chart' },
    h('figcaption', {}, h('h2', {}, opts.title), h('a', { href: opts.viewHref }, `From ${opts.view} →`)),
    h('div', { class: opts.tall ? 'canvas-box tall' : 'canvas-box' }, canvas),
    h('details', {}, h('summary', {}, 'The numbers'), opts.numbers),
  );
  return { element, draw: () => paint(canvas) };
}

export function emptyFigure(opts: Omit<FigureOptions, 'numbers' | 'summary'>, why: string): ChartFigure {
  const element = h(
    'figure',
    { class: 'chart' },
    h('figcaption', {}, h('h2', {}, opts.title), h('a', { href: opts.viewHref }, `From ${opts.view} →`)),
    h('p', { class: 'empty' }, why),
  );
  return { element, draw: () => undefined };
}

export interface Series {
  label: string;
  data: number[];
}

const BASE_OPTIONS = { responsive: true, maintainAspectRatio: false, animation: false } as const;

/** Bars per category, stacked by series (cost or tokens per day by model). */
export function stackedBars(opts: FigureOptions, labels: string[], series: Series[], format: (n: number) => string): ChartFigure {
  return figure(opts, (canvas) =>
    draw(canvas, {
      type: 'bar',
      data: {
        labels,
        datasets: series.map((s, i) => ({ label: s.label, data: s.data, backgroundColor: PALETTE[i % PALETTE.length], borderWidth: 0 })),
      },
      options: {
        ...BASE_OPTIONS,
        interaction: { mode: 'index', intersect: false },
        scales: {
          // sampleSize: 90 day labels of one width; measuring a few is enough.
          x: { stacked: true, ticks: { maxRotation: 0, autoSkipPadding: 12, sampleSize: 8 }, grid: { display: false } },
          y: { stacked: true, ticks: { callback: (v) => format(Number(v)) } },
        },
        plugins: {
          legend: { position: 'bottom', labels: { boxWidth: 12 } },
          tooltip: { callbacks: { label: (c) => `${c.dataset.label ?? ''}: ${format(Number(c.raw))}` } },
        },
      },
    }),
  );
}

/** Horizontal bars, stacked when there are several series (tool calls that succeeded and failed). */
export function horizontalBars(opts: FigureOptions, labels: string[], series: Series[], format: (n: number) => string): ChartFigure {
  return figure(opts, (canvas) =>
    draw(canvas, {
      type: 'bar',
      data: {
        labels,
        datasets: series.map((s, i) => ({ label: s.label, data: s.data, backgroundColor: PALETTE[series.length > 1 ? ([2, 5][i] ?? i) : 0], borderWidth: 0 })),
      },
      options: {
        ...BASE_OPTIONS,
        indexAxis: 'y',
        interaction: { mode: 'index', intersect: false },
        scales: {
          x: { stacked: true, ticks: { callback: (v) => format(Number(v)) } },
          y: { stacked: true, grid: { display: false } },
        },
        plugins: {
          legend: { display: series.length > 1, position: 'bottom', labels: { boxWidth: 12 } },
          tooltip: { callbacks: { label: (c) => `${c.dataset.label ?? ''}: ${format(Number(c.raw))}` } },
        },
      },
    }),
  );
}

export interface Cell {
  x: string;
  y: string;
  v: number;
}

/** A grid of cells shaded by value (sessions by weekday and hour). */
export function heatmap(opts: FigureOptions, xLabels: string[], yLabels: string[], cells: Cell[], format: (n: number) => string): ChartFigure {
  const max = Math.max(1, ...cells.map((c) => c.v));
  // Once per cell here, not per cell per draw in a scriptable option.
  const shades = cells.map(({ v }) => (v === 0 ? 'rgba(127,127,127,0.08)' : `rgba(0,114,178,${(0.15 + 0.85 * (v / max)).toFixed(3)})`));
  return figure(opts, (canvas) =>
    draw(canvas, {
      type: 'matrix',
      data: {
        datasets: [
          {
            label: opts.title,
            data: cells,
            backgroundColor: shades,
            borderWidth: 0,
            width: ({ chart }) => (chart.chartArea?.width ?? 0) / xLabels.length - 1,
            height: ({ chart }) => (chart.chartArea?.height ?? 0) / yLabels.length - 1,
          },
        ],
      },
      options: {
        ...BASE_OPTIONS,
        scales: {
          x: { type: 'category', labels: xLabels, offset: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 6 } },
          y: { type: 'category', labels: yLabels, offset: true, grid: { display: false } },
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: () => '',
              label: (c) => {
                const cell = c.raw as Cell;
                return `${cell.y} ${cell.x}:00 — ${format(cell.v)}`;
              },
            },
          },
        },
      },
    }),
  );
}

/** Bars floating between a start and an end (a refresh timeline: each view's materialization). */
export function timeline(opts: FigureOptions, labels: string[], spans: Array<[number, number]>, failed: boolean[]): ChartFigure {
  return figure(opts, (canvas) =>
    draw(canvas, {
      type: 'bar',
      data: {
        labels,
        datasets: [
          { label: 'seconds into the tick', data: spans, backgroundColor: failed.map((f) => (f ? PALETTE[5] : PALETTE[0])), borderWidth: 0, minBarLength: 2 },
        ],
      },
      options: {
        ...BASE_OPTIONS,
        indexAxis: 'y',
        scales: { x: { title: { display: true, text: 'seconds since the first view started' } }, y: { grid: { display: false }, ticks: { autoSkip: false } } },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: (c) => {
                const [a, b] = c.raw as [number, number];
                return `${a.toFixed(2)} s → ${b.toFixed(2)} s (${(b - a).toFixed(2)} s)`;
              },
            },
          },
        },
      },
    }),
  );
}
