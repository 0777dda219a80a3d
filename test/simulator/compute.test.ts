import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import type { protos } from '@google-cloud/compute';

import { startSimulator, type SimulatorHandle } from '../../simulator/index.js';
import { closeComputeClients, computeClients, googleError, type ComputeClients } from './clients.js';

type Operation = protos.google.cloud.compute.v1.IOperation;

const PROJECT = 'iree-oss';
const REGION = 'us-west1';
const OLD = 'gh-runner-presubmit-cpu-0000000000-aaa';
const NEW = 'gh-runner-presubmit-cpu-1111111111-bbb';
const templateUrl = (name: string): string => `projects/${PROJECT}/global/instanceTemplates/${name}`;

describe('simulator: compute API through the real @google-cloud/compute clients', () => {
  let sim: SimulatorHandle;
  let gce: ComputeClients;

  before(async () => {
    sim = await startSimulator({
      speed: 0,
      seed: 7,
      startTime: '2026-03-02T00:00:00Z',
      jobRates: [],
      // Frozen clock: operations would never finish; compute-production.test.ts covers their durations.
      behaviours: { operationDurations: false },
    });
    gce = computeClients(sim.url);
    sim.control.createTemplate({
      group: 'presubmit',
      type: 'cpu',
      version: '1111111111-bbb',
      runnerVersion: '2.330.0',
    });
  });

  after(async () => {
    await closeComputeClients(gce);
    await sim.close();
  });

  async function getMig(name: string, region = REGION) {
    const [mig] = await gce.migs.get({ project: PROJECT, region, instanceGroupManager: name });
    return mig;
  }

  async function waitRegion(
    response: [{ latestResponse: unknown }, ...unknown[]],
    region = REGION,
  ): Promise<Operation> {
    let operation = response[0].latestResponse as Operation;
    while (operation.status !== 'DONE') {
      [operation] = await gce.regionOperations.wait({ project: PROJECT, region, operation: operation.name ?? '' });
    }
    return operation;
  }

  async function managedTemplates(name: string): Promise<string[]> {
    const [instances] = await gce.migs.listManagedInstances({
      project: PROJECT,
      region: REGION,
      instanceGroupManager: name,
    });
    return instances.map((instance) => instance.version?.instanceTemplate?.split('/').pop() ?? '').sort();
  }

  async function setBounds(name: string, min: number, max: number): Promise<void> {
    await waitRegion(
      await gce.autoscalers.patch({
        project: PROJECT,
        region: REGION,
        autoscaler: name,
        autoscalerResource: { name, autoscalingPolicy: { minNumReplicas: min, maxNumReplicas: max } },
      }),
    );
  }

  test('regions list honours a filter', async () => {
    const [all] = await gce.regions.list({ project: PROJECT });
    assert.deepEqual(all.map((region) => region.name).sort(), ['us-central1', 'us-east1', 'us-east4', 'us-west1']);
    const [east] = await gce.regions.list({ project: PROJECT, filter: "name eq 'us-east.*'" });
    assert.deepEqual(east.map((region) => region.name).sort(), ['us-east1', 'us-east4']);
  });

  test('MIG list filters with RE2 and paginates with page tokens', async () => {
    const [all] = await gce.migs.list({ project: PROJECT, region: REGION, maxResults: 3 });
    assert.equal(all.length, 16, 'auto-pagination collects 8 prod + 8 testing MIGs');
    const [firstPage, nextRequest] = await gce.migs.list(
      { project: PROJECT, region: REGION, maxResults: 3 },
      { autoPaginate: false },
    );
    assert.equal(firstPage.length, 3);
    assert.ok(nextRequest?.pageToken, 'a nextPageToken leads to the second page');
    const [testing] = await gce.migs.list({
      project: PROJECT,
      region: REGION,
      filter: "name eq 'gh-runner-testing-.*'",
    });
    assert.equal(testing.length, 8);
    const [prodCpu] = await gce.migs.list({
      project: PROJECT,
      region: REGION,
      filter: 'name eq gh-runner-(presubmit|postsubmit)-cpu-.*',
    });
    assert.deepEqual(prodCpu.map((mig) => mig.name).sort(), [
      'gh-runner-postsubmit-cpu-us-west1',
      'gh-runner-presubmit-cpu-us-west1',
    ]);
  });

  test('the initial fleet: one base version, registered runners, autoscaler bounds, BALANCED a100', async () => {
    const mig = await getMig('gh-runner-presubmit-cpu-us-west1');
    assert.deepEqual(
      mig.versions?.map((version) => [version.name, version.instanceTemplate?.split('/').pop()]),
      [['base', OLD]],
    );
    assert.equal(mig.status?.isStable, true);
    assert.equal(mig.status?.versionTarget?.isReached, true);
    const [autoscaler] = await gce.autoscalers.get({
      project: PROJECT,
      region: REGION,
      autoscaler: 'gh-runner-presubmit-cpu-us-west1',
    });
    assert.equal(autoscaler.autoscalingPolicy?.minNumReplicas, 1);
    assert.equal(autoscaler.autoscalingPolicy?.maxNumReplicas, 10);
    assert.equal((await getMig('gh-runner-presubmit-a100-us-west1')).distributionPolicy?.targetShape, 'BALANCED');
    const testing = await getMig('gh-runner-testing-presubmit-cpu-us-west1');
    assert.equal(testing.targetSize, 0);
  });

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

  test('a stale fingerprint is refused with 412 conditionNotMet', async () => {
    const name = 'gh-runner-presubmit-gpu-us-west1';
    const stale = (await getMig(name)).fingerprint ?? '';
    await waitRegion(
      await gce.migs.patch({
        project: PROJECT,
        region: REGION,
        instanceGroupManager: name,
        instanceGroupManagerResource: {
          fingerprint: stale,
          updatePolicy: { type: 'PROACTIVE', minimalAction: 'REFRESH', mostDisruptiveAllowedAction: 'REFRESH' },
        },
      }),
    );
    await assert.rejects(
      gce.migs.patch({
        project: PROJECT,
        region: REGION,
        instanceGroupManager: name,
        instanceGroupManagerResource: { fingerprint: stale, updatePolicy: { type: 'OPPORTUNISTIC' } },
      }),
      (error) => {
        const failure = googleError(error);
        assert.equal(failure.code, 412);
        assert.equal(failure.reason, 'conditionNotMet');
        return true;
      },
    );
  });

  test('a repeated requestId returns the first operation and has no second effect', async () => {
    const name = 'gh-runner-postsubmit-gpu-us-west1';
    const first = randomUUID();
    const [a] = await gce.migs.resize({
      project: PROJECT,
      region: REGION,
      instanceGroupManager: name,
      size: 4,
      requestId: first,
    });
    await gce.migs.resize({
      project: PROJECT,
      region: REGION,
      instanceGroupManager: name,
      size: 2,
      requestId: randomUUID(),
    });
    const [b] = await gce.migs.resize({
      project: PROJECT,
      region: REGION,
      instanceGroupManager: name,
      size: 4,
      requestId: first,
    });
    assert.equal((b.latestResponse as Operation).name, (a.latestResponse as Operation).name);
    assert.equal((await getMig(name)).targetSize, 2, 'the retried resize did not apply again');
    const log = sim.control.mutations({ endpoint: 'compute.regionInstanceGroupManagers.resize' });
    assert.deepEqual(
      log.filter((entry) => entry.path.includes(name)).map((entry) => [entry.requestId === first, entry.effective]),
      [
        [true, true],
        [false, true],
        [true, false],
      ],
    );
  });

  test('an a100 MIG (BALANCED) rejects a second version with a clear 400', async () => {
    const a100 = 'gh-runner-presubmit-a100-us-west1';
    sim.control.createTemplate({ group: 'presubmit', type: 'a100', version: '1111111111-bbb' });
    await assert.rejects(
      gce.migs.patch({
        project: PROJECT,
        region: REGION,
        instanceGroupManager: a100,
        instanceGroupManagerResource: {
          versions: [
            { name: 'base', instanceTemplate: templateUrl('gh-runner-presubmit-a100-0000000000-aaa') },
            {
              name: 'canary',
              instanceTemplate: templateUrl('gh-runner-presubmit-a100-1111111111-bbb'),
              targetSize: { fixed: 1 },
            },
          ],
        },
      }),
      (error) => {
        const failure = googleError(error);
        assert.equal(failure.code, 400);
        assert.equal(failure.reason, 'invalid');
        assert.match(failure.message, /BALANCED.*more than one version/);
        return true;
      },
    );
  });

  test('operation errors surface on the operation, and the mutation has no effect', async () => {
    const name = 'gh-runner-postsubmit-arm64-us-west1';
    sim.control.setFaults({
      endpoints: [
        {
          endpoint: 'compute.regionInstanceGroupManagers.resize',
          operationError: 'ZONE_RESOURCE_POOL_EXHAUSTED',
          status: 400,
          count: 1,
        },
      ],
    });
    const operation = await waitRegion(
      await gce.migs.resize({ project: PROJECT, region: REGION, instanceGroupManager: name, size: 5 }),
    );
    sim.control.clearFaults();
    assert.equal(operation.status, 'DONE');
    assert.equal(operation.error?.errors?.[0]?.code, 'ZONE_RESOURCE_POOL_EXHAUSTED');
    assert.equal(operation.httpErrorStatusCode, 400);
    assert.equal((await getMig(name)).targetSize, 1);
  });

  test('injected 503 and 403 rateLimitExceeded arrive in Google error shape', async () => {
    sim.control.setFaults({
      endpoints: [
        { endpoint: 'compute.regionInstanceGroupManagers.get', status: 503, count: 1 },
        { endpoint: 'compute.regionInstanceGroupManagers.*', status: 403, count: 1 },
      ],
    });
    await assert.rejects(getMig('gh-runner-presubmit-cpu-us-west1'), (error) => googleError(error).code === 503);
    await assert.rejects(getMig('gh-runner-presubmit-cpu-us-west1'), (error) => {
      const failure = googleError(error);
      return failure.code === 403 && failure.reason === 'rateLimitExceeded';
    });
    assert.ok(await getMig('gh-runner-presubmit-cpu-us-west1'), 'count-limited rules are spent');
    sim.control.clearFaults();
    assert.equal(sim.control.counters()['compute.regionInstanceGroupManagers.get']?.injectedFaults, 2);
  });

  test('templates: insert through a global operation, get, list with filter, duplicate is 409', async () => {
    const resource = {
      name: 'gh-runner-postsubmit-gpu-2222222222-ccc',
      properties: {
        machineType: 'n1-standard-16',
        metadata: { items: [{ key: 'github-runner-version', value: '2.331.0' }] },
      },
    };
    const [insert] = await gce.templates.insert({ project: PROJECT, instanceTemplateResource: resource });
    let operation = insert.latestResponse as Operation;
    [operation] = await gce.globalOperations.wait({ project: PROJECT, operation: operation.name ?? '' });
    assert.equal(operation.status, 'DONE');
    assert.equal(operation.error ?? undefined, undefined);
    const [template] = await gce.templates.get({ project: PROJECT, instanceTemplate: resource.name });
    assert.equal(template.properties?.metadata?.items?.[0]?.value, '2.331.0');
    const [found] = await gce.templates.list({ project: PROJECT, filter: "name eq '.*-2222222222-ccc'" });
    assert.deepEqual(
      found.map((candidate) => candidate.name),
      [resource.name],
    );
    await assert.rejects(gce.templates.insert({ project: PROJECT, instanceTemplateResource: resource }), (error) => {
      const failure = googleError(error);
      return failure.code === 409 && failure.reason === 'alreadyExists';
    });
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

  test('bad requests get Google-shaped errors, never a crash', async () => {
    const base = `${sim.url}/compute/v1/projects/${PROJECT}/regions/${REGION}/instanceGroupManagers`;
    const badJson = await fetch(`${base}/gh-runner-presubmit-cpu-us-west1`, { method: 'PATCH', body: '{not json' });
    assert.equal(badJson.status, 400);
    assert.equal(
      ((await badJson.json()) as { error: { errors: Array<{ reason: string }> } }).error.errors[0]?.reason,
      'parseError',
    );
    const badFilter = await fetch(`${base}?filter=${encodeURIComponent('name = (')}`);
    assert.equal(badFilter.status, 400);
    const badRequestId = await fetch(`${base}/gh-runner-presubmit-cpu-us-west1/resize?size=2&requestId=retry-1`, {
      method: 'POST',
      body: '""',
    });
    assert.equal(badRequestId.status, 400);
    assert.match(await badRequestId.text(), /UUID/);
    const unknownPath = await fetch(`${sim.url}/compute/v1/projects/${PROJECT}/nothing/here`);
    assert.equal(unknownPath.status, 404);
    await assert.rejects(getMig('gh-runner-presubmit-cpu-nowhere1'), (error) => googleError(error).code === 404);
    await assert.rejects(
      gce.migs.patch({
        project: PROJECT,
        region: REGION,
        instanceGroupManager: 'gh-runner-presubmit-cpu-us-west1',
        instanceGroupManagerResource: {
          versions: [{ name: 'base', instanceTemplate: templateUrl('no-such-template') }],
        },
      }),
      (error) => googleError(error).code === 400 && /does not exist/.test(googleError(error).message),
    );
  });
});
