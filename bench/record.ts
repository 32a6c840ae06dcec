import { readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';

/** docs/benchmarks.md, from dist/bench or dist/test/soak alike. */
export const BENCHMARKS_DOC = resolve(import.meta.dirname, '../../docs/benchmarks.md');

export function machineLine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `_Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} x ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}._`;
}

function replaceSection(doc: string, name: string, body: string): string {
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const block = `${start}\n${body.trim()}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i !== -1 && j > i) return doc.slice(0, i) + block + doc.slice(j + end.length);
  return `${doc.trimEnd()}\n\n${block}\n`;
}

/**
 * Records a result section (markdown starting with `## heading`) in docs/benchmarks.md, replacing
 * the previous result of the same name and leaving the others; the machine line goes under the
 * heading. Returns the section as written.
 */
export async function recordSection(name: string, section: string): Promise<string> {
  const withMachine = section.trim().replace(/^(## .*)$/m, `$1\n\n${machineLine()}`);
  const doc = await readFile(BENCHMARKS_DOC, 'utf8').catch(() => '# Benchmarks\n\nRecorded by `npm run bench`.\n');
  await writeFile(BENCHMARKS_DOC, replaceSection(doc, name, withMachine));
  return withMachine;
}
