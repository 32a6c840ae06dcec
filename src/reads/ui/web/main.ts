import type { HealthResponse } from 'session-lattice/api';
import { getHealth } from './api.js';
import { destroyCharts } from './charts.js';
import { errorBox } from './dom.js';
import { renderFreshness } from './freshness.js';
import { keepLive } from './live.js';
import { overviewPage } from './overview.js';
import type { Page, PageContext } from './page.js';
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

const main = document.getElementById('main')!;
const bar = document.getElementById('freshness')!;
const live = document.getElementById('live')!;

let current: AbortController | null = null;
/** The path and query the page shows. */
let rendered = '';
let refresh: (() => Promise<void>) | null = null;

function pageFor(path: string): [Page, string] {
  const found = PAGES.find(([re]) => re.test(path));
  return found ? [found[1], found[2]] : [overviewPage, '/'];
}

async function render(health: HealthResponse): Promise<void> {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  rendered = location.pathname + location.search;
  const [page, nav] = pageFor(location.pathname);
  for (const a of document.querySelectorAll('header nav a')) {
    if (a.getAttribute('href') === nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  delete document.body.dataset.ready;
  destroyCharts();
  const ctx: PageContext = { main, health, signal: controller.signal, navigate };
  try {
    if (health.generation === null) {
      main.replaceChildren(errorBox('No data is published yet: the page fills in by itself once the puller publishes its first generation.'));
      refresh = null;
    } else {
      refresh = (await page(ctx)) ?? null;
    }
  } catch (err) {
    if (controller.signal.aborted) return;
    main.replaceChildren(errorBox(`This page could not be drawn: ${err instanceof Error ? err.message : String(err)}`));
  }
  if (controller.signal.aborted) return;
  document.body.dataset.ready = String(health.generation ?? 'none');
  performance.mark('lattice:ready');
}

let health: HealthResponse;

function navigate(url: string): void {
  history.pushState(null, '', url);
  void render(health);
  main.focus();
}

async function start(): Promise<void> {
  health = await getHealth();
  renderFreshness(bar, health);
  await render(health);
  // Back and forward re-render; a jump to an anchor (the skip link) changes only the hash.
  window.addEventListener('popstate', () => {
    if (location.pathname + location.search !== rendered) void render(health);
  });
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => void render(health));
  keepLive({
    first: health,
    announce: live,
    onHealth: async (next, newData) => {
      const wasEmpty = health.generation === null;
      health = next;
      renderFreshness(bar, next);
      if (!newData) return;
      if (refresh && !wasEmpty) {
        await refresh();
        document.body.dataset.ready = String(next.generation);
      } else {
        await render(next);
      }
    },
  });
}

start().catch((err: unknown) => {
  main.replaceChildren(errorBox(`The server could not be reached: ${err instanceof Error ? err.message : String(err)}`));
});
