import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { daemonLogDestination, daemonLogger } from '../src/cli/log-output.js';
import { exitAfterDeadline, StopSignal } from '../src/cli/signals.js';
import { commandSettings, flagKey, loadConfig, type FlagValues } from '../src/shared/config.js';
import { startReadsServer } from '../src/reads/http/server.js';

/**
 * The candidate `serve` lost to the child process (bench/serve.ts): the reads server on the main
 * thread, the Puller in a worker_threads Worker (serve-worker-puller.ts). Kept here, not in src/,
 * so that the serve benchmark can measure both in the same run. Takes `serve`'s flags.
 * `node dist/bench/serve-worker.js --home H --port 0 --repo-recall-url U ...`
 */

function flagsFrom(argv: readonly string[]): FlagValues {
  const flags: FlagValues = {};
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]!;
    if (!name.startsWith('--') || argv[i + 1] === undefined) throw new Error(`expected --flag value, got ${name}`);
    flags[flagKey(name.slice(2))] = argv[i + 1];
  }
  return flags;
}

async function main(): Promise<number> {
  const stop = new StopSignal();
  const config = loadConfig(process.env, flagsFrom(process.argv.slice(2)), commandSettings('serve'));
  const readsLogger = daemonLogger('reads', config);
  const destination = daemonLogDestination(config);
  const worker = new Worker(new URL('./serve-worker-puller.js', import.meta.url), { workerData: { config } });
  const exited = once(worker, 'exit');
  const started = await new Promise<boolean>((resolve, reject) => {
    worker.on('message', (m: { log?: string; ready?: true; refused?: true }) => {
      if (m.log !== undefined) destination.write(m.log);
      else if (m.ready) resolve(true);
      else if (m.refused) resolve(false);
    });
    worker.once('error', reject);
    void exited.then(() => resolve(false));
  });
  if (!started) return 1;
  const server = await startReadsServer({ config, logger: readsLogger });
  const signal = await stop.promise;
  readsLogger.info({ signal }, 'stopping');
  exitAfterDeadline(() => readsLogger.error('did not stop within the deadline; exiting'));
  worker.postMessage('stop');
  await Promise.all([exited, server.close()]);
  readsLogger.info('stopped');
  return 0;
}

process.exitCode = await main();
