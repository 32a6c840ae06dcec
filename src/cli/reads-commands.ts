import type { Config } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { startReadsServer } from '../reads/server.js';
import { exitAfterDeadline, stopSignal } from './signals.js';

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
  const signal = await stopSignal();
  logger.info({ signal }, 'stopping');
  exitAfterDeadline(() => logger.error('did not stop within the deadline; exiting'));
  await server.close();
  logger.info('stopped');
  return 0;
}
