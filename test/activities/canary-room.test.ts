/**
 * A canary on a quiet MIG: no free slot and no job to end, so under the opportunistic policy the canary's VM
 * would never appear. The canary and direct-update activities make room busy-safely (GitHub first, then the VM).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MigLocator } from '../../activities/contract.js';
import {
  activitiesListingEveryRunnerIdle,
  activityEnvironment,
  grow,
  inActivity,
  occupyOneRunner,
  startActivityFixture,
  type ActivityFixture,
} from './fixture.js';

const NEW = '1111111111-bbb';
const newTemplate = (group: string, type: string): string => `gh-runner-${group}-${type}-${NEW}`;

let fx: ActivityFixture;

before(async () => {
  // A quiet fleet: no job arrives unless a test submits one, so only the engine can make room.
  fx = await startActivityFixture({ jobRates: [{ perHour: 0, meanDurationMinutes: 30 }] });
  for (const group of ['presubmit', 'postsubmit']) {
    for (const type of ['cpu', 'gpu', 'a100']) fx.sim.control.createTemplate({ group, type, version: NEW });
  }
});
after(async () => {
  await fx.close();
});

function vms(mig: MigLocator): ReturnType<ActivityFixture['sim']['control']['mig']>['instances'] {
  return fx.sim.control.mig(mig.name).instances;
}

function replacements(since: number): string[] {
  return fx.sim.control
    .mutations({ endpoint: 'compute.regionInstanceGroupManagers.applyUpdatesToInstances', since })
    .filter((entry) => entry.effective)
    .flatMap((entry) =>
      (entry.body as { instances: string[] }).instances.map((url) => url.slice(url.lastIndexOf('/') + 1)),
    );
}

describe('room for a canary on a quiet MIG', () => {
  test('an idle old runner is deregistered, then its VM is replaced by the canary', async () => {
    const mig = { region: 'us-west1', name: 'gh-runner-presubmit-cpu-us-west1' };
    await grow(fx, mig, 2);
    const before = vms(mig).map((vm) => vm.name);
    const since = fx.sim.control.mutations().length;

    const result = await fx.run('canaryMig', { mig, template: newTemplate('presubmit', 'cpu'), canarySize: 1 });

    assert.equal(result.madeRoom?.length, 1, 'one VM replaced to make room');
    const [replaced] = result.madeRoom ?? [];
    assert.ok(replaced !== undefined && before.includes(replaced));
    assert.deepEqual(replacements(since), [replaced]);
    const order = fx.sim.control
      .mutations({ since })
      .filter((entry) => entry.effective)
      .map((entry) => entry.endpoint);
    assert.ok(
      order.indexOf('github.runners.delete') >= 0 &&
        order.indexOf('github.runners.delete') <
          order.indexOf('compute.regionInstanceGroupManagers.applyUpdatesToInstances'),
      `the runner left GitHub before its VM was replaced: ${order.join(', ')}`,
    );

    fx.sim.control.advance(600);
    const after = vms(mig);
    assert.equal(after.length, 2, 'the MIG keeps its size');
    assert.ok(!after.some((vm) => vm.name === replaced));
    const canaries = after.filter((vm) => vm.template === newTemplate('presubmit', 'cpu'));
    assert.equal(canaries.length, 1);
    assert.ok(canaries[0]?.runner !== null, 'the canary registered its runner');
    assert.deepEqual(fx.sim.control.jobs().killed, []);
  });

  test('a retry finds the room made and replaces nothing more', async () => {
    const mig = { region: 'us-west1', name: 'gh-runner-presubmit-cpu-us-west1' };
    const since = fx.sim.control.mutations().length;
    const result = await fx.run('canaryMig', { mig, template: newTemplate('presubmit', 'cpu'), canarySize: 1 });
    assert.equal(result.applied, false);
    assert.deepEqual(result.madeRoom, []);
    assert.deepEqual(replacements(since), []);
  });

  test('with every old runner busy nothing is replaced and no job is killed', async () => {
    const mig = { region: 'us-west1', name: 'gh-runner-testing-postsubmit-gpu-us-west1' };
    await grow(fx, mig, 1);
    const busy = occupyOneRunner(fx, mig, { group: 'postsubmit', type: 'gpu' }, 60);
    const since = fx.sim.control.mutations().length;

    const result = await fx.run('canaryMig', { mig, template: newTemplate('postsubmit', 'gpu'), canarySize: 1 });

    assert.deepEqual(result.madeRoom, []);
    assert.deepEqual(replacements(since), []);
    fx.sim.control.advance(60);
    assert.ok(vms(mig).some((vm) => vm.name === busy.name && vm.runner?.busy === true));
    assert.deepEqual(fx.sim.control.jobs().killed, []);
  });

  test('a runner that took a job after the listing (GitHub 422) keeps its VM; an idle one makes the room', async () => {
    const mig = { region: 'us-west1', name: 'gh-runner-testing-presubmit-cpu-us-west1' };
    await grow(fx, mig, 3);
    const busy = occupyOneRunner(fx, mig, { group: 'presubmit', type: 'cpu' }, 60);
    const staleList = activitiesListingEveryRunnerIdle(fx);
    const since = fx.sim.control.mutations().length;

    const result = await inActivity(activityEnvironment(), () =>
      staleList.canaryMig({ mig, template: newTemplate('presubmit', 'cpu'), canarySize: 3 }),
    );

    assert.equal(result.madeRoom?.length, 2);
    assert.ok(!result.madeRoom?.includes(busy.name));
    assert.ok(!replacements(since).includes(busy.name), 'the busy VM was not replaced');
    fx.sim.control.advance(60);
    assert.ok(vms(mig).some((vm) => vm.name === busy.name && vm.runner?.busy === true));
    assert.deepEqual(fx.sim.control.jobs().killed, []);
  });

  /**
   * The canary's VM ran its job and deleted itself (the target size drops by one), leaving the MIG at its size with
   * only old VMs: the canary version is short of its VM and no slot is free.
   */
  async function canaryThatLeft(mig: MigLocator, template: string): Promise<void> {
    await grow(fx, mig, 2);
    await fx.run('canaryMig', { mig, template, canarySize: 1 });
    fx.sim.control.advance(600);
    const canary = vms(mig).find((vm) => vm.template === template);
    assert.ok(canary !== undefined);
    // The autoscaler may keep a smaller size: it does not add the VM back.
    await fx.run('setAutoscaling', { mig, bounds: { min: 1, max: 2 } });
    const [operation] = await fx.compute.migs.deleteInstances({
      project: fx.sim.fleet.project,
      region: mig.region,
      instanceGroupManager: mig.name,
      regionInstanceGroupManagersDeleteInstancesRequestResource: {
        instances: [`zones/${canary.zone}/instances/${canary.name}`],
      },
    });
    assert.ok(operation !== undefined);
    fx.sim.control.advance(600);
    assert.deepEqual(
      vms(mig).map((vm) => vm.template === template),
      [false],
      'one old VM left, none on the canary template',
    );
  }

  test('a wait for the canary makes room again when its VM left and the MIG kept an old one', async () => {
    const mig = { region: 'us-east1', name: 'gh-runner-presubmit-gpu-us-east1' };
    const template = newTemplate('presubmit', 'gpu');
    await canaryThatLeft(mig, template);
    const clock = setInterval(() => fx.sim.control.advance(30), 5);
    try {
      assert.equal(await fx.run('waitForRunners', { mig, template, count: 1, timeoutMinutes: 30 }), 1);
    } finally {
      clearInterval(clock);
    }
    assert.deepEqual(fx.sim.control.jobs().killed, []);
  });

  test('a health check that finds the canary missing makes room instead of reporting it absent', async () => {
    const mig = { region: 'us-east1', name: 'gh-runner-postsubmit-gpu-us-east1' };
    const template = newTemplate('postsubmit', 'gpu');
    const since = fx.sim.control.clock().now;
    await canaryThatLeft(mig, template);
    fx.sim.control.advance(3600);
    const health = await fx.run('canaryHealth', { mig, canaryTemplate: template, since });
    assert.ok(
      !health.problems.some((problem) => /no VM has run the canary template/.test(problem)),
      health.problems.join('; '),
    );
    fx.sim.control.advance(600);
    assert.ok(
      vms(mig).some((vm) => vm.template === template && vm.runner !== null),
      'the canary is back',
    );
    assert.deepEqual(fx.sim.control.jobs().killed, []);
  });

  test('a canary held back by old VMs that all run jobs is not reported absent, and no job is killed', async () => {
    const mig = { region: 'us-west1', name: 'gh-runner-testing-presubmit-gpu-us-west1' };
    const template = newTemplate('presubmit', 'gpu');
    const since = fx.sim.control.clock().now;
    await canaryThatLeft(mig, template);
    // At once: given time, the autoscaler would add a VM for the busy one, and the canary would get it.
    const busy = occupyOneRunner(fx, mig, { group: 'presubmit', type: 'gpu' }, 600);
    const health = await fx.run('canaryHealth', { mig, canaryTemplate: template, since });
    assert.ok(
      !health.problems.some((problem) => /no VM has run the canary template/.test(problem)),
      health.problems.join('; '),
    );
    assert.ok(vms(mig).some((vm) => vm.name === busy.name && vm.runner?.busy === true));
    assert.deepEqual(fx.sim.control.jobs().killed, []);
  });

  test('a direct update of a one-VM MIG replaces its idle VM so the update can be verified', async () => {
    const mig = { region: 'us-central1', name: 'gh-runner-presubmit-a100-us-central1' };
    await grow(fx, mig, 1);
    const [old] = vms(mig);
    const result = await fx.run('directUpdate', { mig, template: newTemplate('presubmit', 'a100') });
    assert.deepEqual(result.madeRoom, [old?.name]);
    fx.sim.control.advance(600);
    const now = vms(mig);
    assert.equal(now.length, 1);
    assert.equal(now[0]?.template, newTemplate('presubmit', 'a100'));
    assert.ok(now[0]?.runner !== null);
  });
});
