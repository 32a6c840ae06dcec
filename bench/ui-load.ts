import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import type { Browser } from 'playwright-core';
import { chromiumPath, launchBrowser, ready, watchedPage, type WatchedPage } from '../test/ui/browser.js';
import type { BenchModule } from './run.js';
import { fetchText, startReadsRig } from './reads-rig.js';
import { max, median, percentile } from './stats.js';

/**
 * Web UI benchmark: the overview's first load in Chromium on a 100k-session generation, from
 * navigation start until the page has drawn its charts (main.ts's `lattice:ready` mark), on a cold
 * cache (a fresh browser context each run) and warm (the same context's second visit), with what
 * went over the wire. Baseline, in the same run: the same Chromium loading the same shell and asset
 * bytes from a bare Fastify with no API call, until its `load` event.
 */

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 100_000);
const RUNS = 20;
const CHARTS = 5;
const TARGET_MS = 1000;

interface Wire {
  url: string;
  status: number;
  bytes: number;
  cached: boolean;
  done: boolean;
}
interface Resource {
  name: string;
  start: number;
  end: number;
  server: number | null;
  cache: string;
}
interface Load {
  ms: number;
  dcl: number;
  wire: Wire[];
  resources: Resource[];
}
interface Tracked {
  w: WatchedPage;
  wire: Map<string, Wire>;
}

const isApi = (url: string): boolean => {
  const path = new URL(url).pathname;
  return path === '/healthz' || path.startsWith('/views');
};

/** A fresh context (cold cache, no cookies) whose requests are counted from CDP: bytes as received, headers included. */
async function tracked(browser: Browser): Promise<Tracked> {
  const w = await watchedPage(browser);
  const cdp = await w.context.newCDPSession(w.page);
  const wire = new Map<string, Wire>();
  const of = (id: string) => wire.get(id) ?? { url: '', status: 0, bytes: 0, cached: false, done: false };
  cdp.on('Network.requestWillBeSent', (e) => {
    if (e.request.url.startsWith('http')) wire.set(e.requestId, { url: e.request.url, status: 0, bytes: 0, cached: false, done: false });
  });
  cdp.on('Network.requestServedFromCache', (e) => void (of(e.requestId).cached = true));
  cdp.on('Network.responseReceived', (e) => {
    const r = of(e.requestId);
    r.status = e.response.status;
    if (e.response.fromDiskCache) r.cached = true;
  });
  cdp.on('Network.loadingFinished', (e) => Object.assign(of(e.requestId), { bytes: e.encodedDataLength, done: true }));
  cdp.on('Network.loadingFailed', (e) => void (of(e.requestId).done = true));
  await cdp.send('Network.enable');
  return { w, wire };
}

/** One navigation to `url`, until the page is drawn ('ready') or, for the static baseline, its load event. */
async function load({ w, wire }: Tracked, url: string, until: 'ready' | 'load'): Promise<Load> {
  wire.clear();
  await w.page.goto(url, { waitUntil: until === 'ready' ? 'commit' : 'load' });
  if (until === 'ready') await ready(w.page);
  const at = until === 'ready' ? "performance.getEntriesByName('lattice:ready')[0]?.startTime" : "performance.getEntriesByType('navigation')[0]?.loadEventEnd";
  const ms = Number(await (await w.page.waitForFunction(`${at} || 0`)).jsonValue());
  // The byte counts arrive after the bodies the page has already used: wait for every request to finish.
  await w.page.waitForLoadState('networkidle');
  for (let i = 0; [...wire.values()].some((r) => !r.done); i++) {
    if (i > 250) throw new Error(`requests still open after the load of ${url}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const page = JSON.parse(
    await w.page.evaluate<string>(`JSON.stringify({
      dcl: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
      resources: performance.getEntriesByType('resource').map((e) => ({ name: e.name, start: e.startTime, end: e.responseEnd,
        server: e.serverTiming.find((s) => s.name === 'total')?.duration ?? null, cache: e.serverTiming.find((s) => s.name === 'cache')?.description ?? '' })),
    })`),
  ) as { dcl: number; resources: Resource[] };
  return { ms, dcl: page.dcl, wire: [...wire.values()], resources: page.resources };
}

/** The overview must have drawn every chart with no console error, failed request or 4xx/5xx: else the time means nothing. */
async function check({ w }: Tracked, what: string): Promise<void> {
  const figures = await w.page.locator('figure.chart').count();
  const canvases = await w.page.locator('figure.chart canvas').count();
  if (figures !== CHARTS || canvases !== CHARTS) throw new Error(`${what}: ${figures} figure.chart and ${canvases} canvases, expected ${CHARTS} charts drawn`);
  if (w.problems.length > 0) throw new Error(`${what}: ${w.problems.join('; ')}`);
}

interface StaticRoute {
  path: string;
  body: string;
  headers: Record<string, string>;
}

/**
 * The baseline's server: given bytes with given headers (content type included, which bench/bare-server.js
 * would override with JSON), run as this same file with `--static`, pinned to core 0 like the rig's servers.
 */
async function startStatic(dir: string, routes: StaticRoute[]): Promise<{ url: string; stop(): Promise<void> }> {
  const file = join(dir, 'ui-static.json');
  await writeFile(file, JSON.stringify(routes));
  const child = spawn('taskset', ['-c', '0', process.execPath, fileURLToPath(import.meta.url), '--static', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [first] = (await once(child.stdout, 'data')) as [Buffer];
  const { url } = JSON.parse(first.toString().split('\n')[0]!) as { url: string };
  return { url, stop: async () => void (child.kill('SIGTERM'), await once(child, 'exit')) };
}

async function serveStatic(file: string): Promise<void> {
  const app = Fastify({ logger: false });
  for (const r of JSON.parse(await readFile(file, 'utf8')) as StaticRoute[]) {
    const body = Buffer.from(r.body);
    app.get(r.path, async (_req, reply) => reply.headers(r.headers).send(body));
  }
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` })}\n`);
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

const fmtMs = (v: number) => `${Math.round(v)} ms`;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const sum = (ws: Wire[]) => ws.reduce((t, r) => t + r.bytes, 0);
const path = (url: string) => decodeURIComponent(new URL(url).pathname + new URL(url).search);

function row(name: string, loads: Load[], base: number | null): string {
  const ms = loads.map((l) => l.ms);
  const wireOf = (l: Load) => l.wire.filter((r) => !r.cached);
  const reqs = `${median(loads.map((l) => wireOf(l).length))} / ${median(loads.map((l) => l.wire.length))}`;
  const assets = median(loads.map((l) => sum(wireOf(l).filter((r) => !isApi(r.url)))));
  const api = median(loads.map((l) => sum(wireOf(l).filter((r) => isApi(r.url)))));
  const ratio = base === null ? '1.00x' : `${(median(ms) / base).toFixed(2)}x`;
  return `| ${name} | ${loads.length} | **${fmtMs(median(ms))}** | ${fmtMs(percentile(ms, 90))} | ${fmtMs(max(ms))} | ${fmtMs(median(loads.map((l) => l.dcl)))} | ${reqs} | ${kb(assets)} | ${kb(api)} | ${kb(assets + api)} | ${ratio} |`;
}

const bench: BenchModule = {
  name: 'ui-load',
  async run() {
    const load1 = loadavg()[0]!;
    const rig = await startReadsRig(SESSIONS, 'ui-load');
    const realChromium = chromiumPath();
    // Chromium (browser, renderer, GPU and network processes alike: they inherit the affinity) on
    // core 1, away from the servers on core 0; launchBrowser takes its executable from CHROMIUM_PATH.
    const wrapper = join(rig.dir, 'chromium-core-1');
    await writeFile(wrapper, `#!/bin/sh\nexec taskset -c 1 ${realChromium} "$@"\n`);
    await chmod(wrapper, 0o755);
    const saved = process.env.CHROMIUM_PATH;
    process.env.CHROMIUM_PATH = wrapper;
    let browser: Browser | null = null;
    let bare: { url: string; stop(): Promise<void> } | null = null;
    try {
      browser = await launchBrowser();
      const url = `${rig.readsUrl}/`;
      // The first load after the server started: its response cache is empty, every view is queried.
      const t0 = await tracked(browser);
      const first = await load(t0, url, 'ready');
      await check(t0, 'first load');
      await t0.w.context.close();

      // The baseline: the shell and the assets this load fetched, the same bytes and headers, but a
      // CSP with connect-src 'none', so that main.js runs and makes no API call at all.
      const statics = first.wire.filter((r) => !isApi(r.url));
      const routes = await Promise.all(
        statics.map(async (r): Promise<StaticRoute> => {
          const got = await fetchText(r.url);
          if (got.status !== 200) throw new Error(`${r.url} answered ${got.status}`);
          const { etag: _etag, 'x-request-id': _id, 'server-timing': _st, ...headers } = got.headers;
          const csp = headers['content-security-policy'];
          if (csp) headers['content-security-policy'] = csp.replace("connect-src 'self'", "connect-src 'none'");
          return { path: new URL(r.url).pathname, body: got.text, headers };
        }),
      );
      bare = await startStatic(rig.dir, routes);
      const bareLoad = async (): Promise<Load> => {
        const t = await tracked(browser!);
        try {
          const l = await load(t, `${bare!.url}/`, 'load');
          if (l.wire.length !== statics.length || l.wire.some((r) => r.status !== 200))
            throw new Error(`the baseline page fetched ${l.wire.map((r) => `${path(r.url)} ${r.status}`).join(', ')}`);
          return l;
        } finally {
          await t.w.context.close();
        }
      };
      await bareLoad();

      // Interleaved, so that drift on the machine falls on both sides alike.
      const bases: Load[] = [];
      const colds: Load[] = [];
      const warms: Load[] = [];
      for (let i = 0; i < RUNS; i++) {
        bases.push(await bareLoad());
        const t = await tracked(browser);
        try {
          colds.push(await load(t, url, 'ready'));
          await check(t, `cold load ${i + 1}`);
          // A second visit: about:blank first, as Chromium turns a navigation to the current URL into a reload.
          await t.w.page.goto('about:blank');
          warms.push(await load(t, url, 'ready'));
          await check(t, `warm load ${i + 1}`);
        } finally {
          await t.w.context.close();
        }
      }
      const base = median(bases.map((l) => l.ms));
      const cold = median(colds.map((l) => l.ms));

      // Where a cold load's time goes, from the page's resource timing (medians over the runs).
      const at = (pick: (l: Load) => number) => fmtMs(median(colds.map(pick)));
      const apiOf = (l: Load) => l.resources.filter((r) => isApi(r.name));
      // Scripts and style only: the icon is fetched late and holds nothing up.
      const code = (l: Load) => l.resources.filter((r) => /\.(js|css)$/.test(new URL(r.name).pathname));
      const codeDone = at((l) => Math.max(...code(l).map((r) => r.end)));
      const healthz = at((l) => apiOf(l).find((r) => path(r.name) === '/healthz')?.end ?? NaN);
      const firstView = at((l) => apiOf(l).find((r) => r.name.includes('/views/'))?.end ?? NaN);
      const lastApi = (l: Load) => Math.max(...apiOf(l).map((r) => r.end));
      const apiRows = apiOf(colds[0]!).map((r) => {
        const same = (l: Load) => apiOf(l).find((x) => x.name === r.name);
        const bytes = colds[0]!.wire.find((x) => x.url === r.name)?.bytes ?? 0;
        const inFirst = first.resources.find((x) => x.name === r.name);
        return `| \`${path(r.name)}\` | ${kb(bytes)} | ${inFirst?.server?.toFixed(1) ?? '-'} ms (${inFirst?.cache || 'n/a'}) | ${median(colds.map((l) => same(l)?.server ?? 0)).toFixed(1)} ms | ${at((l) => (same(l)?.end ?? NaN) - (same(l)?.start ?? NaN))} |`;
      });

      return [
        '## ui-load: the overview page in Chromium',
        '',
        `\`GET /\` on a ${SESSIONS.toLocaleString('en-US')}-session generation in Debian's Chromium (headless, driven by playwright-core), from navigation start to the page's \`lattice:ready\` mark (all ${CHARTS} charts drawn; every load checked for ${CHARTS} drawn charts, no console error and no failed request). Cold: a fresh browser context per run (empty HTTP cache, no cookies). Warm: the same context's second visit (via about:blank), where the immutable assets come from the cache, the shell and the API revalidate. ${RUNS} runs, interleaved with the baseline's. serve-reads (at \`--log-level info\`) and the baseline server pinned to core 0; Chromium, all its processes, pinned to core 1 (through a \`taskset -c 1\` wrapper as its executable). Bytes are as received (headers included, uncompressed: the server does not compress), from CDP's \`Network.loadingFinished\`. Load average when the benchmark started: ${load1.toFixed(2)} (anything else running skews absolute times more than the ratio).`,
        '',
        '| load | runs | ready (median) | p90 | max | DOMContentLoaded | requests (wire / all) | shell + assets | JSON API | total transfer | vs baseline |',
        '|---|---|---|---|---|---|---|---|---|---|---|',
        row(`baseline: the same shell and asset bytes from a bare Fastify, no API call (CSP connect-src 'none'), until \`load\``, bases, null),
        row('overview, first load after the server started (response cache empty)', [first], base),
        row('overview, cold cache', colds, base),
        row('overview, warm cache (second visit)', warms, base),
        '',
        `Target: ready < ${TARGET_MS} ms on this machine, cold: ${cold < TARGET_MS ? 'met' : 'NOT met'} (median ${fmtMs(cold)}, p90 ${fmtMs(
          percentile(
            colds.map((l) => l.ms),
            90,
          ),
        )}); ${(cold / base).toFixed(2)}x the static baseline (${fmtMs(base)}).`,
        '',
        `Where a cold load's time goes (medians): the shell's ${code(colds[0]!).length} scripts and style (Chart.js and its matrix plugin, the page's modules) received by ${codeDone}; \`/healthz\` answered at ${healthz}; the chart window's query (\`usage_daily\`, last day) at ${firstView}; the last API answer at ${at(lastApi)}; ready at ${fmtMs(cold)}, so ${at((l) => l.ms - lastApi(l))} to parse the answers, build the page and draw the charts.`,
        '',
        '| API request (cold load) | bytes | server total, first load | server total, cold loads (median) | in the browser (median) |',
        '|---|---|---|---|---|',
        ...apiRows,
      ].join('\n');
    } finally {
      if (saved === undefined) delete process.env.CHROMIUM_PATH;
      else process.env.CHROMIUM_PATH = saved;
      await browser?.close().catch(() => undefined);
      await bare?.stop().catch(() => undefined);
      await rig.close();
    }
  },
};

export default bench;

if (process.argv[2] === '--static') await serveStatic(process.argv[3]!);
