import type { Config } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { startReadsServer } from '../reads/server.js';

/** Milliseconds a signalled server gets to stop cleanly before it exits anyway. */
const STOP_DEADLINE_MS = 9_000;

/** `serve-reads`: serves the published generations over HTTP until SIGINT/SIGTERM. */
export async function serveReads(config: Config): Promise<number> {
  const logger = createLogger('session-lattice-reads', config.logLevel);
  let server;
  try {
    server = await startReadsServer({ config, logger });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
      process.stderr.write(`session-lattice: cannot listen on ${config.host}:${config.port}: ${e.message}\n`);
      return 1;
    }
    throw err;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  logger.info({ signal }, 'stopping');
  setTimeout(() => {
    logger.error('did not stop within the deadline; exiting');
    process.exit(1);
  }, STOP_DEADLINE_MS).unref();
  await server.close();
  logger.info('stopped');
  return 0;
}
