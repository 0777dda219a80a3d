/**
 * A soak's health round checks its canaries in groups, one activity per group: a canary whose check cannot run is
 * shown as such and checked again next round, without holding up or failing the others.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rollout } from '../../workflows/rollout.js';
import type { RolloutResult, RolloutState } from '../../workflows/rollout-contract.js';
import { approveUpdate } from '../../workflows/rollout-controls-contract.js';
import { rolloutTest, perTestServer, testInput, waitForState, withRolloutWorker } from '../helpers/rollout-harness.js';
import type { FakeFleet } from '../helpers/fake-fleet.js';

const server = perTestServer();

async function soakWithFailingCheck(
  name: string,
  failures: number,
): Promise<{
  result: RolloutResult;
  atPromoteGate: RolloutState;
  fake: FakeFleet;
  failing: string;
  other: string;
  activityTypes: string[];
}> {
  const { fake, taskQueue, workflowId } = rolloutTest(name);
  const [failing, other] = [...fake.migs.keys()].filter(
    (mig) => mig.includes('-presubmit-cpu-') && !mig.includes('testing'),
  );
  assert.ok(failing !== undefined && other !== undefined, 'presubmit cpu in two regions');
  fake.failures.set(`canaryHealth:${failing}`, failures);
  return withRolloutWorker(server.env, server.bundle, fake, taskQueue, async () => {
    const handle = await server.env.client.workflow.start(rollout, {
      taskQueue,
      workflowId,
      args: [
        testInput({
          environments: ['prod'],
          groups: 'presubmit',
          types: 'cpu',
          timing: { healthCheckInterval: '12 hours' },
        }),
      ],
    });
    // Promotion and convergence clear a MIG's problems: the soak's are looked at where it ends.
    await server.env.sleep('80 hours');
    const atPromoteGate = await waitForState(
      handle,
      (state) => state.gate?.kind === 'promote-approval',
      'promote gate',
    );
    await handle.executeUpdate(approveUpdate, { args: [{ stage: 'promote', identity: 'carol', reason: 'soaked' }] });
    const result = await handle.result();
    const history = await handle.fetchHistory();
    const activityTypes = (history.events ?? []).flatMap((event) => {
      const type = event.activityTaskScheduledEventAttributes?.activityType?.name;
      return type === undefined || type === null ? [] : [type];
    });
    return { result, atPromoteGate, fake, failing, other, activityTypes };
  });
}

function checksOf(fake: FakeFleet, mig: string): number {
  return fake.healthChecks.filter((check) => check.mig === mig).length;
}

test('a canary whose check never runs is shown as such; the rollout goes on with the others checked', async (t) => {
  const { result, atPromoteGate, fake, failing, other, activityTypes } = await soakWithFailingCheck(t.name, 1000);
  assert.equal(result.outcome, 'completed', 'a check that cannot run is no evidence against the canary');
  assert.ok(activityTypes.includes('canaryHealthRound'));
  assert.ok(!activityTypes.includes('canaryHealth'), 'no check runs as an activity of its own');
  assert.equal(checksOf(fake, failing), 0);
  assert.ok(checksOf(fake, other) >= 6, `${other}: ${checksOf(fake, other)} rounds over a 3-day soak`);
  const shown = atPromoteGate.migs.find((mig) => mig.name === failing)?.problem;
  assert.match(shown ?? '', /^health check failed: injected failure of canaryHealth on /);
  assert.equal(atPromoteGate.migs.find((mig) => mig.name === other)?.problem, undefined);
});

test('a check that failed once is checked again next round, and its problem goes once it has run', async (t) => {
  const { result, atPromoteGate, fake, failing, other } = await soakWithFailingCheck(t.name, 1);
  assert.equal(result.outcome, 'completed');
  assert.equal(checksOf(fake, failing), checksOf(fake, other) - 1, 'one round missed it, none retried it at once');
  assert.equal(atPromoteGate.migs.find((mig) => mig.name === failing)?.problem, undefined);
});
