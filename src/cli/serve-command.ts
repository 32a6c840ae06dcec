import { fileURLToPath } from 'node:url';
import type { Config, FlagValues } from '../shared/config.js';
import { startReadsServer, type ReadsServer } from '../reads/server.js';
import { daemonLogDestination, daemonLogger } from './log-output.js';
import { PullerSupervisor, pullerArgs } from './puller-supervisor.js';
import { listenFailure } from './reads-commands.js';
import { exitAfterDeadline, StopSignal } from './signals.js';

/** This package's CLI, which the puller process runs (`serve-puller`). */
const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));

/**
 * `serve` (transitional): the reads server in this process, the puller in a supervised
 * `serve-puller` child process (puller-supervisor.ts), so that a tick never runs on the event loop
 * that answers requests: in one process a 100k-session tick took 16-28 s under read load instead
 * of 4 s (bench/serve.ts measures both). They meet only through the published files, as two
 * services do. The puller is started first: a second puller on the same home is refused before
 * anything listens, and `serve` exits 1 with the puller's reason.
 */
export async function serveBoth(config: Config, flags: FlagValues = {}): Promise<number> {
  const stop = new StopSignal();
  const readsLogger = daemonLogger('reads', config);
  const puller = new PullerSupervisor(CLI, pullerArgs(config, flags), daemonLogDestination(config), daemonLogger('puller', config));
  const started = await puller.start();
  if (!started.ok) {
    // It said why on stderr (passed through): another puller holds the home, or it could not open.
    return 1;
  }
  let server: ReadsServer | null = null;
  if (stop.received === null) {
    try {
      server = await startReadsServer({ config, logger: readsLogger });
    } catch (err) {
      await puller.stop();
      const why = listenFailure(err, config);
      if (why === null) throw err;
      process.stderr.write(`session-lattice: ${why}\n`);
      return 1;
    }
  }
  const signal = await stop.promise;
  readsLogger.info({ signal }, 'stopping');
  exitAfterDeadline(() => {
    readsLogger.error('did not stop within the deadline; exiting');
    puller.kill('SIGKILL');
  });
  // The puller finishes (or interrupts) its tick and releases the home; serve exits after it.
  await Promise.all([puller.stop('SIGTERM'), server?.close()]);
  readsLogger.info('stopped');
  return 0;
}
