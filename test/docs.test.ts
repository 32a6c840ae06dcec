/**
 * The docs do not lie about links. For README.md, AGENTS.md, docs/*.md and packaging/**\/README.md:
 *
 * - every relative link and image resolves to a file or directory of the repository (tracked, or
 *   new and not ignored: a link into dist/ or node_modules/ is broken on GitHub), without `..`
 *   leaving the repository;
 * - every anchor (`#section`, `file.md#section`) names a heading of the Markdown file it points
 *   at, by GitHub's slug rules;
 * - every file a shipped Markdown file links to (README.md first) is in the npm package, as
 *   `npm pack --dry-run --json` lists it, so the links also work in an installed package.
 *
 * Absolute http(s) and mailto links are allowed and not fetched. Links inside code (fenced blocks
 * and inline code spans) are not links.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { delimiter, dirname, join, posix, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

// ---- the repository's files ---------------------------------------------------------------------

/** Files of the repository, relative, with `/`: tracked and untracked-but-not-ignored (git), else a walk. */
function repositoryFiles(): Set<string> {
  const git = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' });
  if (git.status === 0) {
    return new Set(git.stdout.split('\0').filter((f) => f !== '' && existsSync(join(ROOT, f))));
  }
  console.warn(`docs.test.ts: git ls-files failed (${git.error?.message ?? git.stderr}); walking the tree instead`);
  const files = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!['.git', 'node_modules', 'dist', 'coverage', '.bench-tmp'].includes(entry.name)) walk(rel);
      } else files.add(rel);
    }
  };
  walk('');
  return files;
}

/** True when `path` (relative, `/`) is one of `files` or a directory holding one of them. */
function holds(files: Set<string>, path: string): boolean {
  const p = path.replace(/\/+$/, '');
  if (p === '' || p === '.') return true;
  if (files.has(p)) return true;
  for (const f of files) if (f.startsWith(`${p}/`)) return true;
  return false;
}

// ---- Markdown, just enough of it ----------------------------------------------------------------

interface Link {
  line: number;
  target: string;
}

/** Lines outside fenced code blocks, with their 1-based numbers. */
function proseLines(text: string): Array<{ n: number; text: string }> {
  const out: Array<{ n: number; text: string }> = [];
  let fence: { char: string; len: number } | null = null;
  text.split('\n').forEach((line, i) => {
    const m = /^\s*(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (m && m[1]![0] === fence.char && m[1]!.length >= fence.len && line.trim() === m[1]) fence = null;
      return;
    }
    if (m) {
      fence = { char: m[1]![0]!, len: m[1]!.length };
      return;
    }
    out.push({ n: i + 1, text: line });
  });
  return out;
}

function withoutCodeSpans(line: string): string {
  return line.replace(/(`+)[\s\S]*?\1/g, '');
}

/** Links, images, reference definitions and HTML href/src, outside code. */
function linksOf(text: string): Link[] {
  const links: Link[] = [];
  for (const { n, text: raw } of proseLines(text)) {
    const line = withoutCodeSpans(raw);
    for (const m of line.matchAll(/!?\[[^\]]*\]\(\s*(<[^>]*>|[^)\s]*)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g)) {
      links.push({ line: n, target: m[1]!.replace(/^<|>$/g, '') });
    }
    const def = /^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(line);
    if (def) links.push({ line: n, target: def[1]!.replace(/^<|>$/g, '') });
    for (const m of line.matchAll(/\b(?:href|src)\s*=\s*"([^"]*)"/g)) links.push({ line: n, target: m[1]! });
  }
  return links;
}

/** GitHub's anchor for a heading's text: lower case, punctuation dropped, spaces to hyphens. */
function githubSlug(heading: string): string {
  const textOnly = heading
    .replace(/(`+)([\s\S]*?)\1/g, '$2')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '');
  return textOnly
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors a Markdown file defines: its headings' slugs (duplicates numbered) and HTML ids. */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const add = (heading: string) => {
    const base = githubSlug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  };
  const lines = proseLines(text);
  lines.forEach(({ n, text: line }, i) => {
    const atx = /^ {0,3}#{1,6}(?:\s+(.*?))?\s*$/.exec(line);
    if (atx) {
      add((atx[1] ?? '').replace(/\s+#+$/, ''));
      return;
    }
    const prev = lines[i - 1];
    const previousIsText = prev !== undefined && prev.n === n - 1 && prev.text.trim() !== '' && !/^\s*([#>|*+-]|\d+\.)/.test(prev.text);
    if (previousIsText && /^ {0,3}(=+|-+)\s*$/.test(line)) {
      add(prev.text.trim()); // a setext heading: the text line above the underline
    }
    for (const m of line.matchAll(/\b(?:id|name)\s*=\s*"([^"]+)"/g)) anchors.add(m[1]!);
  });
  return anchors;
}

interface Resolved {
  /** The target, relative to the repository root with `/`; null for an absolute URL or a bare anchor. */
  path: string | null;
  anchor: string | null;
  problem?: string;
}

/** Resolves a link target of the Markdown file `from` (relative to the root, with `/`). */
function resolveLink(from: string, target: string): Resolved {
  if (/^(https?:|mailto:)/i.test(target)) return { path: null, anchor: null };
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return { path: null, anchor: null, problem: `"${target}": only http(s) and mailto URLs, or relative links` };
  if (target === '') return { path: null, anchor: null, problem: 'an empty link target' };
  const hash = target.indexOf('#');
  const rawPath = (hash === -1 ? target : target.slice(0, hash)).replace(/\?.*$/, '');
  const anchor = hash === -1 ? null : decodeURIComponent(target.slice(hash + 1));
  if (rawPath === '') return { path: from, anchor };
  if (rawPath.startsWith('/')) return { path: null, anchor, problem: `"${target}": an absolute path; link relative to this file` };
  const joined = posix.normalize(posix.join(posix.dirname(from), decodeURIComponent(rawPath)));
  if (joined === '..' || joined.startsWith('../')) return { path: null, anchor, problem: `"${target}" leaves the repository (${joined})` };
  return { path: joined.replace(/\/$/, '') || '.', anchor };
}

/** Every problem with the links of one Markdown file; `read` returns another file's text (for anchors). */
function checkLinks(from: string, text: string, files: Set<string>, read: (path: string) => string): string[] {
  const problems: string[] = [];
  for (const link of linksOf(text)) {
    const where = `${from}:${link.line}`;
    const r = resolveLink(from, link.target);
    if (r.problem) {
      problems.push(`${where}: ${r.problem}`);
      continue;
    }
    if (r.path === null) continue;
    const self = r.path === from;
    if (!self && !holds(files, r.path)) {
      problems.push(`${where}: "${link.target}" -> ${r.path}, which is not a file or directory of the repository`);
      continue;
    }
    if (r.anchor && r.path.endsWith('.md') && (self || files.has(r.path))) {
      const anchors = anchorsOf(self ? text : read(r.path));
      if (!anchors.has(r.anchor)) problems.push(`${where}: "${link.target}": ${r.path} has no heading with the anchor #${r.anchor}`);
    }
  }
  return problems;
}

// ---- the checks ---------------------------------------------------------------------------------

const FILES = repositoryFiles();
const DOCS = [...FILES].filter((f) => f === 'README.md' || f === 'AGENTS.md' || /^docs\/[^/]+\.md$/.test(f) || /^packaging\/(.+\/)?README\.md$/.test(f)).sort();
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

describe('links in the docs', () => {
  it('finds the docs it is meant to check', () => {
    for (const doc of ['README.md', 'AGENTS.md', 'docs/design.md', 'docs/mcp.md', 'docs/views.md', 'packaging/systemd/README.md']) {
      expect(DOCS, `${doc} should be checked`).toContain(doc);
    }
  });

  for (const doc of DOCS) {
    it(`${doc}: every relative link resolves inside the repository, every anchor to a heading`, () => {
      expect(checkLinks(doc, read(doc), FILES, read)).toEqual([]);
    });
  }

  it('the checker is not vacuous: it reports broken, escaping and absolute links and missing anchors, and skips code', () => {
    const sample = [
      '# Title',
      '## Second `part`',
      'Fine: [a](README.md), [b](docs/), ![c](./README.md#session-lattice), [d](#second-part), [e](https://example.com/x).',
      'Broken: [f](nope.md), [g](../outside.md), [h](#missing), [i](README.md#no-such-heading), [j](/README.md), [k](file:///etc/passwd).',
      '`[not a link](nope-in-code.md)`',
      '```md',
      '[not a link either](nope-in-fence.md)',
      '```',
      '[ref]: also-missing.md',
    ].join('\n');
    const problems = checkLinks('sample.md', sample, FILES, read);
    expect(problems.map((p) => /"([^"]*)"/.exec(p)?.[1])).toEqual([
      'nope.md',
      '../outside.md',
      '#missing',
      'README.md#no-such-heading',
      '/README.md',
      'file:///etc/passwd',
      'also-missing.md',
    ]);
    // GitHub's slugs: punctuation dropped, underscores and hyphens kept, duplicates numbered.
    expect(githubSlug('For agents: MCP at `/mcp`')).toBe('for-agents-mcp-at-mcp');
    expect(githubSlug('tool_usage')).toBe('tool_usage');
    expect([...anchorsOf('# A\n## A\ntext\n---\n')]).toEqual(['a', 'a-1', 'text']);
  });
});

describe('links in the npm package', () => {
  let packed: Set<string>;

  beforeAll(() => {
    // --ignore-scripts: the listing does not need prepack's build (the test command built already).
    const env = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` };
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`npm pack --dry-run exited ${r.status ?? r.signal}\n${r.stderr}\n${r.stdout}`);
    const [pack] = JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>;
    packed = new Set(pack!.files.map((f) => f.path));
  }, 90_000);

  it('ships README.md, LICENSE and every file README.md links to', () => {
    expect(packed).toContain('README.md');
    expect(packed).toContain('LICENSE');
    const missing = linksOf(read('README.md'))
      .map((l) => ({ l, r: resolveLink('README.md', l.target) }))
      .filter(({ r }) => r.path !== null && !r.problem && !holds(packed, r.path))
      .map(({ l, r }) => `README.md:${l.line}: "${l.target}" -> ${r.path} is not in the package`);
    expect(missing).toEqual([]);
  });

  it('every Markdown file in the package links only to files in the package', () => {
    const shipped = [...packed].filter((f) => f.endsWith('.md')).sort();
    expect(shipped).toContain('README.md');
    const problems: string[] = [];
    for (const doc of shipped) {
      for (const l of linksOf(read(doc))) {
        const r = resolveLink(doc, l.target);
        if (r.path !== null && !r.problem && !holds(packed, r.path)) problems.push(`${doc}:${l.line}: "${l.target}" -> ${r.path} is not in the package`);
      }
    }
    expect(problems).toEqual([]);
  });
});
