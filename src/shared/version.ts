import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The package's root directory and version, found by walking up from this module to the
 * package.json named session-lattice: it sits two levels up from src/shared in the source tree and
 * three from dist/src/shared once built (and in an installed package).
 */
function findPackage(): { root: string | null; version: string } {
  let dir = import.meta.dirname;
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'session-lattice' && pkg.version) return { root: dir, version: pkg.version };
    } catch {
      // not here: keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) return { root: null, version: '0.0.0-unknown' };
    dir = parent;
  }
}

const found = findPackage();

export const VERSION: string = found.version;

/** A file shipped with the package (`data/...`), by its path from the package root. */
export function packageFile(path: string): string {
  if (found.root === null) throw new Error(`cannot find the session-lattice package (looking for ${path}) above ${import.meta.dirname}`);
  return join(found.root, path);
}
