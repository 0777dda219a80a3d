/**
 * The pool controller's activities against the simulator, through the production clients: the pool's MIGs with
 * each VM's runner, GitHub's queued jobs of the pool, raises of a target size (never a lowering), removals of
 * named idle runners by the busy-safe drain, and MIGs a rollout holds left alone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { FailureType } from '../../activities/index.js';
import type { EngineActivities } from '../../activities/contract.js';
import { migWorkflowId } from '../../workflows/rollout-contract.js';
import {
  activityEnvironment,
  failureOf,
  grow,
  occupyOneRunner,
  startActivityFixture,
  type ActivityFixture,
} from './fixture.js';

const POOL = 'testing/presubmit/gpu';
const mig = { region: 'us-west1', name: 'gh-runner-testing-presubmit-gpu-us-west1' };

let fx: ActivityFixture;
/** Per-MIG worker ids a rollout runs: the MIGs it holds. */
const running = new Set<string>();
let activities: EngineActivities;
let calls = 0;

/** Temporal as the hold check reads it: a running execution under the MIG's worker id, or none. */
const temporal = {
  workflow: {
    getHandle: (workflowId: string) => ({
      describe: async () => {
        if (!running.has(workflowId)) throw new WorkflowNotFoundError('not found', workflowId, undefined);
        return { status: { name: 'RUNNING' } };
      },
    }),
  },
} as unknown as Pick<Client, 'workflow'>;

function run<K extends keyof EngineActivities>(
  name: K,
  ...args: Parameters<EngineActivities[K]>
): ReturnType<EngineActivities[K]> {
  const activity = activities[name] as (...a: Parameters<EngineActivities[K]>) => ReturnType<EngineActivities[K]>;
  calls += 1;
  return activityEnvironment({ activityId: `${name}-${calls}` }).run(activity, ...args) as ReturnType<
    EngineActivities[K]
  >;
}

function resizes(): number {
  return fx.sim.control.mutations({ endpoint: 'compute.regionInstanceGroupManagers.resize' }).length;
}

before(async () => {
  // No background job arrivals: every job in these tests is one we submitted.
  fx = await startActivityFixture({ jobRates: [{ perHour: 0, meanDurationMinutes: 30 }] });
  activities = fx.activitiesWith({ temporal });
});
after(async () => {
  await fx.close();
});

describe('pool sizing', () => {
  test('observePool: each VM with its runner busy or idle, the policy, and the pool queued jobs', async () => {
    await grow(fx, mig, 2);
    const busy = occupyOneRunner(fx, mig, { group: 'presubmit', type: 'gpu' }, 60);
    // Both runners taken: these wait in GitHub's queue.
    fx.sim.control.submitJobs({
      environment: 'testing',
      group: 'presubmit',
      type: 'gpu',
      count: 3,
      durationMinutes: 60,
    });
    fx.sim.control.submitJobs({
      environment: 'testing',
      group: 'presubmit',
      type: 'cpu',
      count: 2,
      durationMinutes: 60,
    });
    // GitHub's listing shows a runner's busy flag some seconds late (see simulator/runner-presence.ts).
    fx.sim.control.advance(60);
    const observation = await run('observePool', { pool: POOL, withQueuedJobs: true });
    assert.equal(observation.policy.mode, 'off');
    assert.equal(observation.migs.length, 1);
    const [observed] = observation.migs;
    assert.equal(observed?.name, mig.name);
    assert.equal(observed?.targetSize, 2);
    assert.equal(observed?.held, false);
    const states = Object.fromEntries((observed?.vms ?? []).map((vm) => [vm.name, vm.runner.state]));
    assert.equal(states[busy.name], 'busy');
    assert.deepEqual(Object.values(states).sort(), ['busy', 'busy'], 'the other runner took one of the jobs');
    assert.equal(observation.queuedJobs?.length, 2, 'three gpu jobs, one running: the cpu jobs are another pool');
    assert.equal(observation.queuedJobsComplete, true);
    const without = await run('observePool', { pool: POOL, withQueuedJobs: false });
    assert.equal(without.queuedJobs, undefined);
  });

  test('observePool fails clearly for a pool the fleet lacks', async () => {
    const failure = await failureOf(run('observePool', { pool: 'testing/presubmit/tpu', withQueuedJobs: false }));
    assert.equal(failure.type, FailureType.INVALID_REQUEST);
    assert.match(failure.message, /no pool testing\/presubmit\/tpu/);
  });

  test('raisePoolMig refuses an autoscaled MIG clearly, and raises it once its autoscaler is off', async () => {
    const before = fx.sim.control.mig(mig.name).targetSize;
    const autoscaled = await failureOf(run('raisePoolMig', { mig, from: before, to: before + 4 }));
    assert.equal(autoscaled.type, FailureType.INVALID_REQUEST);
    assert.match(autoscaled.message, /autoscaler .* is in mode ONLY_SCALE_OUT.*only in mode OFF/);
    assert.equal(resizes(), 0, 'no resize was sent');

    assert.deepEqual(await run('setPoolAutoscalerMode', { mig, mode: 'OFF' }), {
      mig,
      outcome: 'set',
      previous: 'ONLY_SCALE_OUT',
    });
    assert.equal(fx.sim.control.mig(mig.name).autoscaler.mode, 'OFF');
    assert.equal((await run('observePool', { pool: POOL, withQueuedJobs: false })).migs[0]?.autoscalerMode, 'OFF');
    assert.equal((await run('setPoolAutoscalerMode', { mig, mode: 'OFF' })).outcome, 'unchanged');
    const bad = await failureOf(run('setPoolAutoscalerMode', { mig, mode: 'SOMETIMES' }));
    assert.equal(bad.type, FailureType.INVALID_REQUEST);
  });

  test('raisePoolMig raises the target size; a stale size or a lower one changes nothing', async () => {
    const before = fx.sim.control.mig(mig.name).targetSize;
    // Two new VMs take the two queued jobs; two stay idle for the removal test.
    assert.deepEqual(await run('raisePoolMig', { mig, from: before, to: before + 4 }), {
      mig,
      outcome: 'raised',
      targetSize: before + 4,
    });
    assert.equal(fx.sim.control.mig(mig.name).targetSize, before + 4);
    const count = resizes();
    assert.equal((await run('raisePoolMig', { mig, from: before, to: before + 1 })).outcome, 'unchanged');
    const lower = await failureOf(run('raisePoolMig', { mig, from: before + 4, to: before }));
    assert.equal(lower.type, FailureType.INVALID_REQUEST);
    assert.equal(resizes(), count, 'no resize was sent');
    assert.equal(fx.sim.control.mig(mig.name).targetSize, before + 4);
  });

  test('removePoolRunners removes only the named idle runners, GitHub first; a busy one stays', async () => {
    fx.sim.control.advance(600);
    const instances = fx.sim.control.mig(mig.name).instances;
    const idle = instances.filter((instance) => instance.runner !== null && instance.runner.busy !== true);
    const busy = instances.filter((instance) => instance.runner?.busy === true);
    assert.ok(idle.length >= 2 && busy.length >= 1, JSON.stringify(instances.map((i) => [i.name, i.runner])));
    const [removed, kept] = idle;
    assert.ok(removed !== undefined && kept !== undefined);
    const result = await run('removePoolRunners', { mig, runners: [removed.name, busy[0]?.name ?? ''] });
    assert.deepEqual(result.drained, [removed.name]);
    assert.deepEqual(result.skippedBusy, [busy[0]?.name]);
    assert.equal(result.held, false);
    const after = fx.sim.control.mig(mig.name).instances;
    const live = after.filter((instance) => instance.currentAction !== 'DELETING').map((instance) => instance.name);
    assert.ok(!live.includes(removed.name), 'the removed runner VM is deleted through the MIG');
    assert.ok(live.includes(kept.name), 'an idle runner not named stays');
    assert.ok(busy.every((instance) => live.includes(instance.name)));
    assert.deepEqual(fx.sim.control.jobs().killed, []);
  });

  test('a MIG a rollout holds is reported held and never written', async () => {
    running.add(migWorkflowId(fx.sim.fleet.project, mig.name));
    try {
      const observation = await run('observePool', { pool: POOL, withQueuedJobs: false });
      assert.equal(observation.migs[0]?.held, true);
      const size = fx.sim.control.mig(mig.name).targetSize;
      const count = resizes();
      assert.equal((await run('raisePoolMig', { mig, from: size, to: size + 1 })).outcome, 'held');
      // Taken over it is not; its autoscaler gets its mode back, as that is what sizes it during the rollout.
      assert.equal((await run('setPoolAutoscalerMode', { mig, mode: 'ONLY_SCALE_OUT' })).outcome, 'set');
      assert.equal((await run('setPoolAutoscalerMode', { mig, mode: 'OFF' })).outcome, 'held');
      assert.equal(fx.sim.control.mig(mig.name).autoscaler.mode, 'ONLY_SCALE_OUT');
      const idle = fx.sim.control.mig(mig.name).instances.find((instance) => instance.runner?.busy === false);
      const removal = await run('removePoolRunners', { mig, runners: idle === undefined ? [] : [idle.name] });
      assert.equal(removal.held, true);
      assert.deepEqual(removal.drained, []);
      assert.equal(resizes(), count);
      assert.equal(fx.sim.control.mig(mig.name).targetSize, size);
    } finally {
      running.clear();
    }
  });
});
