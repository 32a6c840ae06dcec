import type { Config } from '../shared/config.js';
import { startReadsServer, type ReadsServer } from '../reads/http/server.js';
import { daemonLogger } from './log-output.js';
import { listenError, preflight } from './preflight.js';
import { exitAfterDeadline, StopSignal } from './signals.js';

/** `serve-reads`: serves the published generations over HTTP until SIGINT/SIGTERM. */
export async function serveReads(config: Config): Promise<number> {
  const stop = new StopSignal();
  const logger = daemonLogger('reads', config);
  await preflight(config, { listener: true });
  // A signal while the server starts stops it as soon as it has (or by the deadline).
  void stop.promise.then((signal) => {
    logger.info({ signal }, 'stopping');
    exitAfterDeadline(() => logger.error('did not stop within the deadline; exiting'));
  });
  let server: ReadsServer;
  try {
    server = await startReadsServer({ config, logger });
  } catch (err) {
    throw listenError(err, config);
  }
  await stop.promise;
  await server.close();
  logger.info('stopped');
  return 0;
}
