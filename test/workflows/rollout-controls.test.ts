/**
 * Operator controls in every stage, on a real dev server (the time-skipping server hangs on a second update in a
 * row, sdk-java#1903), with durations of seconds. Also checks the search attributes the rollout keeps current.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { rollout } from '../../workflows/rollout.js';
import {
  ROLLOUT_SEARCH_ATTRIBUTES,
  RolloutStageSearchAttribute,
  RolloutVersionSearchAttribute,
  statusQuery,
  type RolloutInput,
} from '../../workflows/rollout-contract.js';
import {
  abortUpdate,
  approveUpdate,
  pauseUpdate,
  resumeSignal,
  resumeUpdate,
  rollbackUpdate,
} from '../../workflows/rollout-controls-contract.js';
import { NEW_VERSION, OLD_VERSION } from '../helpers/fake-fleet.js';
import {
  rolloutTest,
  rolloutWorkflowBundle,
  testInput,
  waitForState,
  withRolloutWorker,
} from '../helpers/rollout-harness.js';
import { startDevServer } from '../helpers/temporal.js';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;
before(async () => {
  env = await startDevServer({ searchAttributes: [...ROLLOUT_SEARCH_ATTRIBUTES] });
  bundle = await rolloutWorkflowBundle();
});
after(async () => {
  await env?.teardown();
});

/** One cpu MIG in testing, two in prod; everything in seconds. */
function quickInput(overrides: Partial<RolloutInput> = {}): RolloutInput {
  return testInput({
    groups: 'presubmit',
    types: 'cpu',
    soak: '3s',
    ...overrides,
    timing: { healthCheckInterval: '1s', convergeInterval: '1s', approvalReminderInterval: '2s', ...overrides.timing },
  });
}

async function start(
  taskQueue: string,
  workflowId: string,
  input: RolloutInput,
): Promise<WorkflowHandle<typeof rollout>> {
  return env.client.workflow.start(rollout, {
    taskQueue,
    workflowId,
    args: [input],
    typedSearchAttributes: [{ key: RolloutVersionSearchAttribute, value: input.version }],
  });
}

/** The validator's reason for rejecting an update, or 'accepted'. */
async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'accepted';
  } catch (error) {
    assert.ok(error instanceof WorkflowUpdateFailedError, String(error));
    return error.cause?.message ?? String(error);
  }
}

test('controls at the test gate, during soak, at the promote gate and in converge', async (t) => {
  const { fake, taskQueue, workflowId } = rolloutTest(t.name);
  await withRolloutWorker(env, bundle, fake, taskQueue, async () => {
    const handle = await start(taskQueue, workflowId, quickInput());
    await waitForState(handle, (s) => s.gate?.kind === 'test-approval', 'test gate');

    const approve = (stage: 'test' | 'promote', identity = 'bob'): Promise<unknown> =>
      handle.executeUpdate(approveUpdate, { args: [{ stage, identity, reason: 'looks good' }] });
    assert.match(
      await rejection(approve('promote')),
      /no promote approval is pending: stage is test, waiting for test approval/,
    );
    assert.match(await rejection(approve('test', ' ')), /approve needs an identity/);
    assert.match(await rejection(handle.executeUpdate(resumeUpdate, { args: [{ identity: 'bob' }] })), /not paused/);
    assert.equal(
      await rejection(handle.executeUpdate(pauseUpdate, { args: [{ identity: 'bob', reason: 'lunch' }] })),
      'accepted',
    );
    assert.match(
      await rejection(handle.executeUpdate(pauseUpdate, { args: [{ identity: 'eve' }] })),
      /already paused by bob/,
    );
    assert.equal(await rejection(approve('test')), 'accepted');
    assert.match(await rejection(approve('test')), /test was already approved by bob/);

    // Approved while paused: nothing new starts until resumed.
    await delay(1500);
    let state = await handle.query(statusQuery);
    assert.equal(state.stage, 'test');
    assert.equal(state.migs.find((mig) => mig.role === 'testing')?.phase, 'updated');
    await handle.signal(resumeSignal, { identity: '' });
    state = await waitForState(
      handle,
      (s) => s.timeline.some((event) => event.kind === 'ignored-signal'),
      'ignored signal',
    );
    assert.match(state.timeline.at(-1)?.message ?? '', /resume-signal ignored: resume needs an identity/);
    assert.equal(await rejection(handle.executeUpdate(resumeUpdate, { args: [{ identity: 'bob' }] })), 'accepted');

    await waitForState(handle, (s) => s.stage === 'soak', 'soak');
    assert.match(await rejection(approve('promote')), /no promote approval is pending: stage is soak, soak ends at/);
    assert.match(await rejection(approve('test')), /test was already approved/);

    await waitForState(handle, (s) => s.gate?.kind === 'promote-approval', 'promote gate', 60_000);
    const description = await handle.describe();
    assert.equal(description.typedSearchAttributes.get(RolloutStageSearchAttribute), 'promote');
    assert.equal(description.typedSearchAttributes.get(RolloutVersionSearchAttribute), NEW_VERSION);

    fake.drainBatch = 0; // hold convergence so the converge stage can be inspected
    const first = await handle.executeUpdate(approveUpdate, {
      args: [{ stage: 'promote', identity: 'carol', reason: 'ship it' }],
      updateId: 'promote-approval-1',
    });
    const again = await handle.executeUpdate(approveUpdate, {
      args: [{ stage: 'promote', identity: 'carol', reason: 'ship it' }],
      updateId: 'promote-approval-1',
    });
    assert.deepEqual(again, first, 'a repeated update id answers the first outcome');

    await waitForState(handle, (s) => s.stage === 'converge', 'converge');
    assert.match(
      await rejection(handle.executeUpdate(rollbackUpdate, { args: [{ identity: 'dan' }] })),
      /every canary is promoted/,
    );
    assert.match(
      await rejection(handle.executeUpdate(abortUpdate, { args: [{ identity: 'dan', reason: '' }] })),
      /abort needs a reason/,
    );
    assert.equal(
      await rejection(handle.executeUpdate(abortUpdate, { args: [{ identity: 'dan', reason: 'stop draining' }] })),
      'accepted',
    );
    const result = await handle.result();
    assert.equal(result.outcome, 'aborted');
    assert.deepEqual(
      result.approvals.map(({ stage, identity }) => `${stage}:${identity}`),
      ['test:bob', 'promote:carol'],
    );
    for (const mig of [...fake.migs.values()].filter(
      (m) => m.ref.environment === 'prod' && m.ref.group === 'presubmit' && m.ref.type === 'cpu',
    )) {
      assert.deepEqual(
        mig.versions,
        [{ name: 'base', instanceTemplate: fake.template(mig.ref, NEW_VERSION) }],
        'abort in converge keeps promotions',
      );
    }
    const final = await handle.describe();
    assert.equal(final.typedSearchAttributes.get(RolloutStageSearchAttribute), 'aborted');
    await assert.rejects(handle.executeUpdate(pauseUpdate, { args: [{ identity: 'bob' }] }), /already completed/);
  });
});

test('rollback at the test gate restores the testing group', async (t) => {
  const { fake, taskQueue, workflowId } = rolloutTest(t.name);
  const result = await withRolloutWorker(env, bundle, fake, taskQueue, async () => {
    const handle = await start(taskQueue, workflowId, quickInput());
    await waitForState(handle, (s) => s.gate?.kind === 'test-approval', 'test gate');
    await handle.executeUpdate(rollbackUpdate, { args: [{ identity: 'gina', reason: 'probe jobs red' }] });
    return handle.result();
  });
  assert.equal(result.outcome, 'rolled-back');
  const testing = fake.mig(
    fake.migName({ environment: 'testing', group: 'presubmit', type: 'cpu', region: 'us-west1' }),
  );
  assert.deepEqual(testing.versions, [{ name: 'base', instanceTemplate: fake.template(testing.ref, OLD_VERSION) }]);
  assert.deepEqual(testing.autoscaling, { min: 0, max: 0 });
  assert.ok(!fake.calls.some((call) => call.activity === 'canaryMig'), 'prod untouched');
});

test('pause and rollback during the soak; a second rollback is rejected', async (t) => {
  const { fake, taskQueue, workflowId } = rolloutTest(t.name);
  const result = await withRolloutWorker(env, bundle, fake, taskQueue, async () => {
    const handle = await start(taskQueue, workflowId, quickInput({ environments: ['prod'], soak: '1 hour' }));
    await waitForState(handle, (s) => s.stage === 'soak', 'soak');
    assert.equal(await rejection(handle.executeUpdate(pauseUpdate, { args: [{ identity: 'hal' }] })), 'accepted');
    assert.equal(
      await rejection(handle.executeUpdate(rollbackUpdate, { args: [{ identity: 'hal', reason: 'alerts' }] })),
      'accepted',
    );
    assert.match(
      await rejection(handle.executeUpdate(rollbackUpdate, { args: [{ identity: 'ivy' }] })),
      /already stopping|rolled-back/,
    );
    return handle.result();
  });
  assert.equal(result.outcome, 'rolled-back');
  assert.equal(result.counts.rolledBack, 2);
  for (const mig of [...fake.migs.values()].filter((m) => m.ref.environment === 'prod')) {
    assert.equal(mig.versions.length, 1, mig.name);
  }
});
