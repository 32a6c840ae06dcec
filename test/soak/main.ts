/**
 * The soak: session-lattice as it lives on a user's machine for weeks, compressed into minutes.
 * The fake upstream changes its data every few seconds and injects faults at random; the puller
 * and the reads server run as separate processes; a load generator reads views (HTTP and /mcp)
 * continuously. Meanwhile: kill -9 the puller 10 times, restart the reads server 5 times, take
 * upstream down for a while, and serve one very large payload. Prints a table and exits non-zero
 * if anything was lost.
 *
 *   node dist/test/soak/main.js [--seconds 600] [--large-sessions 300000] [--record]
 *
 * --record writes the table into docs/benchmarks.md (the 10-minute form's last result).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { homePaths } from '../../src/shared/paths.js';
import type { PullerStatus } from '../../src/shared/status.js';
import { recordSection } from '../../bench/record.js';
import { describeMessiness } from '../fake-recall/generate.js';
import { FAULT_MODES, startFakeRecall, type FaultMode } from '../fake-recall/server.js';
import { Daemon, runCli, startDaemon, tempHome } from '../helpers/processes.js';
import { LoadGenerator } from './load.js';
import { DownableProxy, freePort } from './proxy.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '600' },
    'large-sessions': { type: 'string', default: '300000' },
    'base-sessions': { type: 'string', default: '2000' },
    record: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(values.seconds);
const LARGE = Number(values['large-sessions']);
const BASE = Number(values['base-sessions']);
for (const [flag, v] of [['--seconds', SECONDS], ['--large-sessions', LARGE], ['--base-sessions', BASE]] as const) {
  if (!Number.isInteger(v) || v <= 0) {
    process.stderr.write(`soak: ${flag} must be a positive integer\n`);
    process.exit(2);
  }
}

const log = (msg: string) => process.stderr.write(`[soak +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const at = (fraction: number) => t0 + fraction * SECONDS * 1000;
const until = (time: number) => sleep(Math.max(0, time - Date.now()));

const home = await tempHome('lattice-soak-');
const paths = homePaths(home.dir);
const recall = await startFakeRecall({ sessions: BASE, seed: 1 });
/** scan_version -> sessions a view of one row per session must hold for that scan. */
const expectedSessions = new Map<number, number>([[recall.scanVersion, describeMessiness({ sessions: BASE, seed: 1 }).validRows]]);
const proxy = new DownableProxy(await freePort(), recall.port);
await proxy.up();
const readsPort = await freePort();

const pullerArgs = [
  'serve-puller',
  '--home', home.dir,
  '--repo-recall-url', proxy.url,
  '--refresh-interval-seconds', '0.5',
  '--upstream-timeout-seconds', '3',
  '--upstream-retries', '1',
  '--max-payload-mb', '600',
];
const readsArgs = ['serve-reads', '--home', home.dir, '--port', String(readsPort)];

let puller = startDaemon(pullerArgs);
let reads = startDaemon(readsArgs);
let pullerStartedAt = Date.now();
let readsStartedAt = Date.now();
await reads.waitFor((d) => d.stdout.includes('"msg":"listening"'), 'reads listening');

const stopFile = join(home.dir, '.soak-stop');
const fileReader = new Daemon(
  spawn(process.execPath, [resolve(import.meta.dirname, '../helpers/reader-loop.js'), paths.published, stopFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  }),
);

const load = new LoadGenerator(`http://127.0.0.1:${readsPort}`, expectedSessions);
const loadDone = load.run(t0 + SECONDS * 1000, 4);

// --- upstream: new data every 3 s, a random fault every 5 s --------------------------------------
let dataChanges = 0;
let faultsInjected = 0;
let largeServed = false;
let largeDone: (at: number) => void = () => undefined;
/** Resolves with the time the large payload was published (or given up on). */
const largeSettled = new Promise<number>((resolve) => (largeDone = resolve));
let largeExpected = -1;
const faultModes = FAULT_MODES.filter((m) => m !== 'hang' || SECONDS >= 120) as FaultMode[];
async function upstreamChurn(): Promise<void> {
  let k = 2;
  while (Date.now() < at(0.95)) {
    await sleep(3000);
    if (Date.now() >= at(0.33) && !largeServed) {
      // After the kills, so one puller gets the time to load it whole.
      largeServed = true;
      log(`serving a payload of ${LARGE} sessions`);
      recall.setFault(null);
      await recall.setData({ sessions: LARGE, seed: 99 });
      largeExpected = describeMessiness({ sessions: LARGE, seed: 99 }).validRows;
      expectedSessions.set(recall.scanVersion, largeExpected);
      const scan = recall.scanVersion;
      while (Date.now() < at(0.85)) {
        if ((await readStatus())?.scan_version === scan) break;
        await sleep(250);
      }
      log(`large payload ${Date.now() < at(0.85) ? 'published' : 'not published in time'}`);
      largeDone(Date.now());
      continue;
    }
    const sessions = BASE + Math.floor(Math.random() * 500);
    await recall.setData({ sessions, seed: k });
    expectedSessions.set(recall.scanVersion, describeMessiness({ sessions, seed: k }).validRows);
    k++;
    dataChanges++;
    if (k % 2 === 0) {
      const mode = faultModes[Math.floor(Math.random() * faultModes.length)]!;
      recall.setFault(mode, { times: 1, oversizeBytes: 700 * 1024 * 1024, slowChunkBytes: 65536, slowIntervalMs: 10 });
      faultsInjected++;
    }
  }
}

async function readStatus(): Promise<PullerStatus | null> {
  return readFile(paths.status, 'utf8')
    .then((t) => JSON.parse(t) as PullerStatus)
    .catch(() => null);
}

// --- the puller: kill -9 ten times, trying a second puller before each kill ---------------------
let kills = 0;
let secondTried = 0;
let secondRefused = 0;
async function pullerKills(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await until(at(0.04 + (0.27 * i) / 10) + Math.random() * 1000);
    // Only once the running puller holds the home (it has written its status) is a refusal owed.
    for (const deadline = Date.now() + 60_000; (await readStatus())?.pid !== puller.pid && Date.now() < deadline; ) await sleep(50);
    const second = await runCli(['pull', '--home', home.dir, '--repo-recall-url', proxy.url]);
    secondTried++;
    if (second.code === 1 && second.stderr.includes(`(PID ${puller.pid})`)) secondRefused++;
    else log(`second puller NOT refused: code ${second.code} ${second.stderr.trim()}`);
    puller.child.kill('SIGKILL');
    await puller.exited;
    kills++;
    puller = startDaemon(pullerArgs);
    pullerStartedAt = Date.now();
  }
}

// --- the reads server: five restarts on the same port -------------------------------------------
let readsRestarts = 0;
async function readsRestartsLoop(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await until(at(0.06 + (0.24 * i) / 5));
    load.readsDown = true;
    await reads.stop('SIGTERM');
    reads = startDaemon(readsArgs);
    await reads.waitFor((d) => d.stdout.includes('"msg":"listening"'), 'reads listening again');
    readsStartedAt = Date.now();
    load.readsDown = false;
    readsRestarts++;
  }
}

async function upstreamOutage(): Promise<number> {
  await until(at(0.15));
  const seconds = Math.max(5, SECONDS * 0.06);
  log(`upstream down for ${seconds.toFixed(0)} s`);
  await proxy.down();
  await sleep(seconds * 1000);
  await proxy.up();
  log('upstream back');
  return seconds;
}

// --- resources: RSS and open descriptors after warm-up and at the end --------------------------
interface Resources {
  rssMb: number;
  fds: number;
}
async function resources(pid: number): Promise<Resources> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  return { rssMb: rss, fds: (await readdir(`/proc/${pid}/fd`)).length };
}

const outage = upstreamOutage();
// The data keeps changing to the end; the one-off events (kills, restarts, the outage, the large
// payload) are over by about 60% of the run, and resources are compared over the rest.
const churn = upstreamChurn();
const [, , , largeAt] = await Promise.all([pullerKills(), readsRestartsLoop(), outage, largeSettled]);
// Warm-up measurement: the events are over, both daemons have been up a while, and the readers
// have moved past the large generation (on a loaded machine its tick can run late).
await until(Math.min(at(0.9), Math.max(at(0.65), largeAt + 5000, pullerStartedAt + 5000, readsStartedAt + 5000)));
// Resources sampled every second from warm-up to the end.
const samples: Array<{ puller: Resources; reads: Resources }> = [];
const warmAt = Date.now();
while (Date.now() < t0 + SECONDS * 1000) {
  samples.push({ puller: await resources(puller.pid), reads: await resources(reads.pid) });
  await sleep(1000);
}
await loadDone;
samples.push({ puller: await resources(puller.pid), reads: await resources(reads.pid) });
await churn;
// Memory rises and falls with every tick and every generation switch: a leak shows as the peaks
// climbing, so the first half's peak is compared with the second half's.
const peak = (part: typeof samples, who: 'puller' | 'reads'): Resources => ({
  rssMb: Math.max(...part.map((x) => x[who].rssMb)),
  fds: Math.max(...part.map((x) => x[who].fds)),
});
const half = Math.max(1, Math.floor(samples.length / 2));
const warm = { puller: peak(samples.slice(0, half), 'puller'), reads: peak(samples.slice(0, half), 'reads') };
const end = { puller: peak(samples.slice(half), 'puller'), reads: peak(samples.slice(half), 'reads') };

await writeFile(stopFile, '');
await fileReader.exited;
const status = JSON.parse(await readFile(paths.status, 'utf8')) as PullerStatus;
const pullerExit = await puller.stop('SIGTERM');
const readsExit = await reads.stop('SIGTERM');
const leftovers = (await readdir(home.dir)).filter((n) => n.includes('.tmp'));
const pullerLeftovers = (await readdir(paths.pullerDir)).filter((n) => n.includes('.tmp') || n.startsWith('incoming'));
await recall.close();
await proxy.down();

const opens = fileReader.logLines() as Array<{ generation?: number; declared?: number; error?: string; missing?: boolean }>;
const largePublished = opens.some((o) => o.declared === largeExpected);
let openBackwards = 0;
let lastOpen = 0;
let firstPublished = false;
let missingAfterPublish = 0;
for (const o of opens) {
  if (o.generation !== undefined) {
    if (o.generation < lastOpen) openBackwards++;
    lastOpen = o.generation;
    firstPublished = true;
  } else if (o.missing && firstPublished) missingAfterPublish++;
}
const openErrors = opens.filter((o) => o.error !== undefined);

const growth = (a: number, b: number) => (a > 0 ? (b - a) / a : 0);
const checks: Array<[string, string, boolean]> = [
  ['duration', `${((Date.now() - t0) / 1000).toFixed(0)} s`, true],
  ['requests served (HTTP + MCP)', `${load.ok} (${load.mcpOk} MCP)`, load.ok > 0 && load.mcpOk > 0],
  ['requests failed while reads was up', String(load.failed.length), load.failed.length === 0],
  ['requests failed while reads was restarting (allowed)', String(load.failedWhileDown), true],
  ['responses whose rows did not match their generation', String(load.mismatches.length), load.mismatches.length === 0],
  ['responses whose generation went backwards', String(load.backwards), load.backwards === 0],
  ['generations published', String(status.generation ?? 0), (status.generation ?? 0) >= 5],
  ['generations seen by readers', String(load.generations.size), load.generations.size >= 3],
  ['opens of the published file (separate process)', String(opens.length), opens.length > 0],
  ['torn or unopenable published file', String(openErrors.length + missingAfterPublish), openErrors.length + missingAfterPublish === 0],
  ['published generation went backwards', String(openBackwards), openBackwards === 0],
  ['puller kill -9 / restarts', String(kills), kills === 10],
  ['second puller refused', `${secondRefused}/${secondTried}`, secondTried === 10 && secondRefused === secondTried],
  ['reads restarts', String(readsRestarts), readsRestarts === 5],
  ['upstream outage', `${(await outage).toFixed(0)} s`, true],
  [`large payload (${LARGE} sessions) published`, String(largePublished), largePublished],
  ['data changes / faults injected', `${dataChanges} / ${faultsInjected}`, dataChanges > 0],
  [
    `puller RSS after warm-up -> end (${((Date.now() - warmAt) / 1000).toFixed(0)} s)`,
    `${warm.puller.rssMb.toFixed(0)} -> ${end.puller.rssMb.toFixed(0)} MB (${(growth(warm.puller.rssMb, end.puller.rssMb) * 100).toFixed(1)}%)`,
    growth(warm.puller.rssMb, end.puller.rssMb) < 0.1,
  ],
  [
    'reads RSS after warm-up -> end',
    `${warm.reads.rssMb.toFixed(0)} -> ${end.reads.rssMb.toFixed(0)} MB (${(growth(warm.reads.rssMb, end.reads.rssMb) * 100).toFixed(1)}%)`,
    growth(warm.reads.rssMb, end.reads.rssMb) < 0.1,
  ],
  ['puller open fds warm-up -> end', `${warm.puller.fds} -> ${end.puller.fds}`, end.puller.fds <= warm.puller.fds + 8],
  ['reads open fds warm-up -> end', `${warm.reads.fds} -> ${end.reads.fds}`, end.reads.fds <= warm.reads.fds + 8],
  ['clean exits on SIGTERM (puller, reads)', `${pullerExit.code}, ${readsExit.code}`, pullerExit.code === 0 && readsExit.code === 0],
  ['temp files left behind', String(leftovers.length + pullerLeftovers.length), leftovers.length + pullerLeftovers.length === 0],
];

if (values.record) {
  await recordSection(
    'soak',
    [
      `## Soak: ${SECONDS} s, ${LARGE.toLocaleString('en-US')}-session large payload`,
      '',
      '`npm run soak -- --seconds ' + SECONDS + ' --record`: the fake upstream changing every 3 s with a random fault every',
      'other change, the puller and the reads server as separate processes, four readers over HTTP and /mcp.',
      '',
      '| check | value | ok |',
      '|---|---|---|',
      ...checks.map(([name, value, ok]) => `| ${name} | ${value} | ${ok ? 'yes' : 'NO'} |`),
    ].join('\n'),
  );
}

const width = Math.max(...checks.map(([name]) => name.length));
process.stdout.write(`\n${'check'.padEnd(width)}  ${'value'.padEnd(28)}  ok\n`);
for (const [name, value, ok] of checks) process.stdout.write(`${name.padEnd(width)}  ${value.padEnd(28)}  ${ok ? 'yes' : 'NO'}\n`);
for (const m of load.mismatches.slice(0, 5)) process.stdout.write(`mismatch: ${m}\n`);
for (const f of load.failed.slice(0, 5)) process.stdout.write(`failed: ${f}\n`);
for (const e of openErrors.slice(0, 5)) process.stdout.write(`open error: ${e.error}\n`);
const failedChecks = checks.filter(([, , ok]) => !ok).length;
// Not the "N passed, N failed" form: that line belongs to the test runner's summary.
process.stdout.write(`\nsoak checks: ${checks.length - failedChecks} ok, ${failedChecks} not ok\n`);
await home.cleanup();
process.exit(failedChecks === 0 ? 0 : 1);
