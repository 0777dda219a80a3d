import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';

import { googleError } from './clients.js';
import {
  PROJECT,
  REGION,
  OLD,
  NEW,
  templateUrl,
  getMig,
  waitRegion,
  managedTemplates,
  setBounds,
  gce,
  sim,
  useComputeSimulator,
} from './compute-simulator.js';

describe('simulator: compute API through the real @google-cloud/compute clients: MIG updates: canary, rollback, direct update, instance deletes and replacements, bootloops', () => {
  useComputeSimulator();

  test('canary: one instance lands on the canary template as the MIG creates instances; promote converges', async () => {
    const name = 'gh-runner-presubmit-cpu-us-west1';
    await setBounds(name, 3, 10);
    sim.control.advance(600);
    assert.deepEqual(await managedTemplates(name), [OLD, OLD, OLD]);

    const before = await getMig(name);
    const canary = await waitRegion(
      await gce.migs.patch({
        project: PROJECT,
        region: REGION,
        instanceGroupManager: name,
        requestId: randomUUID(),
        instanceGroupManagerResource: {
          fingerprint: before.fingerprint ?? '',
          versions: [
            { name: 'base', instanceTemplate: templateUrl(OLD) },
            { name: 'canary', instanceTemplate: templateUrl(NEW), targetSize: { fixed: 1 } },
          ],
          updatePolicy: { type: 'OPPORTUNISTIC', minimalAction: 'REPLACE', mostDisruptiveAllowedAction: 'REPLACE' },
        },
      }),
    );
    assert.equal(canary.error ?? undefined, undefined, 'the patch operation succeeded');
    const patched = await getMig(name);
    assert.notEqual(patched.fingerprint, before.fingerprint, 'an effective patch changes the fingerprint');
    assert.equal(patched.status?.versionTarget?.isReached, false);
    assert.deepEqual(await managedTemplates(name), [OLD, OLD, OLD], 'opportunistic: existing instances stay');

    // Every runner of the pool takes a job; when they finish, the VMs delete themselves and the autoscaler
    // brings the MIG back to 3, creating instances per the versions' targets.
    sim.control.submitJobs({ environment: 'prod', group: 'presubmit', type: 'cpu', count: 6, durationMinutes: 10 });
    sim.control.advance(30 * 60);
    assert.deepEqual(await managedTemplates(name), [NEW, OLD, OLD].sort());
    const afterCanary = await getMig(name);
    assert.equal(afterCanary.status?.versionTarget?.isReached, true);
    assert.equal(afterCanary.status?.isStable, true);
    assert.equal(afterCanary.versions?.[1]?.targetSize?.calculated, 1);

    const promoted = await waitRegion(
      await gce.migs.patch({
        project: PROJECT,
        region: REGION,
        instanceGroupManager: name,
        instanceGroupManagerResource: {
          fingerprint: afterCanary.fingerprint ?? '',
          versions: [{ name: 'base', instanceTemplate: templateUrl(NEW) }],
        },
      }),
    );
    assert.equal(promoted.error ?? undefined, undefined);
    assert.equal((await getMig(name)).status?.versionTarget?.isReached, false, 'two VMs are still on the old template');
    sim.control.submitJobs({ environment: 'prod', group: 'presubmit', type: 'cpu', count: 6, durationMinutes: 10 });
    sim.control.advance(30 * 60);
    assert.deepEqual(await managedTemplates(name), [NEW, NEW, NEW]);
    assert.equal((await getMig(name)).status?.versionTarget?.isReached, true);
  });

  test('rollback with a proactive update replaces the canary VM even mid-job, and records the killed job', async () => {
    const name = 'gh-runner-postsubmit-cpu-us-west1';
    const postsubmitOld = 'gh-runner-postsubmit-cpu-0000000000-aaa';
    sim.control.createTemplate({ group: 'postsubmit', type: 'cpu', version: '1111111111-bbb' });
    const postsubmitNew = 'gh-runner-postsubmit-cpu-1111111111-bbb';
    await setBounds(name, 2, 10);
    sim.control.advance(600);
    await waitRegion(
      await gce.migs.patch({
        project: PROJECT,
        region: REGION,
        instanceGroupManager: name,
        instanceGroupManagerResource: {
          versions: [
            { name: 'base', instanceTemplate: templateUrl(postsubmitOld) },
            { name: 'canary', instanceTemplate: templateUrl(postsubmitNew), targetSize: { fixed: 1 } },
          ],
          updatePolicy: { type: 'PROACTIVE', minimalAction: 'REPLACE', mostDisruptiveAllowedAction: 'REPLACE' },
        },
      }),
    );
    assert.equal((await getMig(name)).status?.isStable, false, 'a proactive update is in progress');
    sim.control.advance(600);
    assert.deepEqual(await managedTemplates(name), [postsubmitNew, postsubmitOld].sort());

    const canaryVm = sim.control.mig(name).instances.find((instance) => instance.template === postsubmitNew);
    sim.control.submitJobs({ environment: 'prod', group: 'postsubmit', type: 'cpu', count: 5, durationMinutes: 120 });
    assert.equal(sim.control.mig(name).instances.find((i) => i.name === canaryVm?.name)?.runner?.busy, true);

    await waitRegion(
      await gce.migs.patch({
        project: PROJECT,
        region: REGION,
        instanceGroupManager: name,
        instanceGroupManagerResource: { versions: [{ name: 'base', instanceTemplate: templateUrl(postsubmitOld) }] },
      }),
    );
    sim.control.advance(600);
    assert.deepEqual(await managedTemplates(name), [postsubmitOld, postsubmitOld]);
    const killed = sim.control.jobs().killed;
    assert.ok(
      killed.some((job) => job.runnerName === canaryVm?.name && job.killedBy === 'proactive-replace'),
      'the job running on the replaced canary VM is recorded as killed',
    );
  });

  test('direct update of a testing MIG: new runners carry the new runner version and environment=testing', async () => {
    const name = 'gh-runner-testing-presubmit-cpu-us-west1';
    await waitRegion(
      await gce.migs.patch({
        project: PROJECT,
        region: REGION,
        instanceGroupManager: name,
        instanceGroupManagerResource: { versions: [{ name: 'base', instanceTemplate: templateUrl(NEW) }] },
      }),
    );
    await setBounds(name, 1, 10);
    sim.control.advance(300);
    assert.deepEqual(await managedTemplates(name), [NEW]);
    const runner = [...sim.model.runners.values()].find((candidate) => candidate.name.startsWith(`${name}-`));
    assert.ok(runner);
    assert.ok(runner.labels.includes('runner-version=2.330.0'));
    assert.ok(runner.labels.includes('environment=testing'));
    assert.equal((await getMig(name)).status?.isStable, true);
  });

  test('deleteInstances lowers the target size; the autoscaler adds a VM back on the current version', async () => {
    const name = 'gh-runner-presubmit-arm64-us-west1';
    const arm64New = sim.control.createTemplate({ group: 'presubmit', type: 'arm64', version: '1111111111-bbb' }).name;
    await waitRegion(
      await gce.migs.patch({
        project: PROJECT,
        region: REGION,
        instanceGroupManager: name,
        instanceGroupManagerResource: { versions: [{ name: 'base', instanceTemplate: templateUrl(arm64New) }] },
      }),
    );
    const [[vm]] = await gce.migs.listManagedInstances({
      project: PROJECT,
      region: REGION,
      instanceGroupManager: name,
    });
    assert.ok(vm?.instance);
    const deleted = await waitRegion(
      await gce.migs.deleteInstances({
        project: PROJECT,
        region: REGION,
        instanceGroupManager: name,
        regionInstanceGroupManagersDeleteInstancesRequestResource: { instances: [vm.instance] },
      }),
    );
    assert.equal(deleted.error ?? undefined, undefined);
    const shrunk = await getMig(name);
    assert.equal(shrunk.targetSize, 0);
    assert.equal(shrunk.currentActions?.deleting, 1);
    sim.control.advance(600);
    const [instances] = await gce.migs.listManagedInstances({
      project: PROJECT,
      region: REGION,
      instanceGroupManager: name,
    });
    assert.deepEqual(
      instances.map((instance) => [instance.version?.instanceTemplate?.split('/').pop(), instance.currentAction]),
      [[arm64New, 'NONE']],
    );
    assert.notEqual(instances[0]?.name, vm.name);

    await assert.rejects(
      gce.migs.deleteInstances({
        project: PROJECT,
        region: REGION,
        instanceGroupManager: name,
        regionInstanceGroupManagersDeleteInstancesRequestResource: { instances: [vm.instance] },
      }),
      (error) => googleError(error).code === 404,
      'an instance that is already gone is refused',
    );
  });

  test('applyUpdatesToInstances replaces an outdated VM under an opportunistic policy', async () => {
    const name = 'gh-runner-postsubmit-gpu-us-east1';
    const gpuNew = sim.control.createTemplate({ group: 'postsubmit', type: 'gpu', version: '1111111111-bbb' }).name;
    const region = 'us-east1';
    await waitRegion(
      await gce.migs.patch({
        project: PROJECT,
        region,
        instanceGroupManager: name,
        instanceGroupManagerResource: { versions: [{ name: 'base', instanceTemplate: templateUrl(gpuNew) }] },
      }),
      region,
    );
    await waitRegion(
      await gce.migs.applyUpdatesToInstances({
        project: PROJECT,
        region,
        instanceGroupManager: name,
        regionInstanceGroupManagersApplyUpdatesRequestResource: { allInstances: true, minimalAction: 'REPLACE' },
      }),
      region,
    );
    sim.control.advance(600);
    const [instances] = await gce.migs.listManagedInstances({ project: PROJECT, region, instanceGroupManager: name });
    assert.deepEqual(
      instances.map((instance) => instance.version?.instanceTemplate?.split('/').pop()),
      [gpuNew],
    );
  });

  test('during a canary, applyUpdatesToInstances replaces the named base VM, not one of its choosing', async () => {
    const name = 'gh-runner-postsubmit-cpu-us-west1';
    const newTemplate = sim.control.createTemplate({
      group: 'postsubmit',
      type: 'cpu',
      version: '4444444444-eee',
    }).name;
    await setBounds(name, 3, 3);
    sim.control.advance(600);
    const [before] = await gce.migs.listManagedInstances({
      project: PROJECT,
      region: REGION,
      instanceGroupManager: name,
    });
    assert.equal(before.length, 3);
    const oldTemplate = (await getMig(name)).versions?.[0]?.instanceTemplate?.split('/').pop() ?? '';
    await waitRegion(
      await gce.migs.patch({
        project: PROJECT,
        region: REGION,
        instanceGroupManager: name,
        instanceGroupManagerResource: {
          // An earlier test left this MIG proactive, which would replace a VM by itself.
          updatePolicy: { type: 'OPPORTUNISTIC' },
          versions: [
            { name: 'base', instanceTemplate: templateUrl(oldTemplate) },
            { name: 'canary', instanceTemplate: templateUrl(newTemplate), targetSize: { fixed: 1 } },
          ],
        },
      }),
    );
    // Any of the three is one too many for the base version's target of two; left to itself the simulated MIG
    // would pick its newest. Name its oldest.
    const oldest = sim.control.mig(name).instances[0]?.name;
    const named = before.find((instance) => instance.name === oldest);
    assert.ok(named?.instance != null);
    await waitRegion(
      await gce.migs.applyUpdatesToInstances({
        project: PROJECT,
        region: REGION,
        instanceGroupManager: name,
        regionInstanceGroupManagersApplyUpdatesRequestResource: {
          instances: [named.instance],
          minimalAction: 'REPLACE',
        },
      }),
    );
    sim.control.advance(600);
    const [after] = await gce.migs.listManagedInstances({
      project: PROJECT,
      region: REGION,
      instanceGroupManager: name,
    });
    assert.ok(!after.some((instance) => instance.name === named.name), `${named.name ?? ''} was replaced`);
    assert.equal(after.length, 3);
    assert.deepEqual(
      (await managedTemplates(name)).filter((template) => template === newTemplate),
      [newTemplate],
    );
  });

  test('a bootlooping template: instances crash before registering and are recreated on the same template', async () => {
    const name = 'gh-runner-testing-postsubmit-cpu-us-west1';
    const looping = 'gh-runner-postsubmit-cpu-3333333333-ddd';
    sim.control.createTemplate({ group: 'postsubmit', type: 'cpu', version: '3333333333-ddd' });
    sim.control.setFaults({ bootloopTemplates: [looping] });
    await waitRegion(
      await gce.migs.patch({
        project: PROJECT,
        region: REGION,
        instanceGroupManager: name,
        instanceGroupManagerResource: { versions: [{ name: 'base', instanceTemplate: templateUrl(looping) }] },
      }),
    );
    await setBounds(name, 1, 10);
    sim.control.advance(15 * 60);
    const view = sim.control.mig(name);
    assert.ok(view.recreations >= 3, `recreated ${view.recreations} times`);
    assert.deepEqual(await managedTemplates(name), [looping]);
    assert.equal(view.isStable, false);
    assert.equal([...sim.model.runners.values()].filter((runner) => runner.template === looping).length, 0);
    sim.control.clearFaults();
  });
});
