import { describe, expect, it } from 'vitest';
import { ARTIFACTS, currentText } from '../../scripts/generate/artifacts.js';

describe('generated files', () => {
  it.each(ARTIFACTS.map((a) => [a.path, a] as const))(
    '%s is up to date with its source of truth (run `npm run generate` if this fails)',
    async (path, artifact) => {
      const onDisk = await currentText(path);
      expect(onDisk, `${path} is missing: run \`npm run generate\``).not.toBeNull();
      expect(onDisk, `${path} is stale: run \`npm run generate\``).toBe(await artifact.render(onDisk));
    },
  );
});
