import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Logger } from '../../../shared/logger.js';
import { etagMatches } from '../../respond/headers.js';
import { loadUiAssets, type UiAssets } from '../../ui/assets.js';
import { shellHtml } from '../../ui/shell.js';
import { sendError } from './errors.js';

/**
 * The read-only web UI: the page shell at `/`, `/ui/views`, `/ui/views/{name}` and `/ui/status`,
 * and its assets under `/ui/assets/{version}/`. The pages are one more consumer of the JSON API;
 * nothing here reads the data.
 */

/**
 * Only this server's own files run; no inline script or style, no framing, no form posting away.
 * Chart.js sizes its canvas through the style property (CSSOM), which `style-src 'self'` allows.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const YEAR_SECONDS = 365 * 24 * 3600;

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY');
}

const UI_PATHS = ['/', '/ui', '/ui/views', '/ui/views/:name', '/ui/status'];

export const uiRoutes: FastifyPluginAsync<{ dir?: string; logger: Logger }> = async (app, opts) => {
  let assets: UiAssets;
  try {
    assets = loadUiAssets(opts.dir);
  } catch (err) {
    // The API and MCP do not need the page: they keep serving, and the page says what is missing.
    const why = err instanceof Error ? err.message : String(err);
    opts.logger.error({ err: why }, 'the web UI is unavailable');
    for (const path of [...UI_PATHS, '/ui/assets/*']) app.get(path, async (_req, reply) => sendError(reply, 'ui_not_built', why));
    return;
  }
  const base = `/ui/assets/${assets.version}`;
  const modules = [...assets.files.keys()].filter((name) => name.endsWith('.js') && !assets.vendor.has(name));
  const shell = Buffer.from(shellHtml(base, ['main.js', ...modules.filter((m) => m !== 'main.js')]));
  // The shell names the build's assets, so it changes exactly when they do.
  const shellEtag = `"shell-${assets.version}"`;

  const sendShell = async (req: { headers: { 'if-none-match'?: string | undefined } }, reply: FastifyReply) => {
    secure(reply).header('etag', shellEtag).header('cache-control', 'no-cache');
    if (etagMatches(req.headers['if-none-match'], shellEtag)) return reply.code(304).send();
    return reply.type('text/html; charset=utf-8').send(shell);
  };
  for (const path of UI_PATHS) app.get(path, sendShell);

  app.get<{ Params: { version: string; file: string } }>('/ui/assets/:version/:file', async (req, reply) => {
    const { version, file } = req.params;
    const found = assets.files.get(file);
    if (!found) return sendError(reply, 'not_found', `no web asset ${JSON.stringify(file.slice(0, 100))}`);
    if (version !== assets.version) {
      // A page from an older build: its modules are gone, and mixing builds would break it.
      return sendError(
        reply,
        'not_found',
        `web assets of build ${JSON.stringify(version.slice(0, 40))} are gone (this server runs build ${assets.version}); reload the page`,
      );
    }
    secure(reply).header('etag', found.etag).header('cache-control', `public, max-age=${YEAR_SECONDS}, immutable`);
    if (etagMatches(req.headers['if-none-match'], found.etag)) return reply.code(304).send();
    return reply.type(found.type).send(found.body);
  });
};
