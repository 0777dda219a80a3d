import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities/index.js';
import type { getAutoscalingWithRetries } from '../fixtures/workflows/activity-retry.js';
import { startTimeSkippingServer, uniqueNames } from '../helpers/temporal.js';
import { startActivityFixture, type ActivityFixture } from './fixture.js';

const workflowsPath = fileURLToPath(new URL('../fixtures/workflows/activity-retry.ts', import.meta.url));

let env: TestWorkflowEnvironment;
let fx: ActivityFixture;

before(async () => {
  [env, fx] = await Promise.all([startTimeSkippingServer(), startActivityFixture({ jobRates: [] })]);
});
after(async () => {
  await Promise.all([env.teardown(), fx.close()]);
});

test('503s and 403 rateLimitExceeded are retried by Temporal under the production read options', async (t) => {
  const mig = { region: 'us-west1', name: 'gh-runner-presubmit-cpu-us-west1' };
  const endpoint = 'compute.regionInstanceGroupManagers.get';
  fx.sim.control.setFaults({
    endpoints: [
      { endpoint, status: 503, count: 2 },
      { endpoint, status: 403, count: 2 },
    ],
  });
  fx.sim.control.resetCounters();
  const { taskQueue, workflowId } = uniqueNames(t.name);
  // The worker's own clients, logger and clock: only the endpoints point at the simulator.
  const activities = createActivities({
    compute: fx.compute,
    github: fx.github,
    fleet: fx.sim.fleet,
    clock: () => new Date(fx.sim.control.clock().now),
  });
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath, activities });
  const handle = await worker.runUntil(async () => {
    const started = await env.client.workflow.start<typeof getAutoscalingWithRetries>('getAutoscalingWithRetries', {
      taskQueue,
      workflowId: workflowId(),
      args: [mig],
    });
    const { min, max } = fx.sim.control.mig(mig.name).autoscaler;
    assert.deepEqual(await started.result(), { min, max });
    return started;
  });
  fx.sim.control.clearFaults();

  const counter = fx.sim.control.counters()[endpoint];
  assert.deepEqual(counter?.statuses, { '503': 2, '403': 2, '200': 1 });
  assert.equal(counter?.injectedFaults, 4);
  const history = await handle.fetchHistory();
  const attempts = (history.events ?? []).flatMap((event) =>
    event.activityTaskStartedEventAttributes?.attempt == null ? [] : [event.activityTaskStartedEventAttributes.attempt],
  );
  // Temporal records only the last attempt's start: the fifth, after four retried failures.
  assert.deepEqual(attempts, [5]);
  const failed = (history.events ?? []).filter((event) => event.activityTaskFailedEventAttributes != null);
  assert.equal(failed.length, 0, 'retried attempts leave no failure in history; the activity completed');
});
