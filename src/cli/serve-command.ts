import { fileURLToPath } from 'node:url';
import type { Config, FlagValues } from '../shared/config.js';
import { startReadsServer, type ReadsServer } from '../reads/http/server.js';
import { daemonLogDestination, daemonLogger } from './log-output.js';
import { listenError, preflight } from './preflight.js';
import { PullerSupervisor, pullerArgs } from './puller-supervisor.js';
import { exitAfterDeadline, StopSignal } from './signals.js';

/** This package's CLI, which the puller process runs (`serve-puller`). */
const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));

/**
 * `serve` (transitional): the reads server in this process, the puller in a supervised
 * `serve-puller` child process (puller-supervisor.ts), so that a tick never runs on the event loop
 * that answers requests: in one process a 100k-session tick took 16-28 s under read load instead
 * of 4 s (bench/serve.ts measures both). They meet only through the published files, as two
 * services do.
 *
 * Start: every check that can fail (the settings' values, the port, the home) runs before the
 * puller starts or anything is written (preflight.ts); then the puller is started: a second puller
 * on the same home is refused before anything listens, and `serve` exits 1 with the puller's
 * reason; then the reads server listens. The first SIGINT/SIGTERM stops it at any of these steps.
 */
export async function serveBoth(config: Config, flags: FlagValues = {}): Promise<number> {
  const stop = new StopSignal();
  const readsLogger = daemonLogger('reads', config);
  const puller = new PullerSupervisor(CLI, pullerArgs(config, flags), daemonLogDestination(config), daemonLogger('puller', config));
  // From the first signal on, whatever serve is waiting for: the puller stops now (at start, in a
  // restart's backoff, mid-tick), and serve exits by the deadline even if something hangs.
  const stopped = stop.promise.then(async (signal) => {
    readsLogger.info({ signal }, 'stopping');
    exitAfterDeadline(() => {
      readsLogger.error('did not stop within the deadline; exiting');
      puller.kill('SIGKILL');
    });
    await puller.stop('SIGTERM');
  });
  const stoppedNow = async () => {
    await stopped;
    readsLogger.info('stopped');
    return 0;
  };
  if ((await unlessStopped(preflight(config, { puller: true, listener: true }), stop)) === STOPPED) return stoppedNow();
  const started = await unlessStopped(puller.start(), stop);
  if (started === STOPPED) return stoppedNow();
  if (!started.ok) {
    // It said why on stderr (passed through): another puller holds the home, or it could not open.
    return 1;
  }
  let server: ReadsServer;
  try {
    server = await startReadsServer({ config, logger: readsLogger });
  } catch (err) {
    await puller.stop();
    // Taken since preflight checked it (or refused for another reason it could not foresee).
    throw listenError(err, config);
  }
  await stop.promise;
  // The puller finishes (or interrupts) its tick and releases the home; serve exits after it.
  await Promise.all([stopped, server.close()]);
  readsLogger.info('stopped');
  return 0;
}

const STOPPED: unique symbol = Symbol('stopped');

/** `step`'s value, or STOPPED as soon as a signal arrives (how `step` ends after that is ignored). */
async function unlessStopped<T>(step: Promise<T>, stop: StopSignal): Promise<T | typeof STOPPED> {
  step.catch(() => undefined);
  if (stop.received !== null) return STOPPED;
  return Promise.race([step, stop.promise.then((): typeof STOPPED => STOPPED)]);
}
