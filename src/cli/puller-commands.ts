import { CATALOG } from '../shared/catalog/index.js';
import type { Config } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { Puller } from '../puller/puller.js';
import { PullerLockedError } from '../shared/errors.js';

/** Seconds a signalled daemon gets to stop cleanly before it exits anyway. */
const STOP_DEADLINE_MS = 9_000;

async function openPuller(config: Config, opts: { logToStderr: boolean; progress: boolean }): Promise<Puller | null> {
  const logger = createLogger('session-lattice-puller', config.logLevel, opts.logToStderr ? process.stderr : process.stdout);
  try {
    return await Puller.open({
      config,
      catalog: CATALOG,
      logger,
      onProgress: opts.progress ? progressPrinter() : undefined,
    });
  } catch (err) {
    if (err instanceof PullerLockedError) {
      process.stderr.write(`session-lattice: ${err.message}\n`);
      return null;
    }
    throw err;
  }
}

function progressPrinter(): (bytes: number, total: number | null) => void {
  let last = 0;
  return (bytes, total) => {
    const now = Date.now();
    if (now - last < 200 && bytes !== total) return;
    last = now;
    const mb = (n: number) => (n / 1048576).toFixed(1);
    process.stderr.write(`\rreceived ${mb(bytes)}${total ? ` / ${mb(total)}` : ''} MiB`);
  };
}

/** `serve-puller`: ticks until SIGINT/SIGTERM. */
export async function servePuller(config: Config): Promise<number> {
  const puller = await openPuller(config, { logToStderr: false, progress: false });
  if (!puller) return 1;
  const stop = (signal: NodeJS.Signals) => {
    process.stdout.write(`${JSON.stringify({ level: 30, msg: 'stopping', signal, pid: process.pid })}\n`);
    puller.stop();
    setTimeout(() => process.exit(1), STOP_DEADLINE_MS).unref();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await puller.run();
  await puller.close();
  return 0;
}

/** `pull`: one tick, then exit 0 (published or unchanged) or 1 with the reason. */
export async function pullOnce(config: Config): Promise<number> {
  const tty = process.stderr.isTTY === true;
  const puller = await openPuller(config, { logToStderr: true, progress: tty });
  if (!puller) return 1;
  const stop = () => puller.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
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
