/**
 * Health observations travel with the rollout: every canary health check gets what the previous check of the same
 * MIG saw, cut to the newest MAX_OBSERVED_CANARY_VMS, also across continue-as-new.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rollout } from '../../workflows/rollout.js';
import { MAX_OBSERVED_CANARY_VMS, statusQuery } from '../../workflows/rollout-contract.js';
import { recordHistory, rolloutTest, perTestServer, testInput, withRolloutWorker } from '../helpers/rollout-harness.js';

const server = perTestServer();

test('health checks hand their observations to the next check, bounded, also across continue-as-new', async (t) => {
  const { fake, taskQueue, workflowId } = rolloutTest(t.name);
  // More new canary VMs per check than the rollout keeps after three checks: the carry must be cut to the newest.
  fake.canaryVmsPerCheck = 40;
  const { result, state } = await withRolloutWorker(server.env, server.bundle, fake, taskQueue, async () => {
    const handle = await server.env.client.workflow.start(rollout, {
      taskQueue,
      workflowId,
      args: [
        testInput({
          environments: ['prod'],
          groups: 'presubmit',
          types: 'cpu',
          autoPromote: true,
          timing: { healthCheckInterval: '6 hours', maxHistoryEvents: 80 },
        }),
      ],
    });
    const result = await handle.result();
    await recordHistory(
      server.env.client,
      'rollout-health-observations-first-run',
      workflowId,
      handle.firstExecutionRunId,
    );
    return { result, state: await handle.query(statusQuery) };
  });
  assert.equal(result.outcome, 'completed');
  assert.ok(state.continuedAsNew >= 1, `continued as new ${state.continuedAsNew} times`);
  const migs = [...new Set(fake.healthChecks.map((check) => check.mig))];
  assert.equal(migs.length, 2, 'presubmit cpu in two regions');
  for (const mig of migs) {
    const checks = fake.healthChecks.filter((check) => check.mig === mig);
    assert.ok(checks.length >= 6, `${mig}: ${checks.length} checks over a 3-day soak at 6-hour intervals`);
    assert.equal(checks[0]?.previous, undefined, `${mig}: the first check has nothing to pass on`);
    checks.slice(1).forEach((check, index) => {
      const before = checks[index]!.returned.vms.slice(-MAX_OBSERVED_CANARY_VMS);
      assert.deepEqual(check.previous, { vms: before }, `${mig}: check ${index + 2} gets what check ${index + 1} saw`);
    });
    assert.equal(checks.at(-1)?.previous?.vms.length, MAX_OBSERVED_CANARY_VMS, `${mig}: carry bounded`);
  }
});
