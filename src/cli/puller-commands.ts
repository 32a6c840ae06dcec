import { CATALOG } from '../shared/catalog/index.js';
import type { Config } from '../shared/config.js';
import { PullerLockedError } from '../shared/errors.js';
import { createLogger, type Logger } from '../shared/logger.js';
import type { FetchProgress } from '../puller/fetch.js';
import { Puller } from '../puller/puller.js';
import { exitAfterDeadline, stopSignal } from './signals.js';

/** Opens the puller, or prints why another one holds this home and returns null. */
export async function openPuller(config: Config, logger: Logger, progress = false): Promise<Puller | null> {
  try {
    return await Puller.open({ config, catalog: CATALOG, logger, onProgress: progress ? progressPrinter() : undefined });
  } catch (err) {
    if (err instanceof PullerLockedError) {
      process.stderr.write(`session-lattice: ${err.message}\n`);
      return null;
    }
    throw err;
  }
}

/** One self-overwriting line on stderr: bytes and sessions received. */
function progressPrinter(): (progress: FetchProgress) => void {
  let last = 0;
  return ({ bytes, totalBytes, sessions }) => {
    const now = Date.now();
    if (now - last < 200 && bytes !== totalBytes) return;
    last = now;
    const mb = (n: number) => (n / 1048576).toFixed(1);
    process.stderr.write(
      `\rreceived ${mb(bytes)}${totalBytes ? ` / ${mb(totalBytes)}` : ''} MiB, ${sessions.toLocaleString('en-US')} sessions${bytes === totalBytes ? ', loading...' : ''}`,
    );
  };
}

/** `serve-puller`: ticks until SIGINT/SIGTERM, then releases the working database. */
export async function servePuller(config: Config): Promise<number> {
  const logger = createLogger('session-lattice-puller', config.logLevel);
  const puller = await openPuller(config, logger);
  if (!puller) return 1;
  void stopSignal().then((signal) => {
    logger.info({ signal }, 'stopping');
    puller.stop();
    exitAfterDeadline(() => logger.error('did not stop within the deadline; exiting'));
  });
  await puller.run();
  await puller.close();
  logger.info('stopped');
  return 0;
}

/** `pull`: one tick, then exit 0 (published or unchanged) or 1 with the reason. */
export async function pullOnce(config: Config): Promise<number> {
  const tty = process.stderr.isTTY === true;
  // A one-shot command: the summary goes to stdout, logs to stderr.
  const puller = await openPuller(config, createLogger('session-lattice-puller', config.logLevel, process.stderr), tty);
  if (!puller) return 1;
  void stopSignal().then(() => puller.stop());
  try {
    const result = await puller.tick();
    if (tty) process.stderr.write('\r\x1b[K');
    if (!result.ok) {
      process.stderr.write(`session-lattice: pull failed: ${result.error}\n`);
      return 1;
    }
    const r = result.report;
    const parts = [
      r.outcome === 'published' ? `published generation ${r.generation}` : `unchanged (generation ${r.generation})`,
      r.upstream === 'loaded'
        ? `loaded ${r.load?.sessions ?? 0} sessions${r.load?.rejected ? ` (${r.load.rejected} rejected)` : ''} from scan ${r.scanVersion}`
        : 'upstream not modified',
      `${r.views.filter((v) => v.status === 'materialized').length} views refreshed`,
    ];
    const failed = r.views.filter((v) => v.status === 'failed');
    if (failed.length) parts.push(`${failed.length} views failed: ${failed.map((v) => `${v.name} (${v.error})`).join('; ')}`);
    process.stdout.write(`${parts.join(', ')} in ${(r.durationMs / 1000).toFixed(2)} s\n`);
    return 0;
  } finally {
    await puller.close();
  }
}
