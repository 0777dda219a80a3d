import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../config/env.js';
import { DEFAULT_WORKER_SLOTS, describeWorkerConfig, loadWorkerConfig } from '../../worker/config.js';

const CREDENTIALS = { GITHUB_TOKEN: 'test-token' };

test("unset or empty slot variables keep the Temporal SDK's defaults", () => {
  assert.deepEqual(loadWorkerConfig(CREDENTIALS).slots, { activities: 100, workflowTasks: 40 });
  assert.deepEqual(
    loadWorkerConfig({ ...CREDENTIALS, ROLLOUT_ACTIVITY_SLOTS: '', ROLLOUT_WORKFLOW_TASK_SLOTS: ' ' }).slots,
    DEFAULT_WORKER_SLOTS,
  );
});

test('slot variables size the worker, and its start-up log says so', () => {
  const config = loadWorkerConfig({ ...CREDENTIALS, ROLLOUT_ACTIVITY_SLOTS: '800', ROLLOUT_WORKFLOW_TASK_SLOTS: '2' });
  assert.deepEqual(config.slots, { activities: 800, workflowTasks: 2 });
  assert.equal(describeWorkerConfig(config)['activitySlots'], 800);
  assert.equal(describeWorkerConfig(config)['workflowTaskSlots'], 2);
});

test('a slot count that is not a whole number within its bound names the variable and its rule', () => {
  for (const [env, message] of [
    [{ ROLLOUT_ACTIVITY_SLOTS: '0' }, 'ROLLOUT_ACTIVITY_SLOTS: must be at least 1'],
    [{ ROLLOUT_ACTIVITY_SLOTS: '1.5' }, 'ROLLOUT_ACTIVITY_SLOTS: must be a whole number, at least 1'],
    [{ ROLLOUT_ACTIVITY_SLOTS: '-4' }, 'ROLLOUT_ACTIVITY_SLOTS: must be a whole number, at least 1'],
    [{ ROLLOUT_WORKFLOW_TASK_SLOTS: '1' }, 'ROLLOUT_WORKFLOW_TASK_SLOTS: must be at least 2'],
    [{ ROLLOUT_WORKFLOW_TASK_SLOTS: 'many' }, 'ROLLOUT_WORKFLOW_TASK_SLOTS: must be a whole number, at least 2'],
  ] as const) {
    assert.throws(
      () => loadWorkerConfig({ ...CREDENTIALS, ...env }),
      (error: unknown) => error instanceof ConfigError && error.message === message,
      message,
    );
  }
});
