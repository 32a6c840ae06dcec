import type { HealthResponse } from 'session-lattice/api';
import { getHealth } from './api.js';
import { destroyCharts } from './charts.js';
import { errorBox } from './dom.js';
import { renderFreshness } from './freshness.js';
import { keepLive } from './live.js';
import { overviewPage } from './overview.js';
import type { Page, PageContext, PageHandle } from './page.js';
import { statusPage } from './status-page.js';
import { viewBrowserPage } from './view-browser.js';
import { viewsListPage } from './views-list.js';

/**
 * The web UI's entry point: picks the page for the path, renders it from the JSON API, and keeps it
 * current. `body[data-ready]` names the generation the page shows once it is drawn (tests and the
 * benchmark wait for it), and a `lattice:ready` performance mark records when.
 */

const PAGES: Array<[RegExp, Page, string]> = [
  [/^\/(ui\/?)?$/, overviewPage, '/'],
  [/^\/ui\/views\/?$/, viewsListPage, '/ui/views'],
  [/^\/ui\/views\/[^/]+$/, viewBrowserPage, '/ui/views'],
  [/^\/ui\/status\/?$/, statusPage, '/ui/status'],
];

const RETRY_MS = 5000;

const main = document.getElementById('main')!;
const bar = document.getElementById('freshness')!;
const live = document.getElementById('live')!;

/** The render in progress or done; aborted when another starts. */
let current: AbortController | null = null;
/** The path and query the page shows. */
let rendered = '';
let handle: PageHandle = {};
let health: HealthResponse;

function pageFor(path: string): [Page, string] {
  const found = PAGES.find(([re]) => re.test(path));
  return found ? [found[1], found[2]] : [overviewPage, '/'];
}

function markReady(generation: number | null): void {
  document.body.dataset.ready = String(generation ?? 'none');
  performance.mark('lattice:ready');
}

async function render(focus?: string): Promise<void> {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  handle = {};
  rendered = location.pathname + location.search;
  const [page, nav] = pageFor(location.pathname);
  for (const a of document.querySelectorAll('header nav a')) {
    if (a.getAttribute('href') === nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  delete document.body.dataset.ready;
  destroyCharts();
  const ctx: PageContext = { main, health, signal: controller.signal, navigate };
  let drawn: PageHandle = {};
  try {
    if (health.generation === null && !page.withoutData) {
      main.replaceChildren(errorBox('No data is published yet: the page fills in by itself once the puller publishes its first generation.'));
    } else {
      drawn = (await page(ctx)) ?? {};
    }
  } catch (err) {
    if (controller.signal.aborted) return;
    main.replaceChildren(errorBox(`This page could not be drawn: ${err instanceof Error ? err.message : String(err)}`));
  }
  if (controller.signal.aborted) return;
  handle = drawn;
  if (focus) (document.querySelector<HTMLElement>(focus) ?? main).focus();
  markReady(health.generation);
}

function navigate(url: string, focus?: string): void {
  history.pushState(null, '', url);
  if (!focus) main.focus();
  void render(focus);
}

/** A new health report: the bar always, the page when the data changed. */
async function follow(next: HealthResponse, newData: boolean): Promise<void> {
  const wasEmpty = health.generation === null;
  health = next;
  renderFreshness(bar, next);
  handle.onHealth?.(next);
  if (!newData) return;
  const { refresh } = handle;
  if (!refresh || wasEmpty) return render();
  // A refresh in place; the page is ready again only if no other render started meanwhile.
  const during = current;
  delete document.body.dataset.ready;
  await refresh(next);
  if (current === during && !during?.signal.aborted) markReady(next.generation);
}

async function start(): Promise<void> {
  try {
    health = await getHealth();
  } catch (err) {
    main.replaceChildren(
      errorBox(`The server could not be reached: ${err instanceof Error ? err.message : String(err)}. Trying again in ${RETRY_MS / 1000} s.`),
    );
    setTimeout(() => void start(), RETRY_MS);
    return;
  }
  renderFreshness(bar, health);
  await render();
  // Back and forward re-render; a jump to an anchor (the skip link) changes only the hash.
  window.addEventListener('popstate', () => {
    if (location.pathname + location.search !== rendered) void render();
  });
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => void render());
  keepLive({ first: health, announce: live, onHealth: follow });
}

void start();
