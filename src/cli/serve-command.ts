import type { Config } from '../shared/config.js';
import { startReadsServer, type ReadsServer } from '../reads/server.js';
import { daemonLogger } from './log-output.js';
import { logStarted, openPuller } from './puller-commands.js';
import { listenFailure } from './reads-commands.js';
import { exitAfterDeadline, StopSignal } from './signals.js';

/**
 * `serve` (transitional): the puller and the reads server in one process. They still meet only
 * through the published files; the reads side never touches the puller's working database. The
 * heavy parts of a tick run on DuckDB's and libuv's threads, so the event loop keeps answering.
 */
export async function serveBoth(config: Config): Promise<number> {
  const stop = new StopSignal();
  const pullerLogger = daemonLogger('puller', config);
  const readsLogger = daemonLogger('reads', config);
  const puller = await openPuller(config, pullerLogger);
  if (!puller) return 1;
  let server: ReadsServer;
  try {
    server = await startReadsServer({ config, logger: readsLogger });
  } catch (err) {
    await puller.close();
    const why = listenFailure(err, config);
    if (why === null) throw err;
    process.stderr.write(`session-lattice: ${why}\n`);
    return 1;
  }
  let loop: Promise<void> = Promise.resolve();
  if (stop.received === null) {
    logStarted(pullerLogger, config, puller);
    loop = puller.run();
  }
  const signal = await Promise.race([stop.promise, loop.then(() => null)]);
  readsLogger.info({ signal }, 'stopping');
  exitAfterDeadline(() => readsLogger.error('did not stop within the deadline; exiting'));
  puller.stop(signal ?? 'shutdown');
  await loop;
  await Promise.all([puller.close(), server.close()]);
  readsLogger.info('stopped');
  return 0;
}
