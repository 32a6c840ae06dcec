/**
 * What a setting is: everything about it in one declaration (table.ts holds them all). The
 * `Config` type, the defaults, each command's flags, the README table and the services'
 * environment blocks (Homebrew formulae, systemd units) are derived from these declarations;
 * scripts/generate writes the generated copies and test/unit/generated.test.ts fails when one is
 * stale.
 */

/** The two daemons: each is a command (`serve-puller`, `serve-reads`) and a service (a formula, a unit). */
export const DAEMONS = ['puller', 'reads'] as const;
export type Daemon = (typeof DAEMONS)[number];

/** The commands that are not a daemon, each taking the settings that name it. */
type ClientCommand = 'pull' | 'status' | 'views' | 'watch';

/** Every command that takes settings: the daemons', `serve` (runs both) and the client commands. */
export type SettingsCommand = 'serve-puller' | 'serve-reads' | 'serve' | ClientCommand;

export interface Setting<T> {
  /** The environment variable: `SESSION_LATTICE_` and the setting in upper snake case. */
  readonly env: string;
  /** The long flag, without its dashes; it wins over the variable. */
  readonly flag: string;
  /** What the value means and accepts, short: in --help, and in the message refusing a bad value. */
  readonly accepts: string;
  /** The README's description (Markdown, one line): what it does, and what follows from changing it. */
  readonly doc: string;
  /**
   * The raw text of the variable or flag to the value; throws an Error saying what it accepts
   * (the caller puts the variable's or flag's name in front). setting-parsers.ts has them.
   */
  readonly parse: (raw: string) => T;
  /** The value when neither the flag nor the variable is set. */
  readonly default: T;
  /**
   * The default as written: a literal (`2GB`: what the services set the variable to, and it
   * parses to `default`), or a description in parentheses (`(none)`) for a default the variable
   * gets by being empty (the empty text parses to `default`).
   */
  readonly defaultText: string;
  /** The daemons that read it: their services set it, and `serve-puller` / `serve-reads` / `serve` take the flag. */
  readonly daemons: readonly Daemon[];
  /** The other commands that take the flag. */
  readonly commands: readonly ClientCommand[];
}

/** Any setting, whatever its value's type (for code that only reads its names and texts). */
export type AnySetting = Setting<unknown>;

/** A declaration as written: `commands` may be left out (none). */
export interface SettingInput<T> extends Omit<Setting<T>, 'default' | 'commands'> {
  readonly default: NoInfer<T>;
  readonly commands?: readonly ClientCommand[];
}

/** The value type of a setting. */
export type SettingValue<S> = S extends Setting<infer T> ? T : never;

/**
 * Declares one setting. `T` is inferred from `parse` alone, so a default of the wrong type (or a
 * narrower one than the parser gives) is a type error rather than a narrower `Config` field.
 */
export function defineSetting<T>(setting: SettingInput<T>): Setting<T> {
  return Object.freeze({ ...setting, commands: Object.freeze([...(setting.commands ?? [])]), daemons: Object.freeze([...setting.daemons]) });
}

/** Whether `defaultText` describes the default rather than writing it (the variable is then left empty). */
export function isDescribedDefault(setting: Pick<AnySetting, 'defaultText'>): boolean {
  return setting.defaultText.startsWith('(');
}

/** What a service sets the variable to, to get the default: the literal, or empty for a described one. */
export function serviceValue(setting: Pick<AnySetting, 'defaultText'>): string {
  return isDescribedDefault(setting) ? '' : setting.defaultText;
}

/** Whether `command` takes the setting's flag. */
export function takes(setting: Pick<AnySetting, 'daemons' | 'commands'>, command: SettingsCommand): boolean {
  switch (command) {
    case 'serve-puller':
      return setting.daemons.includes('puller');
    case 'serve-reads':
      return setting.daemons.includes('reads');
    case 'serve':
      return setting.daemons.length > 0;
    default:
      return setting.commands.includes(command);
  }
}
