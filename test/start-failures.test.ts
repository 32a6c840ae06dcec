import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { homePaths } from '../src/shared/paths.js';
import { readPullerStatus } from '../src/shared/status.js';
import { startFakeRecall, type FakeRecall } from './fake-recall/server.js';
import { alive, cliPath, Daemon, descendants, eventually, runCli, startDaemon, tempHome, WAIT_MS } from './helpers/processes.js';
import { hasStrace } from './helpers/strace.js';

/**
 * A start that cannot succeed fails at once (src/cli/preflight.ts): `serve` with a bad pricing
 * file, a home it cannot write or a port in use exits with one sentence, before its puller child
 * starts or anything is written to the home; the first SIGTERM stops `serve` whatever it is doing;
 * a supervised `serve-puller` whose open fails exits; `pull --json` always prints one document.
 * Not timed: each wait has the helpers' generous deadline, and a process still alive after it is
 * the failure (these used to hang for good).
 */

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** A temp directory; the home used is a path inside it that does not exist yet. */
async function scratch(): Promise<string> {
  const h = await tempHome('lattice-start-');
  cleanups.push(() => h.cleanup());
  return h.dir;
}

const DEAD_UPSTREAM = 'http://127.0.0.1:9';

/** Kills `d` with its whole tree: strace killed alone would leave the node it traces running. */
async function killTree(d: Daemon): Promise<void> {
  for (const pid of descendants(d.pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await d.stop('SIGKILL');
}

function daemon(args: string[], wrapper: string[] = []): Daemon {
  const d = startDaemon(args, {}, wrapper);
  cleanups.push(() => killTree(d));
  return d;
}

/**
 * `serve <args>`, under strace when it is there, recording every program the process tree runs:
 * `pullerStarts()` lists the `serve-puller` children it started (null without strace).
 */
function tracedServe(dir: string, args: string[]): { d: Daemon; pullerStarts(): Promise<string[] | null> } {
  const trace = join(dir, 'exec.trace');
  const traced = hasStrace();
  const d = daemon(['serve', ...args], traced ? ['strace', '-f', '-qq', '--seccomp-bpf', '-e', 'trace=execve', '-o', trace] : []);
  return {
    d,
    pullerStarts: async () => (traced ? (await readFile(trace, 'utf8')).split('\n').filter((l) => l.includes('"serve-puller"')) : null),
  };
}

/** No `serve-puller` was started (checked where strace runs). */
async function expectNoPuller(pullerStarts: () => Promise<string[] | null>): Promise<void> {
  const starts = await pullerStarts();
  if (starts !== null) expect(starts).toEqual([]);
}

/** Waits for the exit; a process still running after the deadline fails the test, with its output. */
async function exitOf(d: Daemon, what: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), WAIT_MS)));
  const result = await Promise.race([d.exited, late]);
  clearTimeout(timer);
  if (result === null) throw new Error(`${what}: still running after ${WAIT_MS} ms\nstdout:\n${d.stdout}\nstderr:\n${d.stderr}`);
  return result;
}

/** The one line a refused start prints (and nothing else on stderr). */
function oneSentence(d: Daemon): string {
  const lines = d.stderr.trim().split('\n');
  expect(lines, d.stderr).toHaveLength(1);
  expect(lines[0]).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

async function holdPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return { server, port: address.port };
}

/** Mounts a read-only tmpfs at a new directory under `dir`; null where mounting is not allowed. */
async function readOnlyMount(dir: string): Promise<string | null> {
  const mountPoint = join(dir, 'ro');
  await mkdir(mountPoint);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', mountPoint], { stdio: 'ignore' });
  } catch {
    return null;
  }
  cleanups.push(async () => execFileSync('umount', [mountPoint], { stdio: 'ignore' }));
  return mountPoint;
}

describe('serve: a start that cannot succeed exits at once, starting nothing and writing nothing', () => {
  it.each([
    ['is missing', null],
    ['is not JSON', '{"models": ['],
    ['is JSON of another shape', '{"prices": {"claude-x": 3}}'],
  ] as const)('a pricing file that %s: exit 2, one sentence naming the setting', async (_what, text) => {
    const dir = await scratch();
    const file = join(dir, 'prices.json');
    if (text !== null) await writeFile(file, text);
    const home = join(dir, 'home');
    const { d, pullerStarts } = tracedServe(dir, ['--home', home, '--port', '0', '--repo-recall-url', DEAD_UPSTREAM, '--pricing-file', file]);
    const { code } = await exitOf(d, 'serve with a bad pricing file');
    expect(code, d.stderr).toBe(2);
    const sentence = oneSentence(d);
    expect(sentence).toContain(`error[config]: SESSION_LATTICE_PRICING_FILE (--pricing-file) ${file} `);
    if (text === null) expect(sentence).toContain('cannot be read: ENOENT');
    else expect(sentence).toMatch(/is not valid JSON|is not a valid price table/);
    expect(existsSync(home)).toBe(false);
    await expectNoPuller(pullerStarts);
  });

  it('a home on a read-only file system: exit 1 naming EROFS, for a home to create and for one that exists', async (ctx) => {
    const dir = await scratch();
    const ro = await readOnlyMount(dir);
    if (ro === null) return ctx.skip();
    for (const [home, call] of [
      [join(ro, 'home'), 'mkdir'],
      [ro, 'access'],
    ] as const) {
      const { d, pullerStarts } = tracedServe(dir, ['--home', home, '--port', '0', '--repo-recall-url', DEAD_UPSTREAM]);
      const { code } = await exitOf(d, 'serve with a read-only home');
      expect(code, d.stderr).toBe(1);
      const sentence = oneSentence(d);
      expect(sentence).toContain(`error[home]: SESSION_LATTICE_HOME (--home) ${home} `);
      expect(sentence).toContain(`EROFS: read-only file system, ${call} '${home}'`);
      await expectNoPuller(pullerStarts);
    }
  });

  it('a home under a file: exit 1 naming ENOTDIR', async () => {
    const dir = await scratch();
    await writeFile(join(dir, 'a-file'), '');
    const home = join(dir, 'a-file', 'home');
    const { d } = tracedServe(dir, ['--home', home, '--port', '0', '--repo-recall-url', DEAD_UPSTREAM]);
    const { code } = await exitOf(d, 'serve with a home under a file');
    expect(code, d.stderr).toBe(1);
    expect(oneSentence(d)).toContain(`error[home]: SESSION_LATTICE_HOME (--home) ${home} cannot be used: ENOTDIR`);
  });

  it('its port in use: exit 1 naming the port and EADDRINUSE; no puller ran and the home is untouched', async () => {
    const dir = await scratch();
    const { port } = await holdPort();
    const home = join(dir, 'home');
    const { d, pullerStarts } = tracedServe(dir, ['--home', home, '--port', String(port), '--repo-recall-url', DEAD_UPSTREAM]);
    const { code } = await exitOf(d, 'serve with its port in use');
    expect(code, d.stderr).toBe(1);
    const sentence = oneSentence(d);
    expect(sentence).toMatch(/^error\[port\]: /);
    expect(sentence).toContain(`cannot listen on 127.0.0.1:${port}`);
    expect(sentence).toContain('SESSION_LATTICE_PORT (--port)');
    expect(sentence).toContain('EADDRINUSE');
    expect(existsSync(home)).toBe(false);
    await expectNoPuller(pullerStarts);
  });
});

describe('a puller that cannot open exits, alone or under serve', () => {
  it('serve-puller on an IPC channel (as serve runs it) exits 1 when its open fails, and so does serve', async () => {
    const dir = await scratch();
    // An open that fails after preflight passes: another puller holds the working database. (A
    // broken working database no longer fails the open: it is moved aside and rebuilt.)
    const holder = daemon(['serve-puller', '--home', dir, '--repo-recall-url', DEAD_UPSTREAM]);
    await holder.waitFor((x) => x.logLines().some((l) => l.msg === 'started'), 'the puller holding the home to start');
    const child = spawn(process.execPath, [cliPath(), 'serve-puller', '--home', dir, '--repo-recall-url', DEAD_UPSTREAM], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const supervised = new Daemon(child);
    cleanups.push(() => killTree(supervised));
    const { code } = await exitOf(supervised, 'a supervised serve-puller whose open failed');
    expect(code, supervised.stderr).toBe(1);
    expect(supervised.stderr).toContain(`(PID ${holder.pid})`);

    const d = daemon(['serve', '--home', dir, '--port', '0', '--repo-recall-url', DEAD_UPSTREAM]);
    const serveExit = await exitOf(d, 'serve whose puller could not open');
    expect(serveExit.code, d.stderr).toBe(1);
    expect(d.stderr).toContain(`(PID ${holder.pid})`);
    expect(d.logLines().some((l) => l.msg === 'listening')).toBe(false);
  });
});

describe('the first SIGTERM stops serve, whatever it is doing', () => {
  it('while its puller child is starting: exit 0, the child gone', async () => {
    const dir = await scratch();
    const d = daemon(['serve', '--home', dir, '--port', '0', '--repo-recall-url', DEAD_UPSTREAM]);
    const child = await eventually(() => descendants(d.pid)[0], 'the puller child to be spawned');
    d.child.kill('SIGTERM');
    const { code } = await exitOf(d, 'serve signalled while its puller starts');
    expect(code, d.stderr).toBe(0);
    expect(alive(child)).toBe(false);
  });

  it('while it restarts a puller that keeps failing to start: the failed child exits, and serve stops with exit 0', async () => {
    const recall: FakeRecall = await startFakeRecall({ sessions: 30, seed: 4 });
    cleanups.push(() => recall.close());
    const dir = await scratch();
    const home = join(dir, 'home');
    const prices = join(dir, 'prices.json');
    await writeFile(prices, '{"models": []}');
    const d = daemon(['serve', '--home', home, '--port', '0', '--repo-recall-url', recall.url, '--refresh-interval-seconds', '3600', '--pricing-file', prices]);
    await d.waitFor((x) => x.logLines().some((l) => l.msg === 'listening'), 'serve to listen');
    const first = await eventually(async () => (await readPullerStatus(homePaths(home).status).catch(() => null))?.pid, 'the puller status');

    // Every restart now fails at start, on the pricing file: serve is in its restart loop.
    await writeFile(prices, 'not a price table');
    process.kill(first, 'SIGKILL');
    const restarts = () => d.logLines().filter((l) => l.msg === 'the puller process exited; restarting it');
    await d.waitFor(() => restarts().length >= 2, 'a restarted puller to fail and exit');
    expect(restarts()[1]).toMatchObject({ code: 2 });
    expect(String(restarts()[1]!.stderr)).toContain('SESSION_LATTICE_PRICING_FILE (--pricing-file)');

    const before = descendants(d.pid);
    d.child.kill('SIGTERM');
    const { code } = await exitOf(d, 'serve signalled while restarting its puller');
    expect(code, d.stderr).toBe(0);
    for (const pid of before) expect(alive(pid), `pid ${pid}`).toBe(false);
  });
});

describe('pull --json prints one JSON document whatever stops it', () => {
  const documentOf = (stdout: string) => {
    const lines = stdout.trim().split('\n');
    expect(lines, stdout).toHaveLength(1);
    return JSON.parse(lines[0]!) as { outcome: string; error: string; error_class?: string };
  };

  it('when another puller holds the home (run by serve: the advice is to stop that serve), and on a bad pricing file or setting', async () => {
    const recall: FakeRecall = await startFakeRecall({ sessions: 30, seed: 4 });
    cleanups.push(() => recall.close());
    const dir = await scratch();
    const d = daemon(['serve', '--home', dir, '--port', '0', '--repo-recall-url', recall.url, '--refresh-interval-seconds', '3600']);
    await d.waitFor((x) => x.logLines().some((l) => l.msg === 'listening'), 'serve to listen');
    const puller = await eventually(async () => (await readPullerStatus(homePaths(dir).status).catch(() => null))?.pid, 'the puller status');

    const locked = await runCli(['pull', '--home', dir, '--repo-recall-url', recall.url, '--json']);
    expect(locked.code, locked.stderr).toBe(1);
    const doc = documentOf(locked.stdout);
    expect(doc).toMatchObject({ outcome: 'failed', error_code: 'locked', error_class: 'locked' });
    expect(doc.error).toContain(`(PID ${puller})`);
    expect(doc.error).toContain(`supervised by session-lattice serve (PID ${d.pid})`);
    expect(doc.error).toContain(`kill ${d.pid}`);
    expect(doc.error).not.toContain(`kill ${puller}`);

    // A second serve on the home says the same, through its refused puller.
    const second = daemon(['serve', '--home', dir, '--port', '0', '--repo-recall-url', recall.url]);
    expect((await exitOf(second, 'a second serve on the home')).code).toBe(1);
    expect(second.stderr).toContain(`stop that serve first (Ctrl-C where it runs, or kill ${d.pid})`);
    expect(second.stderr).toMatch(/^error\[locked\]: another session-lattice puller/m);

    const badPrices = await runCli(['pull', '--home', join(dir, 'other'), '--repo-recall-url', recall.url, '--json', '--pricing-file', join(dir, 'none.json')]);
    expect(badPrices.code).toBe(2);
    expect(documentOf(badPrices.stdout)).toMatchObject({ outcome: 'failed', error_code: 'config', error_class: 'config' });

    const badSetting = await runCli(['pull', '--home', dir, '--json'], { SESSION_LATTICE_REFRESH_INTERVAL_SECONDS: 'often' });
    expect(badSetting.code).toBe(2);
    const settingDoc = documentOf(badSetting.stdout);
    expect(settingDoc).toMatchObject({ outcome: 'failed', error_code: 'config', error_class: 'config' });
    expect(settingDoc.error).toContain('SESSION_LATTICE_REFRESH_INTERVAL_SECONDS="often" is not valid');
  });
});
