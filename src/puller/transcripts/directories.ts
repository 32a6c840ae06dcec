import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { TranscriptsSetting } from '../../shared/config.js';

/**
 * The projects directories the transcripts source reads, from the setting (and the environment,
 * for the default): resolved at each tick, so that a Claude Code installed after the puller
 * started is found without a restart.
 *
 * - a list: those directories, as given (one that does not exist is reported unreadable);
 * - `default`: each entry of CLAUDE_CONFIG_DIR (comma-separated, as Claude Code and ccusage read
 *   it) + `/projects`, whether or not it exists (it was asked for); without CLAUDE_CONFIG_DIR,
 *   `~/.config/claude/projects` and `~/.claude/projects`, those that exist;
 * - `off`: none (the tick reports the source disabled).
 */
export async function resolveTranscriptDirectories(setting: TranscriptsSetting, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  if (setting === 'off') return [];
  if (setting !== 'default') return unique(setting);
  const home = env.HOME && isAbsolute(env.HOME) ? env.HOME : homedir();
  const configDirs = (env.CLAUDE_CONFIG_DIR ?? '')
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '');
  if (configDirs.length > 0) return unique(configDirs.map((d) => join(expand(d, home), 'projects')));
  const candidates = [join(home, '.config', 'claude', 'projects'), join(home, '.claude', 'projects')];
  const found: string[] = [];
  for (const dir of candidates) {
    const s = await stat(dir).catch(() => null);
    if (s?.isDirectory()) found.push(dir);
  }
  return found;
}

function expand(dir: string, home: string): string {
  if (dir === '~') return home;
  if (dir.startsWith('~/')) return join(home, dir.slice(2));
  return resolve(dir);
}

function unique(dirs: readonly string[]): string[] {
  return [...new Set(dirs)];
}
