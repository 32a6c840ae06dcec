import { Option, type Command } from 'commander';
import { SETTINGS, type Config } from '../shared/config.js';

/** Adds the flags of the given settings to a command; values are validated by loadConfig. */
export function addConfigOptions(command: Command, keys: readonly (keyof Config)[]): Command {
  for (const key of keys) {
    const s = SETTINGS[key];
    command.addOption(new Option(`--${s.flag} <value>`, `${s.accepts} [${s.env}, default ${s.defaultText}]`));
  }
  return command;
}

export const PULLER_SETTINGS: readonly (keyof Config)[] = [
  'home',
  'repoRecallUrl',
  'refreshIntervalSeconds',
  'maxPayloadBytes',
  'upstreamTimeoutSeconds',
  'upstreamRetries',
  'upstreamDeadlineSeconds',
  'maxShrinkPercent',
  'shrinkConfirmTicks',
  'eventsLogBytes',
  'memoryLimitBytes',
  'threads',
  'timezone',
  'pricingFile',
  'transcripts',
  'logLevel',
  'logFormat',
];

export const READS_SETTINGS: readonly (keyof Config)[] = [
  'home',
  'host',
  'port',
  'allowedHosts',
  'staleAfterIntervals',
  'refreshIntervalSeconds',
  'requestTimeoutSeconds',
  'maxConnections',
  'queryMemoryBytes',
  'memoryLimitBytes',
  'threads',
  'maxEventSubscribers',
  'eventsHeartbeatSeconds',
  'logLevel',
  'logFormat',
];
