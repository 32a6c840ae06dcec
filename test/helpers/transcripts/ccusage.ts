import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { repoRoot } from './root.js';

/**
 * Runs the pinned ccusage (devDependency, 20.0.24) over a projects tree, offline (its bundled
 * prices; no network), and returns its daily rows. ccusage finds transcripts through
 * CLAUDE_CONFIG_DIR: a directory holding `projects/` (its src: claude_paths()).
 */

export interface CcusageDay {
  date: string;
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
  totalTokens: number;
  totalCost: number;
  modelsUsed: string[];
}

const CCUSAGE_BIN = join(repoRoot(), 'node_modules', 'ccusage', 'src', 'cli.js');

/** `ccusage claude <report> --json --offline --timezone <zone>` over the tree whose projects dir is `projects`. */
export async function runCcusage(projects: string, zone: string, report = 'daily', timeoutMs = 120_000): Promise<{ json: unknown; ms: number }> {
  if (!existsSync(CCUSAGE_BIN)) throw new Error(`ccusage is not installed at ${CCUSAGE_BIN}: run npm ci`);
  if (!projects.endsWith('/projects')) throw new Error(`ccusage reads <CLAUDE_CONFIG_DIR>/projects: ${projects} must be named projects`);
  const started = performance.now();
  const child = spawn(process.execPath, [CCUSAGE_BIN, 'claude', report, '--json', '--offline', '--timezone', zone], {
    // HOME too, so no config file of the user's is auto-discovered
    env: { PATH: process.env.PATH ?? '', HOME: dirname(projects), CLAUDE_CONFIG_DIR: dirname(projects), NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((ok) => child.on('close', ok));
  clearTimeout(timer);
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`ccusage exited ${code}: ${stderr.slice(0, 2000)}`);
  return { json: JSON.parse(stdout) as unknown, ms };
}

export async function ccusageDaily(projects: string, zone: string): Promise<CcusageDay[]> {
  const { json } = await runCcusage(projects, zone, 'daily');
  const daily = (json as { daily?: unknown }).daily;
  if (!Array.isArray(daily)) throw new Error('ccusage daily --json has no daily array');
  return daily as CcusageDay[];
}
