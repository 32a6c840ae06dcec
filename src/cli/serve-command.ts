import type { Config } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { startReadsServer } from '../reads/server.js';
import { openPuller } from './puller-commands.js';
import { exitAfterDeadline, stopSignal } from './signals.js';

/**
 * `serve` (transitional): the puller and the reads server in one process. They still meet only
 * through the published files; the reads side never touches the puller's working database. The
 * heavy parts of a tick run on DuckDB's and libuv's threads, so the event loop keeps answering.
 */
export async function serveBoth(config: Config): Promise<number> {
  const pullerLogger = createLogger('session-lattice-puller', config.logLevel);
  const readsLogger = createLogger('session-lattice-reads', config.logLevel);
  const puller = await openPuller(config, pullerLogger);
  if (!puller) return 1;
  let server;
  try {
    server = await startReadsServer({ config, logger: readsLogger });
  } catch (err) {
    await puller.close();
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`session-lattice: cannot listen on ${config.host}:${config.port}: ${e.message}\n`);
    return 1;
  }
  const loop = puller.run();
  const signal = await Promise.race([stopSignal(), loop.then(() => null)]);
  readsLogger.info({ signal }, 'stopping');
  exitAfterDeadline(() => readsLogger.error('did not stop within the deadline; exiting'));
  puller.stop();
  await loop;
  await Promise.all([puller.close(), server.close()]);
  readsLogger.info('stopped');
  return 0;
}
