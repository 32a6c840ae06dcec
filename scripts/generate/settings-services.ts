import { commandSettings, SETTINGS, type SettingKey } from '../../src/shared/config.js';
import { isDescribedDefault, serviceValue, type Daemon } from '../../src/shared/settings/define.js';

/**
 * The services' environment blocks, from src/shared/settings/table.ts: each daemon's service sets
 * every variable its command reads, at the default (written as --help writes it; empty for a
 * described default), so what the service runs with is visible and editable in one place.
 */

const SOURCE = 'src/shared/settings/table.ts; npm run generate';

function daemonSettings(daemon: Daemon): readonly SettingKey[] {
  return commandSettings(daemon === 'puller' ? 'serve-puller' : 'serve-reads');
}

/** A Ruby double-quoted string literal (no interpolation: `#` is escaped too). */
function rubyString(text: string): string {
  return `"${text.replace(/[\\"#]/g, (c) => `\\${c}`)}"`;
}

/** The `environment_variables` call of a service formula's `service do` block (PATH first: for `#!/usr/bin/env node`). */
export function renderFormulaEnvironment(daemon: Daemon): string {
  const pairs: [string, string][] = [
    ['PATH', 'std_service_path_env'],
    ...daemonSettings(daemon).map((key): [string, string] => [SETTINGS[key].env, rubyString(serviceValue(SETTINGS[key]))]),
  ];
  const width = Math.max(...pairs.map(([name]) => name.length)) + 2;
  const lead = '    environment_variables ';
  const lines = pairs.map(([name, value], i) => {
    const prefix = i === 0 ? lead : ' '.repeat(lead.length);
    return `${prefix}${`${name}:`.padEnd(width)}${value}${i < pairs.length - 1 ? ',' : ''}`;
  });
  return [`    # Every setting \`session-lattice serve-${daemon}\` reads, at its default (${SOURCE}).`, ...lines].join('\n');
}

/** Text inside a Ruby heredoc, where `#{` would interpolate and `\` escape. */
function rubyHeredocText(text: string): string {
  return text.replace(/[\\#]/g, (c) => `\\${c}`);
}

/**
 * The `settings_readme` method of a service formula: the settings part of the README its install
 * writes (each variable the service sets, and to what).
 */
export function renderFormulaReadme(daemon: Daemon): string {
  const keys = daemonSettings(daemon);
  const width = Math.max(...keys.map((key) => SETTINGS[key].env.length)) + 2;
  const lines = keys.map((key) => {
    const s = SETTINGS[key];
    const value = isDescribedDefault(s) ? `(empty: ${s.defaultText.slice(1, -1)})` : s.defaultText;
    return `        ${s.env.padEnd(width)}${rubyHeredocText(value)}`;
  });
  return [
    `  # The settings part of the README install writes (${SOURCE}).`,
    '  def settings_readme',
    '    <<~EOS',
    '      Settings (environment variables; the service sets each to its default):',
    ...lines,
    '    EOS',
    '  end',
  ].join('\n');
}

/** What systemd sets a variable to: `~/` is the user's home, `%h/` (a literal `%` would be a specifier). */
function systemdValue(text: string): string {
  const value = text.replace(/^~\//, '%h/');
  if (/[\s"'\\]|%(?!h\/)/.test(value)) throw new Error(`${JSON.stringify(text)} needs quoting in a systemd Environment= line`);
  return value;
}

/** The `Environment=` lines of a daemon's systemd user unit; a described default gets a comment saying what empty means. */
export function renderUnitEnvironment(daemon: Daemon): string {
  const lines = [`# Every setting \`session-lattice serve-${daemon}\` reads, at its default (${SOURCE}).`];
  for (const key of daemonSettings(daemon)) {
    const s = SETTINGS[key];
    if (isDescribedDefault(s)) lines.push(`# ${s.env} empty: ${s.defaultText.slice(1, -1)}`);
    lines.push(`Environment=${s.env}=${systemdValue(serviceValue(s))}`);
  }
  return lines.join('\n');
}
