import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The package version from package.json, found by walking up from this module: it sits two levels
 * up from src/shared in the source tree and three from dist/src/shared once built.
 */
function readVersion(): string {
  let dir = import.meta.dirname;
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'session-lattice' && pkg.version) return pkg.version;
    } catch {
      // not here: keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) return '0.0.0-unknown';
    dir = parent;
  }
}

export const VERSION: string = readVersion();
