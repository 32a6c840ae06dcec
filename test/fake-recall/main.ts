/**
 * CLI for the fake repo-recall:
 *
 *   node dist/test/fake-recall/main.js --port 7777 --sessions 2000 --seed 1 [--change-every SECONDS]
 *
 * Prints one JSON line, {"url": "http://127.0.0.1:PORT"}, on stdout once it serves; logs to stderr;
 * stops on SIGINT/SIGTERM. A bad flag or value exits 2 with a message that names it.
 */
import { parseArgs } from 'node:util';
import { startFakeRecall, type FakeRecall } from './server.js';

const USAGE = `usage: fake-recall [--port N] [--host 127.0.0.1|::1|localhost] [--sessions N] [--seed N]
                   [--change-every SECONDS] [--clean] [--data-dir DIR]

  --port N              port to listen on (default 7777; 0 picks a free one)
  --host H              loopback address to bind (default 127.0.0.1)
  --sessions N          sessions in the initial payload (default 2000)
  --seed N              generator seed (default 1)
  --change-every S      every S seconds, grow the payload by ~1% and bump scan_version
  --clean               generate clean payloads (no nulls, malformed strings or invalid rows)
  --data-dir DIR        keep payload files in DIR (default: a temp dir removed on exit)

control (from another process): GET /_control/state, POST /_control/data {"sessions","seed","messy","scanVersion"},
POST /_control/fault {"mode","times",...}, POST /_control/payload <raw JSON text>`;

class UsageError extends Error {}

function intFlag(name: string, raw: string, min: number, max: number): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(v) || v < min || v > max) {
    throw new UsageError(`invalid value for --${name}: ${JSON.stringify(raw)} (expected an integer from ${min} to ${max})`);
  }
  return v;
}

interface Cli {
  port: number;
  host: string;
  sessions: number;
  seed: number;
  changeEvery: number | null;
  messy: boolean;
  dataDir: string | undefined;
}

function parseCli(argv: string[]): Cli | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string', default: '7777' },
        host: { type: 'string', default: '127.0.0.1' },
        sessions: { type: 'string', default: '2000' },
        seed: { type: 'string', default: '1' },
        'change-every': { type: 'string' },
        clean: { type: 'boolean', default: false },
        'data-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  if (v.help === true) return 'help';
  let changeEvery: number | null = null;
  const ce = v['change-every'];
  if (ce !== undefined) {
    const n = Number(ce);
    if (ce.trim() === '' || !Number.isFinite(n) || n <= 0) {
      throw new UsageError(`invalid value for --change-every: ${JSON.stringify(ce)} (expected a positive number of seconds)`);
    }
    changeEvery = n;
  }
  const host = v.host ?? '127.0.0.1';
  if (!['127.0.0.1', '::1', 'localhost'].includes(host)) {
    throw new UsageError(`invalid value for --host: ${JSON.stringify(host)} (the fake binds loopback only: 127.0.0.1, ::1 or localhost)`);
  }
  return {
    port: intFlag('port', v.port ?? '7777', 0, 65535),
    host,
    sessions: intFlag('sessions', v.sessions ?? '2000', 0, 10_000_000),
    seed: intFlag('seed', v.seed ?? '1', 0, 0xffffffff),
    changeEvery,
    messy: v.clean !== true,
    dataDir: v['data-dir'],
  };
}

async function main(): Promise<void> {
  let cli: Cli | 'help';
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`fake-recall: ${err.message}\n${USAGE}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (cli === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const { port, host, seed, messy, changeEvery } = cli;
  let sessions = cli.sessions;
  const fake: FakeRecall = await startFakeRecall({
    port,
    host,
    sessions,
    seed,
    messy,
    ...(cli.dataDir !== undefined && { dataDir: cli.dataDir }),
  });
  process.stdout.write(`{"url": ${JSON.stringify(fake.url)}}\n`);
  process.stderr.write(
    `fake-recall: serving ${sessions} sessions (seed ${seed}, ${messy ? 'messy' : 'clean'}) at ${fake.url}, scan_version ${fake.scanVersion}\n`,
  );

  let timer: NodeJS.Timeout | null = null;
  if (changeEvery !== null) {
    let busy = false;
    timer = setInterval(() => {
      if (busy) return;
      busy = true;
      const next = sessions + Math.max(1, Math.round(sessions * 0.01));
      fake
        .setData({ sessions: next })
        .then(() => {
          sessions = next;
          process.stderr.write(`fake-recall: now ${sessions} sessions, scan_version ${fake.scanVersion}\n`);
        })
        .catch((err: unknown) => process.stderr.write(`fake-recall: change failed: ${String(err)}\n`))
        .finally(() => {
          busy = false;
        });
    }, changeEvery * 1000);
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    if (timer) clearInterval(timer);
    process.stderr.write(`fake-recall: ${signal}, shutting down\n`);
    fake.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`fake-recall: close failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`fake-recall: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
