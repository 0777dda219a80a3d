/**
 * A canary's room made by an autoscaler surge is undone: the MIG worker records the bounds before the surge and
 * restores them after promote, after rollback (a failed health gate, an abort), at its end when the canary was
 * never rolled back, and across continue-as-new of the worker and of the rollout.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rollout } from '../../workflows/rollout.js';
import { migWorkflowId, statusQuery } from '../../workflows/rollout-contract.js';
import { abortUpdate } from '../../workflows/rollout-controls-contract.js';
import type { FakeFleet } from '../helpers/fake-fleet.js';
import {
  migWorkerHandles,
  perTestServer,
  rolloutTest,
  testInput,
  waitForState,
  withRolloutWorker,
} from '../helpers/rollout-harness.js';
import { timerClearance } from '../helpers/timer-clearance.js';

const server = perTestServer();

/** The prod MIGs a canary goes to (the canary-policy types), with their bounds before the rollout. */
function canaryMigs(fake: FakeFleet, group?: string): Map<string, { min: number; max: number }> {
  return new Map(
    [...fake.migs.values()]
      .filter((mig) => mig.ref.environment === 'prod' && mig.ref.type === 'cpu')
      .filter((mig) => group === undefined || mig.ref.group === group)
      .map((mig) => [mig.name, { ...mig.autoscaling }]),
  );
}

/** Calls on `mig` of the activities a surge involves, in order, with the bounds set. */
function surgeCalls(fake: FakeFleet, mig: string): string[] {
  return fake.calls
    .filter((call) => call.mig === mig)
    .filter((call) =>
      ['surgeableAutoscaling', 'canaryMig', 'setAutoscaling', 'promoteCanary', 'rollbackCanary'].includes(
        call.activity,
      ),
    )
    .map((call) => (call.activity === 'setAutoscaling' ? `setAutoscaling ${call.detail ?? ''}` : call.activity));
}

function assertRestored(fake: FakeFleet, before: Map<string, { min: number; max: number }>, end: string): void {
  assert.ok(before.size > 0);
  for (const [name, bounds] of before) {
    assert.deepEqual(fake.mig(name).autoscaling, bounds, `${name}: bounds restored`);
    const calls = surgeCalls(fake, name);
    assert.deepEqual(
      calls,
      ['surgeableAutoscaling', 'canaryMig', end, `setAutoscaling ${bounds.min}..${bounds.max}`],
      `${name}: recorded before the surge, restored after ${end}`,
    );
  }
}

test('promote restores the bounds a canary surge raised; a MIG the surge cannot use keeps them', async (t) => {
  const { fake, taskQueue, workflowId } = rolloutTest(t.name);
  const before = canaryMigs(fake);
  const [fixed] = before.keys();
  assert.ok(fixed !== undefined);
  fake.notSurgeable.add(fixed);
  before.delete(fixed);
  const result = await withRolloutWorker(server.env, server.bundle, fake, taskQueue, async () => {
    const handle = await server.env.client.workflow.start(rollout, {
      taskQueue,
      workflowId,
      args: [testInput({ environments: ['prod'], autoApprove: true })],
    });
    const soaking = await waitForState(handle, (s) => s.stage === 'soak', 'soak');
    for (const name of before.keys()) {
      assert.ok(fake.mig(name).autoscaling.min > (before.get(name)?.min ?? 0), `${name}: surged while soaking`);
    }
    assert.ok(soaking.migs.some((mig) => mig.name === fixed && mig.phase === 'canary'));
    return handle.result();
  });
  assert.equal(result.outcome, 'completed');
  assertRestored(fake, before, 'promoteCanary');
  assert.deepEqual(surgeCalls(fake, fixed), ['surgeableAutoscaling', 'canaryMig', 'promoteCanary']);
});

test('a rollback after a failed health gate restores the bounds', async (t) => {
  const { fake, taskQueue, workflowId } = rolloutTest(t.name);
  const before = canaryMigs(fake);
  const result = await withRolloutWorker(server.env, server.bundle, fake, taskQueue, async () => {
    const handle = await server.env.client.workflow.start(rollout, {
      taskQueue,
      workflowId,
      args: [testInput({ environments: ['prod'], timing: { unhealthyChecksToRollBack: 2 } })],
    });
    await waitForState(handle, (s) => s.stage === 'soak', 'soak');
    const [first] = before.keys();
    fake.unhealthy.add(first ?? '');
    return handle.result();
  });
  assert.equal(result.outcome, 'rolled-back');
  assertRestored(fake, before, 'rollbackCanary');
});

test('an abort restores the bounds, also of a MIG whose canary command failed after its surge', async (t) => {
  const { fake, taskQueue, workflowId } = rolloutTest(t.name);
  const clear = timerClearance(server.env, () => migWorkerHandles(server.env, fake));
  const before = canaryMigs(fake);
  const failing = fake.migName({ environment: 'prod', group: 'presubmit', type: 'cpu', region: 'us-west1' });
  const hold = fake.hold('canaryMig', failing);
  const result = await withRolloutWorker(server.env, server.bundle, fake, taskQueue, async () => {
    const handle = await server.env.client.workflow.start(rollout, {
      taskQueue,
      workflowId,
      args: [testInput({ environments: ['prod'] })],
    });
    await hold.reached;
    // An attempt that surged and then lost its answer: the min is raised, and the command fails.
    const original = fake.mig(failing).autoscaling;
    fake.mig(failing).autoscaling = { min: original.min + 1, max: original.max };
    fake.failures.set(`canaryMig:${failing}`, 1);
    hold.release();
    const paused = await waitForState(handle, (s) => s.pause !== undefined, 'paused on the failed canary');
    assert.equal(paused.migs.find((mig) => mig.name === failing)?.phase, 'planned');
    await clear.update(handle, abortUpdate, { identity: 'dave', reason: 'bad image' });
    return handle.result();
  });
  assert.equal(result.outcome, 'aborted');
  assert.deepEqual(fake.mig(failing).autoscaling, before.get(failing), 'restored at the worker end');
  assert.deepEqual(surgeCalls(fake, failing), [
    'surgeableAutoscaling',
    'canaryMig',
    `setAutoscaling ${before.get(failing)?.min}..${before.get(failing)?.max}`,
  ]);
  before.delete(failing);
  assertRestored(fake, before, 'rollbackCanary');
});

test(
  'the recorded bounds survive continue-as-new of the MIG worker and of the rollout',
  { timeout: 180_000 },
  async (t) => {
    const { fake, taskQueue, workflowId } = rolloutTest(t.name);
    const before = canaryMigs(fake, 'presubmit');
    const carried = await withRolloutWorker(server.env, server.bundle, fake, taskQueue, async () => {
      const handle = await server.env.client.workflow.start(rollout, {
        taskQueue,
        workflowId,
        args: [
          testInput({
            environments: ['prod'],
            groups: 'presubmit',
            autoApprove: true,
            timing: { healthCheckInterval: '2 hours', maxHistoryEvents: 120, migWorkerLivenessInterval: '1 hour' },
          }),
        ],
      });
      await waitForState(handle, (s) => s.stage === 'soak', 'soak');
      await server.env.sleep('2 days');
      // The workers have continued as new during the soak, their recorded bounds in the new run's input.
      const carried = new Map<string, unknown>();
      for (const name of before.keys()) {
        const history = await server.env.client.workflow
          .getHandle(migWorkflowId(fake.fleet.project, name))
          .fetchHistory();
        const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
        const input = JSON.parse(Buffer.from(started?.input?.payloads?.[0]?.data ?? '').toString()) as {
          surgeFrom?: unknown;
        };
        carried.set(name, input.surgeFrom);
      }
      const result = await handle.result();
      assert.equal(result.outcome, 'completed');
      const state = await handle.query(statusQuery);
      assert.ok(state.continuedAsNew >= 1, 'the rollout continued as new');
      return carried;
    });
    for (const [name, bounds] of before) assert.deepEqual(carried.get(name), bounds, `${name}: carried`);
    assertRestored(fake, before, 'promoteCanary');
  },
);
