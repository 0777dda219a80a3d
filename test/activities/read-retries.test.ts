/**
 * Activities that make several reads per attempt retry each transient read within the attempt, so one 5xx or rate
 * limit among them does not fail the attempt: convergence, the drain's listings and waitForRunners' polls.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RolloutActivities } from '../../activities/contract.js';
import { grow, injectedFaults, startActivityFixture, tenPercentFailing, type ActivityFixture } from './fixture.js';

const OLD = '0000000000-aaa';
const mig = { region: 'us-west1', name: 'gh-runner-presubmit-cpu-us-west1' };
const template = `gh-runner-presubmit-cpu-${OLD}`;
/**
 * At 10% failures per call, 20 attempts of four or more reads each, or 40 of a drain's two or more, all pass
 * without retries about 1 in 4,000 times.
 */
const ATTEMPTS = 20;

let fx: ActivityFixture;

before(async () => {
  fx = await startActivityFixture({ jobRates: [{ perHour: 0, meanDurationMinutes: 30 }] });
  await grow(fx, mig, 3);
});
after(async () => {
  await fx.close();
});

/** Runs one activity `attempts` times under 10% API failures; returns the messages of the attempts that failed. */
async function underFaults<K extends keyof RolloutActivities>(
  name: K,
  args: Parameters<RolloutActivities[K]>,
  attempts = ATTEMPTS,
): Promise<string[]> {
  const failed: string[] = [];
  fx.sim.control.resetCounters();
  fx.sim.control.setFaults({ endpoints: tenPercentFailing() });
  try {
    for (let attempt = 0; attempt < attempts; attempt++) {
      try {
        await fx.run(name, ...args);
      } catch (error) {
        failed.push((error as Error).message);
      }
    }
  } finally {
    fx.sim.control.clearFaults();
  }
  assert.ok(injectedFaults(fx) >= 5, `the attempts met failures (${injectedFaults(fx)} injected)`);
  return failed;
}

test('convergence completes every check with 10% of calls failing', async () => {
  assert.deepEqual(await underFaults('convergence', [{ mig, targetTemplate: template }]), []);
  const progress = await fx.run('convergence', { mig, targetTemplate: template });
  assert.equal(progress.instancesOnTarget, 3);
  assert.equal(progress.runnersOnTarget, 3);
});

test("a drain's listings complete with 10% of calls failing", async () => {
  assert.deepEqual(await underFaults('drainIdleRunners', [{ mig, dryRun: true }], 2 * ATTEMPTS), []);
});

test("waitForRunners' polls complete with 10% of calls failing", async () => {
  assert.deepEqual(await underFaults('waitForRunners', [{ mig, template, count: 3 }]), []);
});
