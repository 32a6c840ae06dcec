import { daemonLogger } from '../src/cli/log-output.js';
import { startReadsServer } from '../src/reads/http/server.js';
import { DEFAULTS, type LogLevel } from '../src/shared/config.js';

/**
 * The metrics benchmark's read server: `serve-reads` as the CLI starts it (the same
 * startReadsServer, the same buffered JSON log on stdout), with /metrics and the per-request
 * counting on or off, which only a benchmark may choose (BuildAppOptions.metrics is not a setting).
 * Usage: node metrics-server.js HOME PORT LOG_LEVEL on|off
 */
const [home, port, level, metrics] = process.argv.slice(2);
if (!home || !port || !level || (metrics !== 'on' && metrics !== 'off')) throw new Error('usage: metrics-server.js HOME PORT LOG_LEVEL on|off');
const config = { ...DEFAULTS, home, port: Number(port), logLevel: level as LogLevel, logFormat: 'json' as const };
const server = await startReadsServer({ config, logger: daemonLogger('reads', config), metrics: metrics === 'on' });
const stop = () => void server.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
