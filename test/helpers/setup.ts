import { afterAll, afterEach, beforeEach } from 'vitest';
import { enterTest, killStragglers, removeTempHomes } from './processes.js';

/**
 * Runs in every test file (vitest.config.ts `setupFiles`), around the file's own hooks: its
 * afterEach/afterAll run after the file's (hooks run as a stack), so they only find what the
 * file's own cleanup missed, typically because a test failed half-way. Whatever a test spawned
 * through test/helpers/processes.ts and left running is SIGKILLed with its process tree and
 * waited for; daemons started in a beforeAll are left to the file until its end.
 */

/*
 * Every process the suite starts reads no Claude Code transcripts unless its test says which: the
 * machine running the suite may have its own (~/.claude/projects), and a puller that read them would
 * not fail where a test expects a failing repo-recall to fail the tick. Set here, in the test
 * process's own environment, so that children spawned without the helpers inherit it too.
 */
process.env.SESSION_LATTICE_TRANSCRIPTS ??= 'off';

beforeEach((ctx) => {
  enterTest(ctx.task.id);
});

afterEach(async (ctx) => {
  const killed = await killStragglers('current-test');
  enterTest(null);
  if (killed.length > 0) process.stderr.write(`[setup] killed what "${ctx.task.name}" left running: ${killed.join(', ')}\n`);
});

afterAll(async () => {
  const killed = await killStragglers('all');
  if (killed.length > 0) process.stderr.write(`[setup] killed what this file left running: ${killed.join(', ')}\n`);
  await removeTempHomes();
});
