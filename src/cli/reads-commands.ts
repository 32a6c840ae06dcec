import type { Config } from '../shared/config.js';
import { startReadsServer, type ReadsServer } from '../reads/server.js';
import { daemonLogger } from './log-output.js';
import { exitAfterDeadline, StopSignal } from './signals.js';

/** Why the port cannot be used, in words; null for any other error (rethrown). */
export function listenFailure(err: unknown, config: Pick<Config, 'host' | 'port'>): string | null {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') {
    return `cannot listen on ${config.host}:${config.port}: the port is in use (another session-lattice serve or serve-reads?); stop it, or pick another port with --port / SESSION_LATTICE_PORT`;
  }
  if (e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') return `cannot listen on ${config.host}:${config.port}: ${e.message}`;
  return null;
}

/** `serve-reads`: serves the published generations over HTTP until SIGINT/SIGTERM. */
export async function serveReads(config: Config): Promise<number> {
  const stop = new StopSignal();
  const logger = daemonLogger('reads', config);
  let server: ReadsServer;
  try {
    server = await startReadsServer({ config, logger });
  } catch (err) {
    const why = listenFailure(err, config);
    if (why === null) throw err;
    process.stderr.write(`session-lattice: ${why}\n`);
    return 1;
  }
  const signal = await stop.promise;
  logger.info({ signal }, 'stopping');
  exitAfterDeadline(() => logger.error('did not stop within the deadline; exiting'));
  await server.close();
  logger.info('stopped');
  return 0;
}
