import { afterAll, afterEach, beforeEach } from 'vitest';
import { enterTest, killStragglers, removeTempHomes } from './processes.js';

/**
 * Runs in every test file (vitest.config.ts `setupFiles`), around the file's own hooks: its
 * afterEach/afterAll run after the file's (hooks run as a stack), so they only find what the
 * file's own cleanup missed, typically because a test failed half-way. Whatever a test spawned
 * through test/helpers/processes.ts and left running is SIGKILLed with its process tree and
 * waited for; daemons started in a beforeAll are left to the file until its end.
 */

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
