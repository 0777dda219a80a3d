import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';

import { googleError, turnAutoscalerOff } from './clients.js';
import {
  PROJECT,
  REGION,
  templateUrl,
  type Operation,
  getMig,
  waitRegion,
  gce,
  sim,
  useComputeSimulator,
} from './compute-simulator.js';

describe('simulator: compute API through the real @google-cloud/compute clients: refusals: stale fingerprints, repeated request ids, bad versions, operation errors, faults, bad requests', () => {
  useComputeSimulator();

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
    await turnAutoscalerOff(gce, { project: PROJECT, region: REGION, mig: name });
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

  test('an autoscaled MIG refuses a resize with 412 conditionNotMet until its autoscaler is off', async () => {
    const name = 'gh-runner-postsubmit-cpu-us-west1';
    await assert.rejects(
      gce.migs.resize({ project: PROJECT, region: REGION, instanceGroupManager: name, size: 3 }),
      (error) => {
        const failure = googleError(error);
        assert.deepEqual([failure.code, failure.reason], [412, 'conditionNotMet']);
        assert.match(failure.message, /set autoscaling policy mode to OFF/);
        return true;
      },
    );
    assert.equal((await getMig(name)).targetSize, 1, 'the refused resize changed nothing');
    await turnAutoscalerOff(gce, { project: PROJECT, region: REGION, mig: name });
    await waitRegion(await gce.migs.resize({ project: PROJECT, region: REGION, instanceGroupManager: name, size: 3 }));
    assert.equal((await getMig(name)).targetSize, 3);
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
