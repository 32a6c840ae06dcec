import { ConfigError, errorMessage } from './errors.js';
import { SETTING_KEYS, SETTINGS, DEFAULTS, type Config, type SettingKey } from './settings/table.js';

export { machineTimeZone, type LogFormat, type LogLevel, type TranscriptsSetting } from './setting-parsers.js';
export { commandSettings, DEFAULTS, SETTING_KEYS, SETTINGS, type Config, type SettingKey } from './settings/table.js';

/**
 * Configuration: every setting (settings/table.ts) is an environment variable, overridable by a
 * CLI flag. A bad value is a start-up error that names where it came from (the variable or the
 * flag) and what it accepts.
 */

/** Flag values as commander hands them over: raw strings keyed by camel-cased flag name. */
export type FlagValues = Partial<Record<string, string | undefined>>;

/** `VARIABLE (--flag)` of a setting, for the advice in a message. */
export function settingName(key: SettingKey): string {
  const s = SETTINGS[key];
  return `${s.env} (--${s.flag})`;
}

/** The key commander files a flag's value under: `--max-payload-mb` -> `maxPayloadMb`. */
export function flagKey(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Resolves the configuration: a flag wins over its environment variable, which wins over the
 * default. Only `keys` are read (a daemon is not refused for a variable it does not use); the rest
 * keep their defaults. Throws ConfigError naming the first bad source.
 */
export function loadConfig(env: NodeJS.ProcessEnv, flags: FlagValues = {}, keys: readonly SettingKey[] = SETTING_KEYS): Config {
  const config: Config = { ...DEFAULTS, allowedHosts: [...DEFAULTS.allowedHosts] };
  for (const key of keys) resolve(config, key, env, flags);
  return config;
}

function resolve<K extends SettingKey>(config: Config, key: K, env: NodeJS.ProcessEnv, flags: FlagValues): void {
  const setting = SETTINGS[key];
  const fromFlag = flags[flagKey(setting.flag)];
  const fromEnv = env[setting.env];
  const [raw, source] = fromFlag !== undefined ? [fromFlag, `--${setting.flag}`] : fromEnv !== undefined ? [fromEnv, setting.env] : [];
  if (raw === undefined || source === undefined) return;
  try {
    config[key] = setting.parse(raw);
  } catch (err) {
    throw new ConfigError(`${source}=${JSON.stringify(raw)} is not valid: ${setting.accepts}; expected ${errorMessage(err)}`);
  }
}
