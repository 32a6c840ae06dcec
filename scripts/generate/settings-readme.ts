import { SETTING_KEYS, SETTINGS } from '../../src/shared/config.js';
import { isDescribedDefault } from '../../src/shared/settings/define.js';

/** The README's settings table (the `settings` region of README.md), from src/shared/settings/table.ts. */
export function renderSettingsTable(): string {
  const rows = SETTING_KEYS.map((key) => {
    const s = SETTINGS[key];
    // A literal default in a code span; a described one, "(none)" or "(the machine's zone)", as words.
    const shown = isDescribedDefault(s) ? s.defaultText : `\`${s.defaultText}\``;
    return `| \`${s.env}\` | \`--${s.flag}\` | ${shown} | ${s.doc} |`;
  });
  return ['| variable | flag | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
