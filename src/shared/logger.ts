import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger } from 'pino';

/**
 * Both daemons log pino JSON lines, to stdout unless told otherwise (Homebrew and systemd capture
 * them); the CLI may hand in a destination that renders them for a person.
 */
export function createLogger(name: string, level: LogLevel, destination?: DestinationStream): Logger {
  return pino({ name, level, base: { pid: process.pid } }, destination ?? process.stdout);
}
