import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ARTIFACTS, currentText, REPO_ROOT } from './generate/artifacts.js';

/**
 * `npm run generate`: rewrites every generated file (scripts/generate/artifacts.ts lists them)
 * from its source of truth. test/unit/generated.test.ts fails when one is stale.
 */
for (const artifact of ARTIFACTS) {
  const before = await currentText(artifact.path);
  const after = await artifact.render(before);
  if (after === before) continue;
  await writeFile(resolve(REPO_ROOT, artifact.path), after);
  process.stdout.write(`wrote ${artifact.path}\n`);
}
