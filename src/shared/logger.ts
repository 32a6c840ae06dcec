import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger } from 'pino';

/** Both daemons log pino JSON lines to stdout (Homebrew and systemd capture them). */
export function createLogger(name: string, level: LogLevel, destination?: NodeJS.WritableStream): Logger {
  return pino({ name, level, base: { pid: process.pid } }, destination ?? process.stdout);
}
