import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { startTimeSkippingServer, uniqueNames } from '../helpers/temporal.js';
import { sleepThreeDays } from '../fixtures/workflows/smoke.js';

const workflowsPath = fileURLToPath(new URL('../fixtures/workflows/smoke.ts', import.meta.url));
const threeDaysMs = 3 * 24 * 60 * 60 * 1000;

let env: TestWorkflowEnvironment;
before(async () => {
  env = await startTimeSkippingServer();
});
after(async () => {
  await env?.teardown();
});

test('a three-day durable sleep completes in seconds on the time-skipping server', async (t) => {
  const { taskQueue, workflowId } = uniqueNames(t.name);
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath });
  const wallStart = performance.now();
  const workflowElapsed = await worker.runUntil(
    env.client.workflow.execute(sleepThreeDays, { taskQueue, workflowId: workflowId() }),
  );
  const wallMs = performance.now() - wallStart;
  assert.ok(workflowElapsed >= threeDaysMs, `workflow time advanced ${workflowElapsed} ms`);
  assert.ok(wallMs < 60_000, `took ${Math.round(wallMs)} ms of wall time`);
});
