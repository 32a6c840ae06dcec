import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * A real headless Chromium for the web UI tests: the system's (Debian's `chromium`, which .ci/run
 * installs) driven by playwright-core, whose own browser downloads cannot reach the internet here.
 */

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export function chromiumPath(): string {
  const found = CANDIDATES.find((p): p is string => p !== undefined && p !== '' && existsSync(p));
  if (!found) throw new Error("no Chromium found: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH");
  return found;
}

export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', ...extraArgs], timeout: 120_000 });
}

/** Where the test run writes its screenshots (gitignored). */
const SCREENSHOT_DIR = resolve(import.meta.dirname, '../../test-results/screenshots');

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  /** Console errors and warnings, uncaught exceptions, failed requests and 4xx/5xx answers, in order. */
  problems: string[];
}

export interface PageOptions {
  width?: number;
  height?: number;
  colorScheme?: 'light' | 'dark';
  /** Lets a test inject a script (axe-core) past the page's CSP; never for the CSP checks themselves. */
  bypassCSP?: boolean;
  /** The page's clock (Date) is fixed at this instant; timers still run. */
  now?: Date;
}

/** A fresh context (no cache, no cookies) and page that records everything that went wrong on it. */
export async function watchedPage(browser: Browser, opts: PageOptions = {}): Promise<WatchedPage> {
  const context = await browser.newContext({
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 },
    colorScheme: opts.colorScheme ?? 'light',
    bypassCSP: opts.bypassCSP ?? false,
  });
  context.setDefaultTimeout(60_000);
  if (opts.now) await context.clock.setFixedTime(opts.now);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText ?? '?'})`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return { context, page, problems };
}

/** Waits until the page has drawn the data of a generation (main.ts sets body[data-ready]). */
export async function ready(page: Page, generation?: number): Promise<void> {
  const selector = generation === undefined ? 'body[data-ready]' : `body[data-ready="${generation}"]`;
  await page.waitForSelector(selector, { state: 'attached' });
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/** Runs axe-core (Deque's accessibility engine) on the page against WCAG 2.1 A/AA and its best practices. */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: createRequire(import.meta.url).resolve('axe-core/axe.min.js') });
  const result = (await page.evaluate('axe.run({ runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } })')) as {
    violations: AxeViolation[];
  };
  return result.violations.map(
    (v) =>
      `${v.impact ?? '?'} ${v.id}: ${v.help} (${v.nodes
        .map((n) => n.target.join(' '))
        .slice(0, 3)
        .join(', ')})`,
  );
}
