/**
 * Determinism tripwire: a whole rollout (test group, canary, soak, promote, converge) with the workflow cache
 * disabled, so every workflow task replays its history from the start. Its own file and server, because without
 * a cache the worker is much slower and time-skipping time is global to a server.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { rollout } from '../../workflows/rollout.js';
import { FakeFleet, testFleet } from '../helpers/fake-activities.js';
import { rolloutWorkflowBundle, testInput, withRolloutWorker } from '../helpers/rollout-harness.js';
import { startTimeSkippingServer, uniqueNames } from '../helpers/temporal.js';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;
before(async () => {
  env = await startTimeSkippingServer();
  bundle = await rolloutWorkflowBundle();
});
after(async () => {
  await env?.teardown();
});

function setup(title: string): { fake: FakeFleet; taskQueue: string; workflowId: string } {
  const { taskQueue, workflowId } = uniqueNames(title);
  return { fake: new FakeFleet(testFleet(`p-${taskQueue.slice(-8)}`)), taskQueue, workflowId: workflowId() };
}

// Opt-in until its stalls on a loaded 2-core machine are understood: the time-skipping server has been seen to stop
// advancing mid-run here, and a stalled test holds CI for its whole timeout. The committed-history replay tests
// guard determinism in every run meanwhile.
const tripwireSkip =
  process.env['ROLLOUT_TRIPWIRE'] === '1' ? false : 'set ROLLOUT_TRIPWIRE=1 to run the no-cache determinism tripwire';

test(
  'determinism tripwire: a rollout of one group replays every workflow task (no workflow cache)',
  { skip: tripwireSkip },
  async (t) => {
    const { fake, taskQueue, workflowId } = setup(t.name);
    const result = await withRolloutWorker(
      env,
      bundle,
      fake,
      taskQueue,
      async () =>
        env.client.workflow.execute(rollout, {
          taskQueue,
          workflowId,
          args: [testInput({ groups: 'presubmit', autoApprove: true, timing: { healthCheckInterval: '1 day' } })],
        }),
      { maxCachedWorkflows: 0 },
    );
    assert.equal(result.outcome, 'completed');
    assert.equal(result.counts.converged, 4);
    assert.deepEqual(
      result.approvals.map((approval) => approval.identity),
      ['auto-approve', 'auto-approve'],
    );
  },
);
