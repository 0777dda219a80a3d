import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { startDevServer, uniqueNames } from '../helpers/temporal.js';
import { greet } from '../fixtures/workflows/smoke.js';

const workflowsPath = fileURLToPath(new URL('../fixtures/workflows/smoke.ts', import.meta.url));

let env: TestWorkflowEnvironment;
before(async () => {
  env = await startDevServer();
});
after(async () => {
  await env?.teardown();
});

test('a real worker runs a workflow on the Temporal CLI dev server', async (t) => {
  const { taskQueue, workflowId } = uniqueNames(t.name);
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath });
  const result = await worker.runUntil(
    env.client.workflow.execute(greet, { taskQueue, workflowId: workflowId(), args: ['fleet'] }),
  );
  assert.equal(result, `hello fleet from ${taskQueue}`);
  assert.equal(env.supportsTimeSkipping, false);
});
