import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorResponse, HealthResponse } from '../src/reads/contract/api-types.js';
import type { StatusReport } from '../src/cli/status-report.js';
import { CATALOG } from '../src/shared/catalog/index.js';
import { homePaths } from '../src/shared/paths.js';
import { readPullerStatus } from '../src/shared/status.js';
import { startFakeRecall, type FakeRecall } from './fake-recall/server.js';
import { cliPath, Daemon, deadPort, eventually, runCli, startDaemon, tempHome } from './helpers/processes.js';
import { get } from './reads/fixtures.js';

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A newcomer's first five minutes: `npm start` (serve) with no repo-recall running must say so in
 * one sentence that names the URL and the way out, everywhere a person looks; data must appear
 * within seconds of upstream coming up; people get words, machines get JSON.
 */

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function home(): Promise<string> {
  const h = await tempHome('lattice-first-run-');
  cleanups.push(() => h.cleanup());
  return h.dir;
}

function daemon(args: string[], env: Record<string, string> = {}): Daemon {
  const d = startDaemon(args, env);
  cleanups.push(() => d.stop('SIGKILL'));
  return d;
}

const ESC = '\x1b[';
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

/** The advice every "upstream is not there" message carries, for the URL on `port`. */
function expectUnreachableAdvice(text: string, port: number): void {
  expect(text).toContain(`cannot reach repo-recall at http://127.0.0.1:${port} (connection refused)`);
  expect(text).toContain(`npm run fake-recall -- --port ${port}`);
  expect(text).toContain('SESSION_LATTICE_REPO_RECALL_URL (--repo-recall-url)');
}

/** Starts a CLI command on a real pseudo-terminal (util-linux `script`), as a person at a terminal would. */
function startInTerminal(args: string[], env: Record<string, string> = {}): Daemon {
  const command = [process.execPath, cliPath(), ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  // A person's terminal: the colour switches of the machine running the tests (CI=true makes Node
  // report a 2-colour terminal, NO_COLOR / FORCE_COLOR) are not the user's.
  const { CI: _ci, NO_COLOR: _no, FORCE_COLOR: _force, ...inherited } = process.env;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { ...inherited, TERM: 'xterm-256color', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const d = new Daemon(child);
  cleanups.push(() => d.stop('SIGKILL'));
  return d;
}

/** What the terminal showed once `until` holds. */
async function shownUntil(terminal: Daemon, until: (shown: string) => boolean): Promise<string> {
  await terminal.waitFor((x) => until(x.stdout), 'the terminal to show what was expected');
  return terminal.stdout;
}

/** Runs a one-shot command on a terminal to its end; what the terminal showed. */
async function inTerminal(args: string[], env: Record<string, string> = {}): Promise<string> {
  const d = startInTerminal(args, env);
  await d.exited;
  return d.stdout;
}

describe('the first run without repo-recall', () => {
  it('serve says why in one sentence naming the URL and the way out, and /healthz, /views and status give the same reason', async () => {
    const dir = await home();
    const port = await deadPort();
    const serve = daemon(['serve', '--home', dir, '--port', '0', '--repo-recall-url', `http://127.0.0.1:${port}`, '--upstream-retries', '0']);
    await serve.waitFor((d) => d.logLines().some((l) => l.msg === 'tick' && l.tick === 'failed'), 'the first failed tick');
    const failed = serve.logLines().find((l) => l.msg === 'tick' && l.tick === 'failed')!;
    const error = String(failed.error);
    expectUnreachableAdvice(error, port);
    expect(failed.error_class).toBe('unreachable');
    // The first retry comes after a second, not after the refresh interval doubled.
    expect(failed.next_try_in_seconds).toBe(1);
    expect(typeof failed.next_try_at).toBe('string');

    // The puller child can fail its first tick before the reads server in front of it listens.
    await serve.waitFor((d) => d.logLines().some((l) => l.msg === 'listening'), 'the reads server listening');
    const url = String(serve.logLines().find((l) => l.msg === 'listening')!.url);
    // Retries follow within seconds: by the time /healthz is asked there may have been more failures.
    const reason = new RegExp(`the puller's last (tick failed \\(\\d in a row; failing after 3\\)|\\d+ ticks failed): ${escapeRegExp(error)}`);
    const health = await get(`${url}/healthz`);
    expect(health.status).toBe(503);
    expect(
      (health.json as HealthResponse).reasons.some((r) => reason.test(r)),
      (health.json as HealthResponse).reasons.join('\n'),
    ).toBe(true);
    // An error answer reads the puller's state the server keeps in memory (no I/O on the error
    // path), refreshed when status.json changes: it may trail /healthz's fresh read by a moment.
    const views = await eventually(async () => {
      const answer = await get(`${url}/views`);
      return reason.test((answer.json as ErrorResponse).error.message) ? answer : undefined;
    }, "/views giving the failed tick's reason");
    expect(views.status).toBe(503);
    expect((views.json as ErrorResponse).error.message).not.toContain('start the puller');

    const status = await runCli(['status', '--home', dir, '--json']);
    expect(status.code).toBe(1);
    const report = JSON.parse(status.stdout) as StatusReport;
    expect(['starting', 'failing']).toContain(report.health);
    expect(
      report.reasons.some((r) => reason.test(r)),
      report.reasons.join('\n'),
    ).toBe(true);
  });

  it('publishes within seconds of repo-recall coming up, without waiting out a grown backoff', async () => {
    const dir = await home();
    const port = await deadPort();
    const puller = daemon(['serve-puller', '--home', dir, '--repo-recall-url', `http://127.0.0.1:${port}`, '--upstream-retries', '0']);
    const failures = () => puller.logLines().filter((l) => l.msg === 'tick' && l.tick === 'failed');
    // Five failures in, the next scheduled try is 16 s away (1, 2, 4, 8, 16 s): the probe, every
    // 2 s, has 14 s of slack to win the race against it, however busy the machine.
    await puller.waitFor(() => failures().length >= 5, 'five failed ticks');
    const lastFailure = failures().at(-1)!;
    expect(lastFailure.next_try_in_seconds).toBe(16);
    expect(lastFailure.probing_upstream).toBe(true);

    const recall: FakeRecall = await startFakeRecall({ port, sessions: 50, seed: 3 });
    cleanups.push(() => recall.close());
    await puller.waitFor((d) => d.logLines().some((l) => l.msg === 'tick' && l.outcome === 'published'), 'a publish');
    // The probe woke the puller: it did not wait for the scheduled try.
    const lines = puller.logLines();
    const woke = lines.findIndex((l) => l.msg === 'repo-recall is reachable again; pulling now');
    const published = lines.findIndex((l) => l.msg === 'tick' && l.outcome === 'published');
    expect(woke).toBeGreaterThan(lines.indexOf(lastFailure));
    expect(published).toBeGreaterThan(woke);
    expect(failures()).toHaveLength(5);
    const status = await readPullerStatus(homePaths(dir).status);
    expect(status).toMatchObject({ last_tick_outcome: 'published', consecutive_failures: 0, generation: 1 });
  });
});

describe('words for people, JSON for machines', () => {
  it('a daemon in a terminal prints readable, coloured lines; NO_COLOR turns colour off; piped it prints JSON lines', async () => {
    const dir = await home();
    const port = await deadPort();
    const args = ['serve-puller', '--home', dir, '--repo-recall-url', `http://127.0.0.1:${port}`, '--upstream-retries', '0'];
    // The terminal session ends when the puller inside it does; the next one needs the home free.
    const stopPuller = async (terminal: Daemon) => {
      const status = await readPullerStatus(homePaths(dir).status);
      process.kill(status!.pid, 'SIGTERM');
      await terminal.exited;
    };

    const first = startInTerminal(args);
    const shown = await shownUntil(first, (s) => s.includes('Next try in'));
    await stopPuller(first);
    const text = stripAnsi(shown);
    expect(text).toMatch(/^\d\d:\d\d:\d\d puller +pulling http:\/\/127\.0\.0\.1:\d+ every 1 min into /m);
    expect(text).toMatch(
      /^\d\d:\d\d:\d\d puller +pull failed: cannot reach repo-recall at .*\. Next try in 1 s, or as soon as repo-recall accepts connections\.\r?$/m,
    );
    expect(shown).not.toContain('{"level"');
    expect(shown).toContain(`${ESC}31m`); // the failure in red

    const second = startInTerminal(args, { NO_COLOR: '1' });
    const plain = await shownUntil(second, (s) => s.includes('Next try in'));
    await stopPuller(second);
    expect(plain).not.toContain(ESC);
    expect(plain).toContain('pull failed: cannot reach repo-recall');

    // --log-format text when piped: words, no colour; auto when piped: JSON.
    const texted = daemon([...args, '--log-format', 'text'], { FORCE_COLOR: '' });
    await texted.waitFor((d) => d.stdout.includes('Next try in'), 'a readable failure line');
    expect(texted.stdout).not.toContain('{"level"');
    expect(texted.stdout).not.toContain(ESC);
    await texted.stop();
    const piped = daemon(args);
    await piped.waitFor((d) => d.logLines().some((l) => l.msg === 'tick'), 'a JSON tick line');
    expect(
      piped.stdout
        .split('\n')
        .filter((l) => l !== '')
        .every((l) => l.startsWith('{')),
    ).toBe(true);
  });

  it('pull prints one outcome sentence and no JSON; --json prints one JSON document and JSON log lines', async () => {
    const dir = await home();
    const port = await deadPort();
    const down = await runCli(['pull', '--home', dir, '--repo-recall-url', `http://127.0.0.1:${port}`]);
    expect(down.code).toBe(1);
    expect(down.stdout).toBe('');
    const lines = down.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error\[upstream\]: pull failed: cannot reach repo-recall/);
    expectUnreachableAdvice(lines[0]!, port);

    const recall = await startFakeRecall({ sessions: 40, seed: 2 });
    cleanups.push(() => recall.close());
    const ok = await runCli(['pull', '--home', dir, '--repo-recall-url', recall.url]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(
      new RegExp(`^published generation 1, loaded \\d+ sessions( \\(\\d+ rejected\\))? from scan 1, ${CATALOG.length} views refreshed in [\\d.]+ s\n$`),
    );

    await recall.setData({ sessions: 45, seed: 2 });
    const json = await runCli(['pull', '--home', dir, '--repo-recall-url', recall.url, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ outcome: 'published', generation: 2, upstream: 'loaded', scan_version: 2, views_failed: [] });
    const logLines = json.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logLines.some((l) => l.msg === 'tick' && l.outcome === 'published')).toBe(true);

    // In a terminal: a progress line that overwrites itself, then the sentence; no JSON.
    await recall.setData({ sessions: 50, seed: 2 });
    const shown = await inTerminal(['pull', '--home', dir, '--repo-recall-url', recall.url]);
    expect(shown).toMatch(/\r\x1b\[Kreceived [\d.]+ \/ [\d.]+ MiB, \d+ sessions/);
    expect(stripAnsi(shown)).toMatch(/published generation 3, loaded \d+ sessions/);
    expect(shown).not.toContain('{"');
  });

  it('status is coloured in a terminal, plain with NO_COLOR or when piped', async () => {
    const dir = await home();
    const coloured = await inTerminal(['status', '--home', dir]);
    expect(coloured).toContain(`${ESC}1m${ESC}31mSTARTING`);
    expect(await inTerminal(['status', '--home', dir], { NO_COLOR: '1' })).not.toContain(ESC);
    const piped = await runCli(['status', '--home', dir], { FORCE_COLOR: '' });
    expect(piped.stdout).toMatch(/^session-lattice status: STARTING/);
    expect(piped.stdout).not.toContain(ESC);
  });
});
