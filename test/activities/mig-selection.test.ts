import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FailureType } from '../../activities/index.js';
import type { MigLocator } from '../../activities/contract.js';
import { failureOf, startActivityFixture, type ActivityFixture } from './fixture.js';

const OLD = '0000000000-aaa';
const cpuWest = { region: 'us-west1', name: 'gh-runner-presubmit-cpu-us-west1' } satisfies MigLocator;
const template = (group: string, type: string, version: string): string => `gh-runner-${group}-${type}-${version}`;

let fx: ActivityFixture;

before(async () => {
  fx = await startActivityFixture();
});
after(async () => {
  await fx.close();
});

describe('MIG selection and observation', () => {
  test('selectMigs lists each selected region once and returns only the selected MIGs', async () => {
    fx.sim.control.resetCounters();
    const migs = await fx.run('selectMigs', {
      environment: 'prod',
      regions: 'us-(west|east)1',
      groups: 'all',
      types: '[^a]\\w+',
    });
    assert.deepEqual(
      migs.map((mig) => mig.name),
      [
        'gh-runner-postsubmit-cpu-us-east1',
        'gh-runner-postsubmit-cpu-us-west1',
        'gh-runner-postsubmit-gpu-us-east1',
        'gh-runner-postsubmit-gpu-us-west1',
        'gh-runner-presubmit-cpu-us-east1',
        'gh-runner-presubmit-cpu-us-west1',
        'gh-runner-presubmit-gpu-us-east1',
        'gh-runner-presubmit-gpu-us-west1',
      ],
    );
    const counters = fx.sim.control.counters();
    assert.equal(counters['compute.regions.list']?.requests, 1);
    assert.equal(counters['compute.regionInstanceGroupManagers.list']?.requests, 2);
    const first = migs[0];
    assert.ok(first !== undefined);
    assert.deepEqual(first.ref, { environment: 'prod', group: 'postsubmit', type: 'cpu', region: 'us-east1' });
    assert.deepEqual(first.versions, [{ name: 'base', instanceTemplate: template('postsubmit', 'cpu', OLD) }]);
    assert.ok((first.instancesByTemplate[template('postsubmit', 'cpu', OLD)] ?? 0) > 0);
  });

  test('a region selector with regex escapes reaches GCP intact, in quotes', async () => {
    const migs = await fx.run('selectMigs', {
      environment: 'prod',
      regions: 'us-\\w+1',
      groups: 'presubmit',
      types: 'cpu',
    });
    const same = await fx.run('selectMigs', {
      environment: 'prod',
      regions: 'us-[a-z0-9_]+1',
      groups: 'presubmit',
      types: 'cpu',
    });
    assert.ok(migs.length > 1, `found ${migs.map((mig) => mig.name).join(', ')}`);
    assert.deepEqual(
      migs.map((mig) => mig.name),
      same.map((mig) => mig.name),
    );
  });

  test('testing MIGs are selected separately from prod', async () => {
    const migs = await fx.run('selectMigs', {
      environment: 'testing',
      regions: 'all',
      groups: 'presubmit',
      types: 'cpu',
    });
    assert.deepEqual(
      migs.map((mig) => mig.name),
      ['gh-runner-testing-presubmit-cpu-us-west1'],
    );
  });

  test('a bad selector is a non-retryable INVALID_REQUEST', async () => {
    const failure = await failureOf(
      fx.run('selectMigs', { environment: 'prod', regions: '(?=us)', groups: 'all', types: 'all' }),
    );
    assert.equal(failure.type, FailureType.INVALID_REQUEST);
    assert.equal(failure.nonRetryable, true);
  });

  test('a selected MIG reports its versions, stability, shape, fingerprint and instances per template', async () => {
    const [snapshot] = await fx.run('selectMigs', {
      environment: 'prod',
      regions: cpuWest.region,
      groups: 'presubmit',
      types: 'cpu',
    });
    assert.ok(snapshot !== undefined);
    assert.equal(snapshot.name, cpuWest.name);
    assert.equal(snapshot.isStable, true);
    assert.equal(snapshot.versionTargetReached, true);
    assert.equal(snapshot.distributionShape, 'EVEN');
    assert.equal(snapshot.fingerprint, fx.sim.control.mig(cpuWest.name).fingerprint);
    assert.deepEqual(snapshot.instancesByTemplate, { [template('presubmit', 'cpu', OLD)]: snapshot.targetSize });
  });

  test('a MIG that does not exist is MIG_NOT_FOUND, not retried', async () => {
    const failure = await failureOf(
      fx.run('getAutoscaling', { region: 'us-west1', name: 'gh-runner-presubmit-nope-us-west1' }),
    );
    assert.equal(failure.type, FailureType.MIG_NOT_FOUND);
    assert.equal(failure.nonRetryable, true);
  });
});
