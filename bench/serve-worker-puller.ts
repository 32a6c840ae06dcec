import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../src/shared/config.js';
import { createLogger } from '../src/shared/logger.js';
import { logStarted, openPuller } from '../src/cli/puller-commands.js';

/**
 * The worker thread of bench/serve-worker.ts: the Puller, as `serve-puller` runs it, in a
 * worker_threads Worker of the serving process. Its log lines are posted to the main thread,
 * which writes them through its own log destination (one writer on stdout).
 */

if (!parentPort) throw new Error('serve-worker-puller.ts runs as a worker thread');
const port = parentPort;
const config = (workerData as { config: Config }).config;
const logger = createLogger('session-lattice-puller', config.logLevel, { write: (line: string) => port.postMessage({ log: line }) });
const puller = await openPuller(config, logger);
if (!puller) {
  port.postMessage({ refused: true });
} else {
  port.on('message', (m: unknown) => {
    if (m === 'stop') {
      logger.info({ signal: 'SIGTERM' }, 'stopping');
      puller.stop('SIGTERM');
    }
  });
  port.postMessage({ ready: true });
  logStarted(logger, config, puller);
  await puller.run();
  await puller.close();
  logger.info('stopped');
  port.close();
}
