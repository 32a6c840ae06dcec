import { existsSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

/**
 * A separate reader process: opens the published file read-only over and over until `stopFile`
 * exists, printing one JSON line per open: the generation it saw and the sessions it counted, or
 * the error. Tests use it to check that every open, at any instant, finds a whole generation.
 */
const [path, stopFile] = process.argv.slice(2);
if (!path || !stopFile) throw new Error('usage: reader-loop <published.duckdb> <stop-file>');

while (!existsSync(stopFile)) {
  if (!existsSync(path)) {
    process.stdout.write(`${JSON.stringify({ missing: true })}\n`);
    await new Promise((r) => setTimeout(r, 5));
    continue;
  }
  try {
    const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
    const conn = await instance.connect();
    const reader = await conn.runAndReadAll(
      `SELECT (SELECT generation FROM lattice.meta)::DOUBLE AS generation,
              (SELECT session_count FROM lattice.meta)::DOUBLE AS declared,
              (SELECT count(*) FROM base.sessions)::DOUBLE AS sessions`,
    );
    process.stdout.write(`${JSON.stringify(reader.getRowObjectsJson()[0])}\n`);
    conn.disconnectSync();
    instance.closeSync();
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`);
  }
}
