import { cpus, totalmem } from 'node:os';
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';

/**
 * `npm run bench`: runs the benchmarks one after another and records each one's section in
 * docs/benchmarks.md (replacing that section only). Every benchmark measures its own baseline in
 * the same run and reports ratios against it. `npm run bench -- <name> ...` runs some of them.
 */
export interface BenchModule {
  name: string;
  /** Returns a markdown section: a `## heading`, the machine line is added by the harness. */
  run(): Promise<string>;
}

const MODULES: Record<string, () => Promise<{ default: BenchModule }>> = {
  puller: () => import('./puller.js'),
  views: () => import('./views.js'),
  reads: () => import('./reads.js'),
  serve: () => import('./serve.js'),
};

function machineLine(): string {
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

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const unknown = only.filter((n) => !(n in MODULES));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(MODULES).join(', ')}`);
  const docPath = resolve(import.meta.dirname, '../../docs/benchmarks.md');
  for (const [name, load] of Object.entries(MODULES)) {
    if (only.length > 0 && !only.includes(name)) continue;
    process.stderr.write(`bench: ${name}...\n`);
    const section = (await (await load()).default.run()).trim();
    const withMachine = section.replace(/^(## .*)$/m, `$1\n\n${machineLine()}`);
    process.stdout.write(`${withMachine}\n\n`);
    const doc = await readFile(docPath, 'utf8').catch(() => '# Benchmarks\n\nRecorded by `npm run bench`.\n');
    await writeFile(docPath, replaceSection(doc, name, withMachine));
  }
}

await main();
