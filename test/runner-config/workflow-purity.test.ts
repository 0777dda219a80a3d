import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bundleWorkflowCode } from '@temporalio/worker';

// runner-config/index.js is the part of runner-config workflow code may import (workflows use its durations,
// naming, selectors and types). The workflow bundler refuses Node built-ins, so bundling a workflow that imports
// it proves none of that API reaches node:fs or any other I/O module.
test('the pure runner-config API bundles into workflow code', async () => {
  const { code } = await bundleWorkflowCode({
    workflowsPath: new URL('./workflow-fixture.ts', import.meta.url).pathname,
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
  });
  assert.match(code, /fleetMigNames/);
});
