import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

/**
 * The bare-Fastify baseline of the reads benchmark: routes returning given bytes from memory
 * (what the read server answers for the same request), answering 304 to a matching If-None-Match.
 * Usage: node bare-server.js ROUTES_JSON, a file of [{"path", "file", "etag", "headers"?}]; `headers`
 * are sent as given (the read server's own, to serve the same response bytes). Prints {"url": ...}.
 */
const [config] = process.argv.slice(2);
if (!config) throw new Error('usage: bare-server.js ROUTES_JSON');
const routes = JSON.parse(readFileSync(config, 'utf8')) as Array<{ path: string; file: string; etag: string; headers?: Record<string, string> }>;
const app = Fastify({ logger: false });
for (const { path, file, etag, headers } of routes) {
  const body = readFileSync(file);
  app.get(path, async (req, reply) => {
    if (headers) reply.headers(headers);
    reply.header('etag', etag);
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('application/json; charset=utf-8').send(body);
  });
}
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` })}\n`);
const stop = () => void app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
