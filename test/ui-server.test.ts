import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startReadsServer } from '../src/reads/http/server.js';
import { loadUiAssets } from '../src/reads/ui/assets.js';
import { DEFAULTS } from '../src/shared/config.js';
import { packageFile } from '../src/shared/version.js';
import { get, startPulledServer, type PulledServer } from './reads/fixtures.js';

/*
 * How serve-reads serves the web UI, over real HTTP: the page shell on every UI path, assets by
 * content hash with long cache lifetimes, a strict CSP, and nothing from anywhere else.
 */

let pulled: PulledServer;
let url: string;
let shell: string;
let assetPaths: string[];

beforeAll(async () => {
  pulled = await startPulledServer('lattice-ui-server-', 50);
  url = pulled.server.url;
  shell = (await get(`${url}/`)).text;
  assetPaths = [...shell.matchAll(/(?:src|href)="(\/ui\/assets\/[^"]+)"/g)].map((m) => m[1]!);
});

afterAll(async () => {
  await pulled?.close();
});

describe('the page shell', () => {
  it('is served at /, /ui/views, /ui/views/{name} and /ui/status with a strict CSP and no inline code', async () => {
    for (const path of ['/', '/ui', '/ui/views', '/ui/views/session_facts', '/ui/status']) {
      const r = await get(`${url}${path}`);
      expect(r.status, path).toBe(200);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      const csp = String(r.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.text).toBe(shell);
    }
    // Every script has a src; no style element or attribute; no URL to another host.
    expect(shell.match(/<script\b[^>]*>/g)!.every((tag) => /\bsrc="\/ui\/assets\//.test(tag))).toBe(true);
    expect(shell).not.toMatch(/<style|\sstyle=|https?:\/\//);
    expect(assetPaths.length).toBeGreaterThanOrEqual(5);
  });

  it('revalidates by ETag (no-cache: a new build is seen at once)', async () => {
    const first = await get(`${url}/`);
    expect(first.headers['cache-control']).toBe('no-cache');
    const again = await get(`${url}/`, { 'if-none-match': String(first.headers.etag) });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
  });

  it('answers other methods with a 405 and unknown UI paths with a 404, in the JSON error format', async () => {
    const post = await get(`${url}/`, {}, 'POST');
    expect(post.status).toBe(405);
    expect(post.json).toMatchObject({ error: { code: 'method_not_allowed' } });
    const missing = await get(`${url}/ui/nothing-here`);
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ error: { code: 'not_found' } });
  });
});

describe('the assets', () => {
  it('are cached for a year by content-hashed URL, with a strong ETag, and HEAD answers like GET', async () => {
    for (const path of assetPaths) {
      const r = await get(`${url}${path}`);
      expect(r.status, path).toBe(200);
      expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(String(r.headers.etag)).toMatch(/^"[\w-]{22}"$/);
      expect(r.headers['content-type']).toMatch(/^(text\/javascript|text\/css|image\/svg\+xml)/);
      expect(r.text.length).toBeGreaterThan(0);
      const revalidated = await get(`${url}${path}`, { 'if-none-match': String(r.headers.etag) });
      expect(revalidated.status).toBe(304);
      const head = await get(`${url}${path}`, {}, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.headers.etag).toBe(r.headers.etag);
      expect(head.text).toBe('');
    }
  });

  it("load nothing from elsewhere: the page's own modules import only relative URLs", async () => {
    const main = assetPaths.find((p) => p.endsWith('/main.js'))!;
    const base = main.slice(0, -'main.js'.length);
    const seen = new Set<string>();
    const queue = ['main.js'];
    while (queue.length > 0) {
      const name = queue.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      const r = await get(`${url}${base}${name}`);
      expect(r.status, name).toBe(200);
      // Static imports and re-exports, side-effect imports and dynamic ones.
      for (const m of r.text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)) {
        expect(m[1], `${name} imports ${m[1]}`).toMatch(/^\.\/[\w-]+\.js$/);
        queue.push(m[1]!.slice(2));
      }
    }
    expect(seen.size).toBeGreaterThan(5);
    const css = await get(`${url}${assetPaths.find((p) => p.endsWith('.css'))!}`);
    expect(css.text).not.toMatch(/url\(|@import|https?:/);
  });

  it('of another build, or unknown, are a 404 JSON saying so', async () => {
    const main = assetPaths.find((p) => p.endsWith('/main.js'))!;
    const stale = await get(`${url}${main.replace(/\/ui\/assets\/[^/]+\//, '/ui/assets/0ld8uild0000/')}`);
    expect(stale.status).toBe(404);
    expect((stale.json as { error: { message: string } }).error.message).toContain('reload the page');
    const unknown = await get(`${url}${main.replace('main.js', 'nope.js')}`);
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ error: { code: 'not_found' } });
  });

  it('get a new version when any file changes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lattice-ui-assets-'));
    try {
      await cp(packageFile('dist/web'), dir, { recursive: true });
      const before = loadUiAssets(dir);
      await writeFile(join(dir, 'style.css'), `${before.files.get('style.css')!.body.toString()}\n/* changed */\n`);
      const after = loadUiAssets(dir);
      expect(after.version).not.toBe(before.version);
      expect(after.files.get('main.js')!.etag).toBe(before.files.get('main.js')!.etag);
      expect(() => loadUiAssets(join(dir, 'missing'))).toThrow(/the web UI is not built .*run npm run build/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('without a built web UI', () => {
  it('answers the pages 503 ui_not_built, names the fix, and keeps serving the API', async () => {
    const logs: Array<Record<string, unknown>> = [];
    const server = await startReadsServer({
      config: { ...DEFAULTS, home: pulled.home.dir, port: 0 },
      logger: pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) }),
      uiDir: join(pulled.home.dir, 'no-ui-here'),
    });
    try {
      for (const path of ['/', '/ui/status', '/ui/assets/x/main.js']) {
        const r = await get(`${server.url}${path}`);
        expect(r.status, path).toBe(503);
        expect(r.json).toMatchObject({ error: { code: 'ui_not_built', message: expect.stringContaining('run npm run build') } });
      }
      expect((await get(`${server.url}/healthz`)).status).toBe(200);
      expect((await get(`${server.url}/views/tool_usage?limit=1`)).status).toBe(200);
      expect(logs.some((l) => l.msg === 'the web UI is unavailable' && l.level === 50)).toBe(true);
    } finally {
      await server.close();
    }
  });
});
