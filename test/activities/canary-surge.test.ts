/**
 * Room for a canary on a quiet autoscaled MIG by a surge: the autoscaler's min is raised past the MIG's size, so
 * the MIG creates one VM, which takes the canary version, and no runner is deregistered from GitHub. Restoring the
 * recorded bounds at promotion or rollback deletes no VM: the fleet's autoscalers only scale out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MigLocator } from '../../activities/contract.js';
import { grow, occupyOneRunner, startActivityFixture, type ActivityFixture } from './fixture.js';

const NEW = '1111111111-bbb';
const newTemplate = (group: string, type: string): string => `gh-runner-${group}-${type}-${NEW}`;

let fx: ActivityFixture;

before(async () => {
  // A quiet fleet: no job arrives unless a test submits one, so no VM leaves by itself to make room.
  fx = await startActivityFixture({ jobRates: [{ perHour: 0, meanDurationMinutes: 30 }] });
  for (const group of ['presubmit', 'postsubmit']) {
    for (const type of ['cpu', 'gpu']) fx.sim.control.createTemplate({ group, type, version: NEW });
  }
});
after(async () => {
  await fx.close();
});

type Vm = ReturnType<ActivityFixture['sim']['control']['mig']>['instances'][number];

function vms(mig: MigLocator): readonly Vm[] {
  return fx.sim.control.mig(mig.name).instances;
}

function autoscaler(mig: MigLocator): { min: number; max: number; mode: string } {
  return fx.sim.control.mig(mig.name).autoscaler;
}

/** GitHub writes and VM replacements since the mutation log's entry `since`. */
function roomMadeByHand(since: number): string[] {
  return fx.sim.control
    .mutations({ since })
    .filter((entry) => entry.effective)
    .map((entry) => entry.endpoint)
    .filter((endpoint) => endpoint.startsWith('github.') || endpoint.endsWith('.applyUpdatesToInstances'));
}

/** A MIG of `size` idle VMs whose autoscaler may grow it to `max`, with its canary made by a surge. */
async function surgedCanary(mig: MigLocator, template: string, size: number, max: number): Promise<readonly Vm[]> {
  await grow(fx, mig, size);
  await fx.run('setAutoscaling', { mig, bounds: { min: size, max } });
  const old = vms(mig);
  assert.deepEqual(await fx.run('surgeableAutoscaling', mig), { min: size, max });
  const since = fx.sim.control.mutations().length;
  const result = await fx.run('canaryMig', { mig, template, canarySize: 1, surge: true });
  assert.equal(result.applied, true);
  assert.deepEqual(result.madeRoom, []);
  assert.equal(result.surgedTo, size + 1);
  assert.deepEqual(roomMadeByHand(since), [], 'no runner deregistered, no VM replaced');
  fx.sim.control.advance(600);
  return old;
}

describe('room for a canary by an autoscaler surge', () => {
  test('a quiet autoscaled MIG gets its canary VM with no GitHub write', async () => {
    const mig = { region: 'us-west1', name: 'gh-runner-presubmit-cpu-us-west1' };
    const template = newTemplate('presubmit', 'cpu');
    const old = await surgedCanary(mig, template, 2, 5);

    assert.deepEqual(autoscaler(mig), { ...autoscaler(mig), min: 3, max: 5 });
    const now = vms(mig);
    assert.equal(now.length, 3, 'one VM more');
    assert.deepEqual(
      old.map((vm) => vm.name).filter((name) => !now.some((vm) => vm.name === name)),
      [],
      'every old VM kept',
    );
    const canaries = now.filter((vm) => vm.template === template);
    assert.equal(canaries.length, 1, 'the new VM took the canary version');
    assert.ok(canaries[0]?.runner !== null, 'the canary registered its runner');

    const since = fx.sim.control.mutations().length;
    const retry = await fx.run('canaryMig', { mig, template, canarySize: 1, surge: true });
    assert.equal(retry.applied, false);
    assert.equal(retry.surgedTo, undefined, 'a retry finds the room made');
    assert.deepEqual(
      fx.sim.control
        .mutations({ since })
        .filter((entry) => entry.effective && !/\.(listManagedInstances|wait)$/.test(entry.endpoint))
        .map((entry) => entry.endpoint),
      [],
      'no write (listManagedInstances is a read sent as POST)',
    );
    assert.equal(autoscaler(mig).min, 3);
  });

  test('restoring the bounds at promotion deletes no VM, not even a busy one', async () => {
    const mig = { region: 'us-west1', name: 'gh-runner-testing-presubmit-cpu-us-west1' };
    const template = newTemplate('presubmit', 'cpu');
    await surgedCanary(mig, template, 2, 4);
    const busy = occupyOneRunner(fx, mig, { group: 'presubmit', type: 'cpu' }, 60);
    const before = vms(mig).map((vm) => vm.name);

    await fx.run('promoteCanary', { mig, template });
    await fx.run('setAutoscaling', { mig, bounds: { min: 2, max: 4 } });
    fx.sim.control.advance(600);

    assert.deepEqual({ min: autoscaler(mig).min, max: autoscaler(mig).max }, { min: 2, max: 4 });
    assert.equal(autoscaler(mig).mode, 'ONLY_SCALE_OUT');
    assert.deepEqual(
      vms(mig)
        .map((vm) => vm.name)
        .sort(),
      before.sort(),
      'the MIG keeps its VMs: they leave after their jobs',
    );
    assert.ok(vms(mig).some((vm) => vm.name === busy.name && vm.runner?.busy === true));
    assert.deepEqual(fx.sim.control.jobs().killed, []);
  });

  test('restoring the bounds at rollback deletes no VM, not even a busy one', async () => {
    const mig = { region: 'us-west1', name: 'gh-runner-testing-postsubmit-gpu-us-west1' };
    const template = newTemplate('postsubmit', 'gpu');
    await surgedCanary(mig, template, 1, 3);
    const busy = occupyOneRunner(fx, mig, { group: 'postsubmit', type: 'gpu' }, 60);
    const before = vms(mig).map((vm) => vm.name);

    await fx.run('rollbackCanary', { mig, canaryTemplate: template });
    await fx.run('setAutoscaling', { mig, bounds: { min: 1, max: 3 } });
    fx.sim.control.advance(600);

    assert.deepEqual({ min: autoscaler(mig).min, max: autoscaler(mig).max }, { min: 1, max: 3 });
    assert.deepEqual(
      vms(mig)
        .map((vm) => vm.name)
        .sort(),
      before.sort(),
    );
    assert.ok(vms(mig).some((vm) => vm.name === busy.name && vm.runner?.busy === true));
    assert.deepEqual(fx.sim.control.jobs().killed, []);
  });

  test('an autoscaler that scales in is not surged: room is made through GitHub, busy-safely', async () => {
    const mig = { region: 'us-east1', name: 'gh-runner-presubmit-gpu-us-east1' };
    const template = newTemplate('presubmit', 'gpu');
    await grow(fx, mig, 2);
    const [operation] = await fx.compute.autoscalers.patch({
      project: fx.sim.fleet.project,
      region: mig.region,
      autoscaler: mig.name,
      autoscalerResource: { name: mig.name, autoscalingPolicy: { minNumReplicas: 2, maxNumReplicas: 4, mode: 'ON' } },
    });
    assert.ok(operation !== undefined);
    assert.equal(await fx.run('surgeableAutoscaling', mig), null);

    const since = fx.sim.control.mutations().length;
    const result = await fx.run('canaryMig', { mig, template, canarySize: 1, surge: true });
    assert.equal(result.surgedTo, undefined);
    assert.equal(result.madeRoom?.length, 1);
    assert.deepEqual(roomMadeByHand(since), [
      'github.runners.delete',
      'compute.regionInstanceGroupManagers.applyUpdatesToInstances',
    ]);
    assert.equal(autoscaler(mig).min, 2);
  });

  test('a MIG at its autoscaler max is not surged past it', async () => {
    const mig = { region: 'us-east1', name: 'gh-runner-postsubmit-cpu-us-east1' };
    await grow(fx, mig, 2);
    const result = await fx.run('canaryMig', {
      mig,
      template: newTemplate('postsubmit', 'cpu'),
      canarySize: 1,
      surge: true,
    });
    assert.equal(result.surgedTo, undefined);
    assert.equal(result.madeRoom?.length, 1);
    assert.deepEqual({ min: autoscaler(mig).min, max: autoscaler(mig).max }, { min: 2, max: 2 });
  });
});
