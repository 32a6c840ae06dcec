import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { loadPriceTable } from '../puller/prices.js';
import { checkTimezone } from '../puller/view-inputs.js';
import { settingName, type Config } from '../shared/config.js';
import { messageOf } from '../shared/error-registry.js';
import { errorMessage, LatticeError } from '../shared/errors.js';
import { homePaths } from '../shared/paths.js';

/**
 * The checks a daemon runs before it starts anything (a child process, a listener) or writes
 * anything under the home, so that a start that cannot succeed fails at once, in one sentence
 * that names the setting and the cause (with the errno), instead of part-way through.
 *
 * A setting whose value is wrong (the pricing file, the zone) throws ConfigError (exit 2, like
 * every bad setting); a home or a port the machine will not give us throws StartError (exit 1).
 * The puller still checks the same things when it opens: these only move the failure earlier.
 */

/** The environment refuses what the settings ask for: the home cannot be written, the port is taken. */
class StartError extends LatticeError {
  constructor(code: 'home' | 'port', message: string) {
    super(code, message);
  }
}

/** What a command starts: `puller` (it writes the home), `listener` (it binds the port). */
export interface PreflightFor {
  puller?: boolean;
  listener?: boolean;
}

/**
 * Runs the checks in the order that writes least: the settings' values first, then the port
 * (bound and released: a taken port leaves the home untouched), then the home (created if
 * missing, which is the first write).
 */
export async function preflight(config: Config, what: PreflightFor): Promise<void> {
  if (what.puller) {
    await loadPriceTable(config.pricingFile);
    await checkZone(config.timezone);
  }
  if (what.listener) await checkPort(config);
  if (what.puller) await prepareHome(config.home);
}

/** The zone, asked of an in-memory DuckDB (nothing is written): the check the puller makes at open. */
async function checkZone(timezone: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await instance.connect();
  try {
    await checkTimezone((sql) => conn.run(sql), timezone);
  } finally {
    conn.disconnectSync();
    instance.closeSync();
  }
}

/**
 * Binds host:port and lets it go: a port in use (or an address this machine does not have) is
 * refused before the puller starts. Only a check, not a reservation (the reads server binds it
 * again later); a port taken in between still fails the listen, which stops the puller.
 */
async function checkPort(config: Pick<Config, 'host' | 'port'>): Promise<void> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: config.host, port: config.port, exclusive: true }, () => resolve());
    });
  } catch (err) {
    throw new StartError('port', listenFailure(err, config) ?? `${listenWhere(config)}: ${errorMessage(err)}`);
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

const listenWhere = (config: Pick<Config, 'host' | 'port'>) =>
  `cannot listen on ${config.host}:${config.port} (${settingName('host')}, ${settingName('port')})`;

/** Errors of a listen that the settings can cause (the port, the address), as opposed to a bug. */
const LISTEN_ERRORS = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN']);

/** Why host:port cannot be listened on, in one sentence naming both settings; null for any other error. */
function listenFailure(err: unknown, config: Pick<Config, 'host' | 'port'>): string | null {
  const e = err as NodeJS.ErrnoException;
  if (e.code === undefined || !LISTEN_ERRORS.has(e.code)) return null;
  if (e.code === 'EADDRINUSE') {
    return `${listenWhere(config)}: the port is in use (EADDRINUSE); stop what holds it (another session-lattice serve or serve-reads?) or pick another port`;
  }
  return `${listenWhere(config)}: ${errorMessage(err)}`;
}

/**
 * What a server that could not listen ends the command with: the port's error, naming the address
 * and the way out, for a reason preflight knows (in use, an address this machine does not have);
 * else the error itself. src/cli.ts prints it (`error[port]: ...`) and exits with its status.
 */
export function listenError(err: unknown, config: Pick<Config, 'host' | 'port'>): unknown {
  const why = listenFailure(err, config);
  return why === null ? err : new StartError('port', why);
}

/**
 * Makes the home if it is missing and checks it (and the puller's directory, if there) can be
 * written. The levels are made one at a time: a recursive mkdir reports ENOENT for the home when
 * a parent cannot be made, hiding the real cause (EROFS, EACCES, ENOTDIR).
 */
async function prepareHome(home: string): Promise<void> {
  const fail = (err: unknown, what = 'cannot be used') =>
    new StartError('home', messageOf('home', { setting: settingName('home'), home, what, cause: errorMessage(err) }));
  const missing: string[] = [];
  for (let dir = home; ; dir = dirname(dir)) {
    try {
      if (!(await stat(dir)).isDirectory()) {
        const notDir = Object.assign(new Error(`ENOTDIR: not a directory, '${dir}'`), { code: 'ENOTDIR' });
        throw fail(notDir);
      }
      break;
    } catch (err) {
      if (err instanceof StartError) throw err;
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(dir) === dir) throw fail(err);
      missing.unshift(dir);
    }
  }
  for (const dir of missing) {
    try {
      await mkdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fail(err, 'cannot be created');
    }
  }
  for (const dir of [home, homePaths(home).pullerDir]) {
    try {
      await access(dir, constants.W_OK);
    } catch (err) {
      if (dir !== home && (err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw fail(err, 'is not writable');
    }
  }
}
