import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bundleWorkflowCode } from '@temporalio/worker';

// Workflows import runner-config/index.js; the workflow bundler refuses Node built-ins and anything else that
// would make a workflow non-deterministic, so bundling a workflow that uses the API proves it stays pure.
test('the pure runner-config API bundles into workflow code', async () => {
  const { code } = await bundleWorkflowCode({
    workflowsPath: new URL('./workflow-fixture.ts', import.meta.url).pathname,
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
  });
  assert.match(code, /fleetMigNames/);
});
