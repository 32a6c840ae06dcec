import { Option, type Command } from 'commander';
import { commandSettings, SETTINGS, type SettingKey } from '../shared/config.js';

/** Adds the flags of the given settings to a command; values are validated by loadConfig. */
export function addConfigOptions(command: Command, keys: readonly SettingKey[]): Command {
  for (const key of keys) {
    const s = SETTINGS[key];
    command.addOption(new Option(`--${s.flag} <value>`, `${s.accepts} [${s.env}, default ${s.defaultText}]`));
  }
  return command;
}

/** What each daemon reads (settings/table.ts says which settings each command takes). */
export const PULLER_SETTINGS = commandSettings('serve-puller');
export const READS_SETTINGS = commandSettings('serve-reads');
