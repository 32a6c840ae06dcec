/**
 * Deterministic generator of realistic repo-recall `/api/sessions` payloads.
 *
 * Wire format (DESIGN.md, "Upstream: repo-recall"):
 *   {"sessions":[{"session":{...},"repos":[[repo_id,"repo_name","/repo/path"],...]},...],
 *    "generated_at":N,"scan_version":N}
 *
 * Every session is generated from its own PRNG stream, seeded by (seed, index), so the payload is
 * produced chunk by chunk without holding it in memory, and the same options always give the same
 * bytes. Session `id` is `index + 1` (unique, ascending).
 *
 * With `messy` (the default) the payload carries the mess a real one has: nulls in every nullable
 * field, unicode, huge prompts, empty/malformed count strings, case-variant tool names, sessions
 * with zero or several repos or no timestamps, a few unpaired surrogate escapes (`\ud83d`, valid
 * for JSON.parse, fatal for DuckDB's read_json), and a few invalid rows that a loader must skip and
 * count. `describeMessiness` gives the exact number of invalid and surrogate rows.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

export interface GenerateOptions {
  sessions: number;
  seed?: number;
  scanVersion?: number;
  /** default true */
  messy?: boolean;
  /** unix seconds; default 1767225600 (2026-01-01T00:00:00Z) */
  generatedAt?: number;
  /**
   * Revision N of the same sessions (default 0: none): as a rescan after some work, about
   * `revisedPercent` (default 1) of the sessions, picked by N, have more messages and tokens and a
   * new last prompt; every other element is byte for byte what revision 0 sends.
   */
  revision?: number;
  revisedPercent?: number;
}

const DEFAULT_SEED = 1;
const DEFAULT_SCAN_VERSION = 1;
export const DEFAULT_GENERATED_AT = 1767225600;
/** Sessions per yielded chunk of `payloadChunks`. */
export const CHUNK_SESSIONS = 256;

/** The kinds of invalid row a messy payload contains, in rotation. */
export const INVALID_KINDS = [
  'id-not-numeric', // "id": "s-000042"
  'session-null', // "session": null
  'uuid-missing', // no "session_uuid" key
  'message-count-string', // "message_count": "many"
] as const;
export type InvalidKind = (typeof INVALID_KINDS)[number];

export interface Messiness {
  sessions: number;
  messy: boolean;
  /** Rows a loader must skip and count. */
  invalidRows: number;
  invalidByKind: Record<InvalidKind, number>;
  /** Positions (0-based) of the invalid rows in the `sessions` array. */
  invalidIndices: number[];
  /** Valid rows whose last_prompt ends in an unpaired high surrogate (raw `\udXXX` escape in the text). */
  surrogateRows: number;
  surrogateIndices: number[];
  /** `session.id` of the surrogate rows (always index + 1). */
  surrogateSessionIds: number[];
  validRows: number;
}

/** The wire shape of one valid session (what a loader should accept). */
export interface RecallSession {
  id: number;
  session_uuid: string;
  cwd: string | null;
  started_at: number | null;
  ended_at: number | null;
  message_count: number;
  user_message_count: number;
  assistant_message_count: number;
  last_prompt: string | null;
  source_file: string;
  duration_ms: number | null;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_creation_tokens: number;
  parent_uuid: string | null;
  request_id: string | null;
  message_id: string | null;
  is_sidechain_count: number;
  models_used: string[];
  tools_used: string[];
  tool_call_counts_json: string;
  stop_reason_counts_json: string;
}
type RecallRepo = [number, string, string];

// ---------------------------------------------------------------------------------------------
// PRNG and hashing

function mix32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d);
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b);
  x = (x ^ (x >>> 16)) >>> 0;
  return x;
}

function hash3(a: number, b: number, c: number): number {
  return mix32((mix32((mix32(a ^ 0x9e3779b9) ^ b) >>> 0) + c) >>> 0);
}

/** sfc32: small, fast, and seeded with the index itself so that no two sessions share a stream. */
class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  constructor(x = 0, y = 0) {
    this.reseed(x, y);
  }

  reseed(x: number, y: number): void {
    this.a = mix32(x ^ 0x243f6a88);
    this.b = y >>> 0;
    this.c = mix32((y ^ 0x85a308d3) >>> 0) ^ x;
    this.d = 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** [0, 1) */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** integer in [lo, hi] */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(arr: readonly T[]): T {
    return arr[Math.floor(this.next() * arr.length)] as T;
  }

  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  lognormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }
}

/** Weighted choice over a precomputed cumulative table. */
class Weighted<T> {
  private readonly cum: number[] = [];
  private readonly total: number;
  constructor(
    readonly items: readonly T[],
    weights: readonly number[],
  ) {
    let s = 0;
    for (const w of weights) {
      s += w;
      this.cum.push(s);
    }
    this.total = s;
  }
  pick(rng: Rng): T {
    const x = rng.next() * this.total;
    let lo = 0;
    let hi = this.cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.cum[mid] as number) > x) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo] as T;
  }
}

// ---------------------------------------------------------------------------------------------
// Vocabulary

const HOME = '/Users/luca';

const REPO_NAMES = [
  'session-lattice',
  'repo-recall',
  'dotfiles',
  'api-gateway',
  'billing-service',
  'web-app',
  'mobile-app',
  'infra',
  'terraform-modules',
  'design-system',
  'docs',
  'blog',
  'cli-tools',
  'data-pipeline',
  'ml-experiments',
  'auth-service',
  'notifications',
  'search-indexer',
  'analytics',
  'admin-dashboard',
  'payments',
  'scheduler',
  'chat-bot',
  'homelab',
  'advent-of-code',
  'k8s-manifests',
  'react-components',
  'rust-playground',
  'go-microservice',
  'python-scripts',
  'monorepo',
  'legacy-php-app',
  'ios-app',
  'android-app',
  'browser-extension',
  'vscode-extension',
  'llm-evals',
  'prompt-library',
  'scraper',
  'game-jam-2025',
] as const;

/** Replacements used in messy mode: combining marks, CJK, emoji, RTL, NFC accents. */
const UNICODE_REPO_NAMES: ReadonlyArray<readonly [number, string]> = [
  [11, 'cafe\u0301-blog'], // combining acute accent
  [16, '日本語-notifications'],
  [27, '🦀-playground'],
  [33, 'אפליקציה-android'], // Hebrew, RTL
  [38, 'scraper-données'],
  [24, 'advent-of-code-٢٠٢٥'], // Arabic-Indic digits
];

const REPO_PARENTS = [`${HOME}/code`, `${HOME}/code`, `${HOME}/code`, `${HOME}/work/acme`, `${HOME}/src/github.com/luca`] as const;

const SUBDIRS = ['src', 'packages/core', 'packages/web', 'apps/api', 'scripts', 'docs', 'infra/terraform', 'test', 'crates/engine', 'services/worker'] as const;
const UNICODE_SUBDIRS = ['docs/über-guide', 'テスト', 'notes/🗒️', 'ملفات', 'Zu\u0308rich-data'] as const;
const NO_REPO_CWDS = [HOME, '/tmp', `${HOME}/Downloads`, `${HOME}/Desktop/scratch`, '/private/tmp/claude'] as const;
const NO_REPO_CWDS_UNICODE = [`${HOME}/Desktop/scratch ✨`, `${HOME}/Documents/资料`] as const;

/** ~26 tool names, weighted by how often a session uses them. */
const TOOLS: ReadonlyArray<readonly [string, number, number]> = [
  // name, weight (chance-ish of appearing), typical calls per session
  ['Bash', 90, 9],
  ['Read', 92, 11],
  ['Edit', 70, 8],
  ['Write', 35, 3],
  ['Grep', 55, 5],
  ['Glob', 40, 3],
  ['Task', 18, 2],
  ['WebFetch', 10, 2],
  ['WebSearch', 8, 2],
  ['TodoWrite', 45, 5],
  ['MultiEdit', 15, 3],
  ['LS', 12, 3],
  ['NotebookEdit', 2, 3],
  ['BashOutput', 8, 4],
  ['KillShell', 3, 1],
  ['ExitPlanMode', 9, 1],
  ['SlashCommand', 4, 1],
  ['Skill', 3, 1],
  ['AskUserQuestion', 5, 1],
  ['mcp__github__create_issue', 3, 1],
  ['mcp__github__get_pull_request', 3, 2],
  ['mcp__playwright__browser_navigate', 2, 4],
  ['mcp__playwright__browser_snapshot', 2, 5],
  ['mcp__context7__get-library-docs', 3, 2],
  ['mcp__linear__create_issue', 1, 1],
  ['mcp__sentry__get_issue', 1, 1],
];
const TOOL_ERROR_RATE: Readonly<Record<string, number>> = { Bash: 0.09, Edit: 0.06, MultiEdit: 0.07, WebFetch: 0.12, Read: 0.02 };
/** Case variants: same tool, different spelling (messy only). */
const CASE_VARIANTS: ReadonlyArray<readonly [string, string]> = [
  ['Bash', 'bash'],
  ['Bash', 'bash'],
  ['Bash', 'bash'],
  ['WebFetch', 'webfetch'],
  ['Read', 'read'],
];

/** Main models with their release date (unix seconds); a session uses models released before it started. */
const MAIN_MODELS: ReadonlyArray<readonly [string, number]> = [
  ['claude-sonnet-4-20250514', 1747180800],
  ['claude-opus-4-1-20250805', 1754352000],
  ['claude-sonnet-4-5-20250929', 1759104000],
  ['claude-opus-4-5-20251101', 1761955200],
];
const HAIKU_OLD = 'claude-3-5-haiku-20241022';
const HAIKU_NEW = 'claude-haiku-4-5-20251001';
const HAIKU_NEW_RELEASE = 1759276800;

const FILES = [
  'src/server.ts',
  'src/db/schema.ts',
  'lib/parser.py',
  'cmd/main.go',
  'src/lib.rs',
  'app/models/user.rb',
  'src/components/Button.tsx',
  'tests/test_api.py',
  'Makefile',
  'docker-compose.yml',
  'README.md',
  'src/routes/sessions.ts',
  'pkg/cache/lru.go',
  'internal/auth/jwt.go',
  '.github/workflows/ci.yml',
  'migrations/0042_add_index.sql',
  'src/hooks/useFetch.ts',
  'package.json',
  'pyproject.toml',
  'Cargo.toml',
] as const;
const FUNCS = [
  'parseConfig',
  'handleRequest',
  'loadSessions',
  'retryWithBackoff',
  'renderTable',
  'computeDiff',
  'validate_payload',
  'flush_buffer',
  'NewClient',
  'from_row',
  'useDebounce',
  'materializeView',
] as const;
const ERRORS = [
  "TypeError: Cannot read properties of undefined (reading 'map')",
  'Error: connect ECONNREFUSED 127.0.0.1:5432',
  "thread 'main' panicked at 'index out of bounds: the len is 3 but the index is 3'",
  'AssertionError: expected 200, got 503',
  'SyntaxError: Unexpected token } in JSON at position 1024',
  'ModuleNotFoundError: No module named "pydantic_core._pydantic_core"',
  'error[E0502]: cannot borrow `self.items` as mutable because it is also borrowed as immutable',
  'FATAL: password authentication failed for user "postgres"',
  'Error: ENOSPC: no space left on device, write',
  'panic: runtime error: invalid memory address or nil pointer dereference',
] as const;
const LIBS = ['zod', 'fastify', 'DuckDB', 'SQLAlchemy', 'tokio', 'React Query', 'pydantic', 'vitest', 'undici', 'Tailwind'] as const;
const FEATURES = [
  'pagination',
  'dark mode',
  'rate limiting',
  'a retry with exponential backoff',
  'CSV export',
  'an audit log',
  'OpenAPI docs',
  'a health check endpoint',
  'caching',
  'structured logging',
] as const;
const SHORT_PROMPTS = [
  'continue',
  'yes',
  'yes, do it',
  'commit this',
  'run the tests',
  '/compact',
  'looks good, push it',
  'try again',
  'no, revert that',
  'ok',
  'what does this do?',
  'fix the lint errors',
  'go ahead',
  '/clear',
  'undo the last change',
  'can you explain that?',
  'ship it',
] as const;
const TEMPLATES: ReadonlyArray<(r: Rng) => string> = [
  (r) => `fix the failing test in ${r.pick(FILES)}`,
  (r) => `why does ${r.pick(FUNCS)} throw "${r.pick(ERRORS)}" when the input is empty?`,
  (r) => `refactor ${r.pick(FILES)} to use ${r.pick(LIBS)} instead of the hand-rolled version`,
  (r) => `add ${r.pick(FEATURES)} to the ${r.pick(FUNCS)} path, and write tests for it`,
  (r) => `I'm getting this error when I run \`npm test\`:\n\n${r.pick(ERRORS)}\n\ncan you take a look?`,
  (r) => `review the diff in ${r.pick(FILES)} and tell me if anything looks off`,
  (r) => `the CI is red on main: ${r.pick(ERRORS)}. Find the cause and fix it, don't just skip the test.`,
  (r) => `write a migration that adds an index on sessions(started_at) and update ${r.pick(FILES)}`,
  (r) => `can you make ${r.pick(FUNCS)} faster? it takes ${r.int(2, 90)}s on ${r.int(10, 500)}k rows`,
  (r) => `explain how ${r.pick(LIBS)} handles backpressure here, with references to ${r.pick(FILES)}`,
  (r) => `rename ${r.pick(FUNCS)} to something clearer everywhere, including the docs`,
  (r) => `on Windows the path comes through as C:\\Users\\luca\\code\\${r.pick(REPO_NAMES)}\\${r.pick(FILES).replace(/\//g, '\\')} and breaks`,
  (r) => `plan the work for ${r.pick(FEATURES)}; don't write code yet, just a checklist`,
  (r) => `the "${r.pick(FUNCS)}" function returns {"ok": false} with no message; add proper error reporting`,
  (r) => `update the README with setup steps for ${r.pick(LIBS)}\tand a troubleshooting section`,
];
const FILLER = [
  'Keep the public API the same.',
  'Make sure the existing tests still pass.',
  'Use the same style as the rest of the file.',
  "Don't add new dependencies.",
  'Also update the changelog.',
  'It used to work before the last release.',
  'I think the problem is in the retry loop but I am not sure.',
  'Be careful with the migration on prod data.',
  'Run the linter afterwards.',
  'It only happens under load, roughly one request in a thousand.',
] as const;
/** Non-ASCII fragments for messy prompts: emoji (incl. ZWJ and skin tones), CJK, RTL, combining marks. */
const UNICODE_FRAGMENTS = [
  '🚀',
  '✅ done',
  '🔥🔥',
  '👍🏽',
  '👨‍👩‍👧‍👦',
  '🐛 bug',
  '修复这个错误',
  'テストが失敗しています',
  '버그를 고쳐줘',
  'תקן את הבאג בבקשה',
  'أصلح الخطأ من فضلك',
  'nai\u0308ve cafe\u0301',
  'Z\u0351\u0358a\u0310l\u0352g\u0360o',
  '—“smart quotes”…',
  'Ελληνικά',
  'naïve façade',
  '\u200bzero\u200bwidth',
  '🏳️‍🌈',
  '½ × π ≈ 1.57',
] as const;
const LOG_LINES = [
  '2025-11-03T14:22:01.123Z INFO  [worker-3] processed batch id=8812 rows=5000 elapsed_ms=412',
  '2025-11-03T14:22:01.456Z WARN  [pool] connection 17 idle for 30001ms, recycling',
  '2025-11-03T14:22:02.001Z ERROR [http] GET /api/sessions 503 upstream timed out after 30000ms',
  '    at processTicksAndRejections (node:internal/process/task_queues:95:5)',
  '    at async Promise.all (index 3)',
  '    at Object.<anonymous> (/Users/luca/code/api-gateway/src/server.ts:188:17)',
  'Traceback (most recent call last):',
  '  File "/Users/luca/code/data-pipeline/pipeline/load.py", line 221, in load_batch',
  '    raise ValueError(f"bad row {row!r}")',
  '+ test -f build/out.json && jq ".sessions | length" build/out.json',
  '  --> src/engine/mod.rs:42:9',
  'npm ERR! code ERESOLVE',
  'FAIL  test/views.test.ts > tool pivots > counts calls per tool (12 ms)',
  'diff --git a/src/lib.rs b/src/lib.rs\n@@ -10,7 +10,8 @@ impl Engine {',
] as const;
const ANSI_LINE = '\u001b[31merror\u001b[0m: process exited with code 1';

const HOURS_WEIGHTS = [1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 2, 4, 7, 8, 8, 6, 7, 8, 8, 7, 6, 4, 3, 3, 3, 2.5, 1.5];
const HOURS = new Weighted(
  HOURS_WEIGHTS.map((_, h) => h),
  HOURS_WEIGHTS,
);

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const HEX = '0123456789abcdef';

// ---------------------------------------------------------------------------------------------
// Per-payload context (repo pool, tool table)

interface Repo {
  id: number;
  name: string;
  path: string;
}

interface Context {
  n: number;
  seed: number;
  messy: boolean;
  generatedAt: number;
  scanVersion: number;
  repos: Repo[];
  repoPick: Weighted<Repo>;
  invalid: Map<number, InvalidKind>;
  surrogate: Set<number>;
  revision: number;
  /** Out of 2^32: an element is revised when its hash falls below. */
  revisedBelow: number;
}

function normalize(opts: GenerateOptions): { n: number; seed: number; messy: boolean; generatedAt: number; scanVersion: number } {
  const n = opts.sessions;
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`sessions must be a non-negative integer, got ${String(n)}`);
  const seed = opts.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${String(seed)}`);
  const generatedAt = opts.generatedAt ?? DEFAULT_GENERATED_AT;
  const scanVersion = opts.scanVersion ?? DEFAULT_SCAN_VERSION;
  if (!Number.isInteger(generatedAt)) throw new RangeError(`generatedAt must be an integer, got ${String(generatedAt)}`);
  if (!Number.isInteger(scanVersion)) throw new RangeError(`scanVersion must be an integer, got ${String(scanVersion)}`);
  return { n, seed: seed >>> 0, messy: opts.messy ?? true, generatedAt, scanVersion };
}

const SALT_INVALID = 0x1a2b3c4d;
const SALT_SURROGATE = 0x5e6f7081;
const INVALID_THRESHOLD = Math.floor(4294967296 / 2000);
const SURROGATE_THRESHOLD = Math.floor(4294967296 / 20000);
/** Whenever sessions >= 50, these positions are an invalid row and a surrogate row (or the next valid one). */
const FORCED_INVALID_INDEX = 41;
const FORCED_SURROGATE_INDEX = 47;
const FORCE_MIN_SESSIONS = 50;

function planMessiness(n: number, seed: number, messy: boolean): { invalid: Map<number, InvalidKind>; surrogate: Set<number> } {
  const invalid = new Map<number, InvalidKind>();
  const surrogate = new Set<number>();
  if (!messy) return { invalid, surrogate };
  const force = n >= FORCE_MIN_SESSIONS;
  let k = seed % INVALID_KINDS.length;
  for (let i = 0; i < n; i++) {
    if (hash3(seed, i, SALT_INVALID) < INVALID_THRESHOLD || (force && i === FORCED_INVALID_INDEX)) {
      invalid.set(i, INVALID_KINDS[k % INVALID_KINDS.length] as InvalidKind);
      k++;
    }
  }
  let forced = force ? FORCED_SURROGATE_INDEX : -1;
  while (forced >= 0 && invalid.has(forced)) forced++; // the surrogate row must be a valid row
  for (let i = 0; i < n; i++) {
    if (!invalid.has(i) && (i === forced || hash3(seed, i, SALT_SURROGATE) < SURROGATE_THRESHOLD)) surrogate.add(i);
  }
  return { invalid, surrogate };
}

function buildContext(opts: GenerateOptions): Context {
  const { n, seed, messy, generatedAt, scanVersion } = normalize(opts);
  const rng = new Rng(seed, 0x7e57ab1e);
  const repos: Repo[] = [];
  const names: string[] = [...REPO_NAMES];
  if (messy) for (const [i, name] of UNICODE_REPO_NAMES) names[i] = name;
  let id = 0;
  for (const name of names) {
    id += rng.int(1, 3);
    repos.push({ id, name, path: `${rng.pick(REPO_PARENTS)}/${name}` });
  }
  // Zipf-ish popularity over a seeded shuffle of the repos.
  const order = repos.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    const t = order[i] as number;
    order[i] = order[j] as number;
    order[j] = t;
  }
  const weights: number[] = new Array<number>(repos.length).fill(0);
  order.forEach((repoIdx, rank) => {
    weights[repoIdx] = 1 / Math.pow(rank + 1, 0.9);
  });
  const { invalid, surrogate } = planMessiness(n, seed, messy);
  const revision = opts.revision ?? 0;
  const revisedPercent = opts.revisedPercent ?? 1;
  if (!Number.isInteger(revision) || revision < 0) throw new RangeError(`revision must be a non-negative integer, got ${String(revision)}`);
  if (!(revisedPercent >= 0 && revisedPercent <= 100)) throw new RangeError(`revisedPercent must be 0..100, got ${String(revisedPercent)}`);
  const revisedBelow = Math.floor((4294967296 * revisedPercent) / 100);
  return { n, seed, messy, generatedAt, scanVersion, repos, repoPick: new Weighted(repos, weights), invalid, surrogate, revision, revisedBelow };
}

// ---------------------------------------------------------------------------------------------
// One session

function randomString(rng: Rng, alphabet: string, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += alphabet[Math.floor(rng.next() * alphabet.length)];
  return s;
}

function uuid(rng: Rng): string {
  const h = randomString(rng, HEX, 32);
  const variant = HEX[8 + rng.int(0, 3)] as string;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function projectDir(cwd: string): string {
  return cwd.replace(/[/._ ]/g, '-');
}

function sentence(rng: Rng): string {
  return (TEMPLATES[Math.floor(rng.next() * TEMPLATES.length)] as (r: Rng) => string)(rng);
}

function withUnicode(rng: Rng, text: string): string {
  const frag = rng.pick(UNICODE_FRAGMENTS);
  const where = rng.int(0, 2);
  if (where === 0) return `${frag} ${text}`;
  if (where === 1) return `${text} ${frag}`;
  const sp = text.indexOf(' ', Math.floor(text.length / 2));
  return sp < 0 ? `${text} ${frag}` : `${text.slice(0, sp)} ${frag}${text.slice(sp)}`;
}

/** A pasted log of ~`target` bytes; ASCII only so that no surrogate pair can ever be cut. */
function pastedLog(rng: Rng, target: number, messy: boolean): string {
  const parts: string[] = [];
  let len = 0;
  while (len < target) {
    const line = messy && rng.chance(0.03) ? ANSI_LINE : rng.pick(LOG_LINES);
    parts.push(line);
    len += line.length + 1;
  }
  return parts.join('\n').slice(0, target);
}

function prompt(rng: Rng, messy: boolean): string {
  const roll = rng.next();
  let text: string;
  if (messy && roll < 0.002) {
    // ~1 in 500: 20-60 KB (a pasted build log)
    const size = rng.int(20_000, 60_000);
    text = `here is the full output, figure out what is going wrong:\n\n${pastedLog(rng, size, messy)}\n\nthanks`;
  } else if (roll < 0.25) {
    text = rng.pick(SHORT_PROMPTS);
  } else if (roll < 0.94) {
    text = sentence(rng);
    const extra = rng.int(0, 2);
    for (let i = 0; i < extra; i++) text += ` ${rng.pick(FILLER)}`;
  } else {
    text = `${sentence(rng)}\n\n${sentence(rng)} ${rng.pick(FILLER)}\n\n\`\`\`\n${pastedLog(rng, rng.int(150, 800), messy)}\n\`\`\`\n${rng.pick(FILLER)}`;
  }
  if (messy && rng.chance(0.06)) text = withUnicode(rng, text);
  return text;
}

function pythonJsonCounts(entries: ReadonlyArray<readonly [string, string]>): string {
  // repo-recall writes these with Python-style separators: {"Bash": {"calls": 3, "errors": 0}}
  let s = '{';
  entries.forEach(([k, v], i) => {
    if (i > 0) s += ', ';
    s += `${JSON.stringify(k)}: ${v}`;
  });
  return `${s}}`;
}

interface ToolUse {
  name: string;
  calls: number;
  errors: number;
}

function tools(rng: Rng, assistant: number, messy: boolean): ToolUse[] {
  if (assistant < 12 && rng.chance(0.15)) return []; // pure chat
  const used: ToolUse[] = [];
  const scale = Math.min(6, Math.max(0.3, assistant / 20));
  for (const [name, weight, typical] of TOOLS) {
    if (!rng.chance(Math.min(0.97, (weight / 100) * Math.min(0.9, 0.35 + scale / 2.5)))) continue;
    const calls = Math.max(1, Math.round(rng.lognormal(typical * scale, 0.7)));
    const rate = TOOL_ERROR_RATE[name] ?? 0.02;
    let errors = 0;
    if (calls <= 64) {
      for (let c = 0; c < calls; c++) if (rng.next() < rate) errors++;
    } else {
      errors = Math.max(0, Math.round(calls * rate * (0.5 + rng.next())));
    }
    used.push({ name, calls, errors });
  }
  if (used.length === 0) used.push({ name: 'Read', calls: rng.int(1, 4), errors: 0 });
  // first-use order
  for (let i = used.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    const t = used[i] as ToolUse;
    used[i] = used[j] as ToolUse;
    used[j] = t;
  }
  if (messy && rng.chance(0.012)) {
    const [canonical, variant] = rng.pick(CASE_VARIANTS);
    const calls = rng.int(1, 6);
    const v: ToolUse = { name: variant, calls, errors: rng.chance(0.2) ? 1 : 0 };
    if (rng.chance(0.7) || !used.some((u) => u.name === canonical)) used.push(v);
    else {
      // only the variant spelling, no canonical one
      const idx = used.findIndex((u) => u.name === canonical);
      used[idx] = v;
    }
  }
  return used;
}

/** 2023-01-01 in days since the epoch: no session is older. */
const EARLIEST_DAY = 19358;

const MALFORMED_TOOL_COUNTS = ['{', 'null', '[]', '{"Bash": {"calls": "x"}}'] as const;
const MALFORMED_STOP_COUNTS = ['{', 'null', '[]', '{"end_turn": "x"}'] as const;

function buildSession(ctx: Context, i: number, rng: Rng): { session: RecallSession; repos: RecallRepo[] } {
  const { messy, generatedAt } = ctx;
  rng.reseed(ctx.seed, i);
  const n = (p: number): boolean => messy && rng.chance(p);

  // repos and cwd
  const repos: Repo[] = [];
  const repoRoll = rng.next();
  let cwd: string;
  if (messy && repoRoll < 0.03) {
    cwd = rng.chance(0.2) ? rng.pick(NO_REPO_CWDS_UNICODE) : rng.pick(NO_REPO_CWDS);
  } else {
    const primary = ctx.repoPick.pick(rng);
    repos.push(primary);
    if (messy && repoRoll > 0.95) {
      const extra = rng.int(1, 2);
      for (let k = 0; k < extra; k++) {
        const r = ctx.repoPick.pick(rng);
        if (!repos.includes(r)) repos.push(r);
      }
    }
    cwd = primary.path;
    if (rng.chance(0.25)) cwd += `/${messy && rng.chance(0.04) ? rng.pick(UNICODE_SUBDIRS) : rng.pick(SUBDIRS)}`;
  }

  // time: activity grows toward generatedAt (density ~ linear), fewer sessions on weekends
  // 18 months back, but never before 2023 (Claude Code did not exist; the puller refuses such a session)
  const spanDays = Math.max(1, Math.min(548, Math.floor(generatedAt / 86400) - EARLIEST_DAY));
  const day0 = Math.floor(generatedAt / 86400) - spanDays;
  let day = day0 + Math.floor(spanDays * Math.sqrt(rng.next()));
  for (let tries = 0; tries < 2; tries++) {
    const weekday = (day + 4) % 7; // 1970-01-01 was a Thursday; 0 = Sunday
    if ((weekday === 0 || weekday === 6) && rng.chance(0.6)) day = day0 + Math.floor(spanDays * Math.sqrt(rng.next()));
    else break;
  }
  let startedAt = day * 86400 + HOURS.pick(rng) * 3600 + rng.int(0, 3599);
  if (startedAt > generatedAt - 60) startedAt = generatedAt - rng.int(60, 7200);
  const durationMs = Math.round(Math.min(8 * 3600_000, Math.max(3000, rng.lognormal(9 * 60_000, 1.1))));
  const endedAt = Math.min(generatedAt, startedAt + Math.ceil(durationMs / 1000));

  // messages
  const user = Math.max(1, Math.min(400, Math.round(rng.lognormal(5, 0.9))));
  const assistant = Math.max(1, Math.round(user * (1 + rng.lognormal(3, 0.6))));
  const messages = user + assistant + (rng.chance(0.3) ? rng.int(1, 3) : 0);

  // models
  const eligible = MAIN_MODELS.filter(([, rel]) => rel <= startedAt);
  const pool = eligible.length > 0 ? eligible : MAIN_MODELS.slice(0, 1);
  const mr = rng.next();
  const main = (
    mr < 0.6 || pool.length === 1 ? pool[pool.length - 1] : mr < 0.9 || pool.length === 2 ? pool[pool.length - 2] : pool[rng.int(0, pool.length - 3)]
  ) as readonly [string, number];
  const models: string[] = [main[0]];
  if (rng.chance(0.4)) models.push(startedAt >= HAIKU_NEW_RELEASE ? HAIKU_NEW : HAIKU_OLD);
  if (rng.chance(0.04)) {
    const other = rng.pick(pool)[0];
    if (!models.includes(other)) models.push(other);
  }
  if (messy && rng.chance(0.005)) models.push('<synthetic>');
  if (messy && rng.chance(0.004)) models.length = 0;

  // tools and stop reasons
  const used = tools(rng, assistant, messy);
  let toolCounts: string;
  let totalCalls = 0;
  for (const u of used) totalCalls += u.calls;
  const tcRoll = rng.next();
  if (messy && tcRoll < 0.01) toolCounts = '';
  else if (messy && tcRoll < 0.018) toolCounts = rng.pick(MALFORMED_TOOL_COUNTS);
  else toolCounts = pythonJsonCounts(used.map((u) => [u.name, `{"calls": ${u.calls}, "errors": ${u.errors}}`] as const));

  const toolUseStops = Math.min(assistant, totalCalls);
  const stops: Array<readonly [string, string]> = [];
  if (toolUseStops > 0) stops.push(['tool_use', String(toolUseStops)]);
  stops.push(['end_turn', String(Math.max(1, Math.min(assistant - toolUseStops + user, user + rng.int(0, 2))))]);
  if (rng.chance(0.03)) stops.push(['max_tokens', String(rng.int(1, 2))]);
  if (rng.chance(0.01)) stops.push(['stop_sequence', '1']);
  let stopCounts: string;
  const srRoll = rng.next();
  if (messy && srRoll < 0.01) stopCounts = '';
  else if (messy && srRoll < 0.016) stopCounts = rng.pick(MALFORMED_STOP_COUNTS);
  else stopCounts = pythonJsonCounts(stops);

  const taskCalls = used.find((u) => u.name === 'Task')?.calls ?? 0;
  const sidechain = taskCalls > 0 ? Math.round(taskCalls * rng.lognormal(14, 0.6)) : 0;

  // tokens
  const outputTokens = Math.round(assistant * rng.lognormal(260, 0.7));
  const inputTokens = Math.round(assistant * rng.lognormal(35, 1.0)) + (rng.chance(0.05) ? rng.int(1000, 60000) : 0);
  const cacheCreation = Math.round(rng.lognormal(22000, 0.6) + assistant * rng.lognormal(700, 0.8));
  const cacheRead = Math.round(assistant * rng.lognormal(38000, 0.5));

  const sessionUuid = uuid(rng);
  const parentUuid = uuid(rng);
  const requestId = `req_011C${randomString(rng, BASE58, 18)}`;
  const messageId = `msg_01${randomString(rng, BASE58, 22)}`;
  let lastPrompt = prompt(rng, messy);
  if (ctx.surrogate.has(i)) {
    // a truncated emoji: the high surrogate of U+1F41B..U+1F680, with its low half cut off
    lastPrompt = `${lastPrompt.slice(0, 200).replace(/[\ud800-\udfff]/g, '')} look at this 🐛 and this \ud83d`;
  }

  const noTimestamps = n(0.01);
  const session: RecallSession = {
    id: i + 1,
    session_uuid: sessionUuid,
    cwd: n(0.02) ? null : cwd,
    started_at: noTimestamps || n(0.015) ? null : startedAt,
    ended_at: noTimestamps || n(0.03) ? null : endedAt,
    message_count: messages,
    user_message_count: user,
    assistant_message_count: assistant,
    last_prompt: !ctx.surrogate.has(i) && n(0.04) ? null : lastPrompt,
    source_file: `${HOME}/.claude/projects/${projectDir(cwd)}/${sessionUuid}.jsonl`,
    duration_ms: noTimestamps || n(0.03) ? null : durationMs,
    input_tokens: inputTokens,
    output_tokens: outputTokens,
    cache_read_tokens: cacheRead,
    cache_creation_tokens: cacheCreation,
    parent_uuid: n(0.05) ? null : parentUuid,
    request_id: n(0.03) ? null : requestId,
    message_id: n(0.03) ? null : messageId,
    is_sidechain_count: sidechain,
    models_used: models,
    tools_used: used.map((u) => u.name),
    tool_call_counts_json: toolCounts,
    stop_reason_counts_json: stopCounts,
  };
  return { session, repos: repos.map((r) => [r.id, r.name, r.path]) };
}

const SALT_REVISION = 0x2468ace1;

function elementText(ctx: Context, i: number, rng: Rng): string {
  const { session, repos } = buildSession(ctx, i, rng);
  // After the element is built from the shared random stream, so that no other element moves.
  if (ctx.revision > 0 && hash3(ctx.seed, i, (SALT_REVISION + ctx.revision) >>> 0) < ctx.revisedBelow) {
    session.message_count += ctx.revision;
    session.output_tokens += 100 * ctx.revision;
    session.last_prompt = `revision ${ctx.revision}: ${session.last_prompt ?? ''}`;
  }
  const kind = ctx.invalid.get(i);
  if (kind === undefined) return JSON.stringify({ session, repos });
  const broken: Record<string, unknown> = { ...session };
  switch (kind) {
    case 'id-not-numeric':
      broken.id = `s-${String(i + 1).padStart(6, '0')}`;
      break;
    case 'session-null':
      return JSON.stringify({ session: null, repos });
    case 'uuid-missing':
      delete broken.session_uuid;
      break;
    case 'message-count-string':
      broken.message_count = 'many';
      break;
  }
  return JSON.stringify({ session: broken, repos });
}

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * The payload's JSON text in chunks of `CHUNK_SESSIONS` sessions (plus a head and a tail chunk).
 * Concatenated, the chunks are one JSON document; nothing but the current chunk is held.
 */
export function* payloadChunks(opts: GenerateOptions): Generator<string> {
  const ctx = buildContext(opts);
  const rng = new Rng();
  yield '{"sessions":[';
  for (let start = 0; start < ctx.n; start += CHUNK_SESSIONS) {
    const end = Math.min(ctx.n, start + CHUNK_SESSIONS);
    const parts: string[] = [];
    for (let i = start; i < end; i++) parts.push(elementText(ctx, i, rng));
    yield (start === 0 ? '' : ',') + parts.join(',');
  }
  yield `],"generated_at":${ctx.generatedAt},"scan_version":${ctx.scanVersion}}`;
}

/** Streams the payload to `path` (respecting backpressure). */
export async function writePayloadFile(opts: GenerateOptions, path: string): Promise<{ bytes: number }> {
  const out = createWriteStream(path);
  let bytes = 0;
  const failed = new Promise<never>((_, reject) => {
    out.once('error', reject);
  });
  failed.catch(() => undefined);
  try {
    for (const chunk of payloadChunks(opts)) {
      const buf = Buffer.from(chunk, 'utf8');
      bytes += buf.length;
      if (!out.write(buf)) await Promise.race([once(out, 'drain'), failed]);
    }
    out.end();
    await Promise.race([once(out, 'finish'), failed]);
    await new Promise<void>((resolve, reject) => {
      if (out.closed) resolve();
      else out.once('close', () => resolve()).once('error', reject);
    });
  } catch (err) {
    out.destroy();
    throw err;
  }
  return { bytes };
}

/** The whole payload as one string (for small payloads in tests). */
export function generatePayloadText(opts: GenerateOptions): string {
  let s = '';
  for (const chunk of payloadChunks(opts)) s += chunk;
  return s;
}

/** Exactly which rows of the payload `opts` describes are invalid or carry an unpaired surrogate. */
export function describeMessiness(opts: GenerateOptions): Messiness {
  const { n, seed, messy } = normalize(opts);
  const { invalid, surrogate } = planMessiness(n, seed, messy);
  const invalidByKind = Object.fromEntries(INVALID_KINDS.map((k) => [k, 0])) as Record<InvalidKind, number>;
  for (const kind of invalid.values()) invalidByKind[kind] += 1;
  const surrogateIndices = [...surrogate].sort((a, b) => a - b);
  return {
    sessions: n,
    messy,
    invalidRows: invalid.size,
    invalidByKind,
    invalidIndices: [...invalid.keys()].sort((a, b) => a - b),
    surrogateRows: surrogate.size,
    surrogateIndices,
    surrogateSessionIds: surrogateIndices.map((i) => i + 1),
    validRows: n - invalid.size,
  };
}
