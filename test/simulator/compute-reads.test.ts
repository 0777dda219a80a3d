import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { googleError } from './clients.js';
import { PROJECT, REGION, OLD, type Operation, getMig, gce, useComputeSimulator } from './compute-simulator.js';

describe('simulator: compute API through the real @google-cloud/compute clients: reads: regions, MIG lists, the initial fleet, templates', () => {
  useComputeSimulator();

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
});
