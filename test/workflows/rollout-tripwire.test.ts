/**
 * Determinism tripwire: a whole rollout (test group, canary, soak, promote, converge) with the workflow cache
 * disabled, so every workflow task replays its history from the start. On a dev server with durations of
 * seconds rather than the time-skipping server: replaying without a cache there ran into its history builder
 * ("invalid history builder state for action") and time stopped advancing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { rollout } from '../../workflows/rollout.js';
import { rolloutTest, rolloutWorkflowBundle, testInput, withRolloutWorker } from '../helpers/rollout-harness.js';
import { startDevServer } from '../helpers/temporal.js';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;
before(async () => {
  env = await startDevServer();
  bundle = await rolloutWorkflowBundle();
});
after(async () => {
  await env?.teardown();
});

test('determinism tripwire: a rollout of one group replays every workflow task (no workflow cache)', async (t) => {
  const { fake, taskQueue, workflowId } = rolloutTest(t.name);
  const result = await withRolloutWorker(
    env,
    bundle,
    fake,
    taskQueue,
    async () =>
      env.client.workflow.execute(rollout, {
        taskQueue,
        workflowId,
        args: [
          testInput({
            groups: 'presubmit',
            autoApprove: true,
            soak: '6 seconds',
            timing: {
              healthCheckInterval: '2 seconds',
              convergeInterval: '1 second',
              runnersReadyTimeout: '1 minute',
              maxHistoryEvents: 300,
            },
          }),
        ],
      }),
    { maxCachedWorkflows: 0 },
  );
  assert.equal(result.outcome, 'completed');
  assert.equal(result.counts.converged, 4);
  assert.deepEqual(
    result.approvals.map((approval) => approval.identity),
    ['auto-approve', 'auto-approve'],
  );
});
