import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { protos } from '@google-cloud/compute';
import { FailureType } from '../../activities/index.js';
import { activityEnvironment, failureOf, inActivity, startActivityFixture, type ActivityFixture } from './fixture.js';

const OLD = '0000000000-aaa';
const NEW = '1111111111-bbb';
const template = (group: string, type: string, version: string): string => `gh-runner-${group}-${type}-${version}`;

let fx: ActivityFixture;

before(async () => {
  fx = await startActivityFixture();
  for (const group of ['presubmit', 'postsubmit']) {
    for (const type of ['cpu', 'gpu', 'a100', 'arm64']) fx.sim.control.createTemplate({ group, type, version: NEW });
  }
});
after(async () => {
  await fx.close();
});

function effectivePatches(mig: string): number {
  return fx.sim.control
    .mutations({ endpoint: 'compute.regionInstanceGroupManagers.patch' })
    .filter((entry) => entry.path.includes(`/instanceGroupManagers/${mig}?`) && entry.effective).length;
}

describe('canary, promote, rollback, direct update', () => {
  test('canary after a crash between patch and completion: the retry is a no-op', async () => {
    const mig = { region: 'us-east1', name: 'gh-runner-presubmit-cpu-us-east1' };
    const newTemplate = template('presubmit', 'cpu', NEW);
    // The patch lands, then the connection drops before the answer arrives: the worker saw no result.
    const migs = fx.compute.migs;
    const crashing = fx.activitiesWith({
      compute: {
        ...fx.compute,
        migs: {
          get: migs.get.bind(migs),
          list: migs.list.bind(migs),
          resize: migs.resize.bind(migs),
          listManagedInstances: migs.listManagedInstances.bind(migs),
          deleteInstances: migs.deleteInstances.bind(migs),
          applyUpdatesToInstances: migs.applyUpdatesToInstances.bind(migs),
          patch: async (request: protos.google.cloud.compute.v1.IPatchRegionInstanceGroupManagerRequest) => {
            await migs.patch(request);
            throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
          },
        },
      },
    });
    const env = activityEnvironment({ activityId: 'canary-crash', attempt: 1 });
    const crashed = await failureOf(
      inActivity(env, () => crashing.canaryMig({ mig, template: newTemplate, canarySize: 1 })),
    );
    assert.equal(crashed.type, FailureType.UNAVAILABLE);
    assert.equal(crashed.nonRetryable, false);

    const retry = activityEnvironment({ activityId: 'canary-crash', attempt: 2 });
    const result = await inActivity(retry, () =>
      fx.activities.canaryMig({
        mig,
        template: newTemplate,
        canarySize: 1,
      }),
    );
    assert.equal(result.applied, false);
    assert.deepEqual(result.versions, [
      { name: 'base', instanceTemplate: template('presubmit', 'cpu', OLD) },
      { name: 'canary', instanceTemplate: newTemplate, targetSize: { fixed: 1 } },
    ]);
    assert.equal(effectivePatches(mig.name), 1);
    assert.equal(
      fx.sim.control
        .mutations({ endpoint: 'compute.regionInstanceGroupManagers.patch' })
        .filter((e) => e.path.includes(mig.name)).length,
      1,
    );
  });

  test('patches carry the fingerprint read and a name-based UUID requestId', async () => {
    const mig = { region: 'us-east4', name: 'gh-runner-presubmit-cpu-us-east4' };
    const { fingerprint } = fx.sim.control.mig(mig.name);
    await fx.run('canaryMig', { mig, template: template('presubmit', 'cpu', NEW), canarySize: 2 });
    const [entry] = fx.sim.control
      .mutations({ endpoint: 'compute.regionInstanceGroupManagers.patch' })
      .filter((e) => e.path.includes(mig.name));
    assert.match(entry?.requestId ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal((entry?.body as { fingerprint?: string }).fingerprint, fingerprint);
    assert.equal(fx.sim.control.mig(mig.name).versions[1]?.targetSize?.fixed, 2);
  });

  test('a MIG another tool switched to PROACTIVE gets a busy-safe policy with its canary; no job is killed', async () => {
    const mig = { region: 'us-central1', name: 'gh-runner-postsubmit-cpu-us-central1' };
    await fx.compute.migs.patch({
      project: 'iree-oss',
      region: mig.region,
      instanceGroupManager: mig.name,
      instanceGroupManagerResource: { updatePolicy: { type: 'PROACTIVE' } },
    });
    assert.equal(fx.sim.control.mig(mig.name).updatePolicy.type, 'PROACTIVE');
    fx.sim.control.submitJobs({ environment: 'prod', group: 'postsubmit', type: 'cpu', count: 20 });
    const killedBefore = fx.sim.control.jobs().killed.length;
    await fx.run('canaryMig', { mig, template: template('postsubmit', 'cpu', NEW), canarySize: 1 });
    assert.equal(fx.sim.control.mig(mig.name).updatePolicy.type, 'OPPORTUNISTIC');
    fx.sim.control.advance(600);
    assert.equal(fx.sim.control.jobs().killed.length, killedBefore, 'no running job was killed by a replacement');
  });

  test('canary on a MIG that already has a canary fails with its current versions', async () => {
    const mig = { region: 'us-east1', name: 'gh-runner-presubmit-cpu-us-east1' };
    const failure = await failureOf(
      fx.run('canaryMig', { mig, template: template('presubmit', 'cpu', '2222222222-ccc'), canarySize: 1 }),
    );
    assert.equal(failure.type, FailureType.PRECONDITION_FAILED);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /more than one version/);
    assert.match(failure.message, /canary=gh-runner-presubmit-cpu-1111111111-bbb \(size 1\)/);
    const details = failure.details?.[0] as { versions: unknown[] };
    assert.equal(details.versions.length, 2);
  });

  test('promote makes the canary the base; a retry knowing the template is a no-op', async () => {
    const mig = { region: 'us-east1', name: 'gh-runner-presubmit-cpu-us-east1' };
    const newTemplate = template('presubmit', 'cpu', NEW);
    const promoted = await fx.run('promoteCanary', { mig, template: newTemplate });
    assert.equal(promoted.applied, true);
    assert.deepEqual(promoted.versions, [{ name: 'base', instanceTemplate: newTemplate }]);
    const again = await fx.run('promoteCanary', { mig, template: newTemplate });
    assert.equal(again.applied, false);
    const withoutTemplate = await failureOf(fx.run('promoteCanary', { mig }));
    assert.equal(withoutTemplate.type, FailureType.PRECONDITION_FAILED);
    assert.match(withoutTemplate.message, /no version named "canary"/);
    const rollbackAfterPromote = await failureOf(fx.run('rollbackCanary', { mig, canaryTemplate: newTemplate }));
    assert.equal(rollbackAfterPromote.type, FailureType.PRECONDITION_FAILED);
    assert.match(rollbackAfterPromote.message, /already promoted/);
  });

  test('rollback drops the canary and keeps base; repeating it is a no-op', async () => {
    const mig = { region: 'us-central1', name: 'gh-runner-postsubmit-gpu-us-central1' };
    await fx.run('canaryMig', { mig, template: template('postsubmit', 'gpu', NEW), canarySize: 1 });
    const rolledBack = await fx.run('rollbackCanary', { mig, canaryTemplate: template('postsubmit', 'gpu', NEW) });
    assert.equal(rolledBack.applied, true);
    assert.deepEqual(rolledBack.versions, [{ name: 'base', instanceTemplate: template('postsubmit', 'gpu', OLD) }]);
    const again = await fx.run('rollbackCanary', { mig });
    assert.equal(again.applied, false);
  });

  test('a100 (BALANCED) refuses a canary as UNSUPPORTED_SHAPE and takes a direct update', async () => {
    const mig = { region: 'us-central1', name: 'gh-runner-presubmit-a100-us-central1' };
    const newTemplate = template('presubmit', 'a100', NEW);
    const failure = await failureOf(fx.run('canaryMig', { mig, template: newTemplate, canarySize: 1 }));
    assert.equal(failure.type, FailureType.UNSUPPORTED_SHAPE);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /BALANCED/);
    const updated = await fx.run('directUpdate', { mig, template: newTemplate });
    assert.equal(updated.applied, true);
    assert.deepEqual(updated.versions, [{ name: 'base', instanceTemplate: newTemplate }]);
    assert.equal((await fx.run('directUpdate', { mig, template: newTemplate })).applied, false);
    assert.equal(effectivePatches(mig.name), 1);
  });

  test('a missing template fails once, non-retryably, naming the template', async () => {
    const mig = { region: 'us-west1', name: 'gh-runner-postsubmit-arm64-us-west1' };
    const missing = template('postsubmit', 'arm64', '9999999999-zzz');
    const before = fx.sim.control.counters()['compute.regionInstanceGroupManagers.patch']?.requests ?? 0;
    const failure = await failureOf(fx.run('canaryMig', { mig, template: missing, canarySize: 1 }));
    assert.equal(failure.type, FailureType.TEMPLATE_NOT_FOUND);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, new RegExp(`instance template ${missing} does not exist`));
    assert.equal((fx.sim.control.counters()['compute.regionInstanceGroupManagers.patch']?.requests ?? 0) - before, 1);
  });

  test('a concurrent change (412 stale fingerprint) is retryable, and the retry succeeds on a fresh read', async () => {
    const mig = { region: 'us-west1', name: 'gh-runner-postsubmit-cpu-us-west1' };
    fx.sim.control.setFaults({
      endpoints: [{ endpoint: 'compute.regionInstanceGroupManagers.patch', status: 412, count: 1 }],
    });
    const failure = await failureOf(fx.run('directUpdate', { mig, template: template('postsubmit', 'cpu', NEW) }));
    assert.equal(failure.type, FailureType.STALE_FINGERPRINT);
    assert.equal(failure.nonRetryable, false);
    fx.sim.control.clearFaults();
    assert.equal((await fx.run('directUpdate', { mig, template: template('postsubmit', 'cpu', NEW) })).applied, true);
  });

  test('5xx and 403 rateLimitExceeded are retryable failures; 400 is not', async () => {
    const mig = { region: 'us-west1', name: 'gh-runner-postsubmit-gpu-us-west1' };
    fx.sim.control.setFaults({
      endpoints: [{ endpoint: 'compute.regionInstanceGroupManagers.get', status: 503, count: 1 }],
    });
    const unavailable = await failureOf(fx.run('getAutoscaling', mig));
    assert.equal(unavailable.type, FailureType.UNAVAILABLE);
    assert.equal(unavailable.nonRetryable, false);
    fx.sim.control.setFaults({
      endpoints: [{ endpoint: 'compute.regionInstanceGroupManagers.get', status: 403, count: 1 }],
    });
    const limited = await failureOf(fx.run('getAutoscaling', mig));
    assert.equal(limited.type, FailureType.RATE_LIMITED);
    assert.equal(limited.nonRetryable, false);
    fx.sim.control.setFaults({
      endpoints: [{ endpoint: 'compute.regionInstanceGroupManagers.get', status: 429, count: 1 }],
    });
    assert.equal((await failureOf(fx.run('getAutoscaling', mig))).type, FailureType.RATE_LIMITED);
    fx.sim.control.setFaults({
      endpoints: [{ endpoint: 'compute.regionInstanceGroupManagers.get', status: 400, count: 1 }],
    });
    const invalid = await failureOf(fx.run('getAutoscaling', mig));
    assert.equal(invalid.type, FailureType.INVALID_REQUEST);
    assert.equal(invalid.nonRetryable, true);
    fx.sim.control.clearFaults();
  });

  test('the retry of an operation that failed sends a new request id and succeeds; a spent quota is transient', async () => {
    const mig = { region: 'us-east4', name: 'gh-runner-postsubmit-cpu-us-east4' };
    const change = { mig, template: template('postsubmit', 'cpu', NEW) };
    fx.sim.control.setFaults({
      endpoints: [
        {
          endpoint: 'compute.regionInstanceGroupManagers.patch',
          status: 403,
          operationError: 'CONCURRENT_OPERATIONS_QUOTA_EXCEEDED',
          count: 1,
        },
      ],
    });
    const first = await failureOf(
      inActivity(activityEnvironment({ activityId: 'direct-retried', attempt: 1 }), () =>
        fx.activities.directUpdate(change),
      ),
    );
    assert.equal(first.type, FailureType.RATE_LIMITED);
    assert.equal(first.nonRetryable, false);
    fx.sim.control.clearFaults();
    // Temporal's retry: same activity, next attempt. GCP would answer a repeated request id with the failure again.
    const retried = await inActivity(activityEnvironment({ activityId: 'direct-retried', attempt: 2 }), () =>
      fx.activities.directUpdate(change),
    );
    assert.equal(retried.applied, true);
    assert.equal(fx.sim.control.mig(mig.name).versions[0]?.template, change.template);
    const ids = fx.sim.control
      .mutations({ endpoint: 'compute.regionInstanceGroupManagers.patch' })
      .filter((entry) => entry.path.includes(`/${mig.name}?`))
      .map((entry) => entry.requestId);
    assert.equal(new Set(ids).size, ids.length, 'each attempt its own request id');
  });

  test('a missing permission fails at once, naming the permission and the resource', async () => {
    const mig = { region: 'us-west1', name: 'gh-runner-postsubmit-arm64-us-west1' };
    fx.sim.control.setFaults({
      endpoints: [{ endpoint: 'compute.regionInstanceGroupManagers.patch', kind: 'forbidden', count: 1 }],
    });
    const denied = await failureOf(fx.run('directUpdate', { mig, template: template('postsubmit', 'arm64', NEW) }));
    fx.sim.control.clearFaults();
    assert.equal(denied.type, FailureType.PERMISSION_DENIED);
    assert.equal(denied.nonRetryable, true, 'no retry can grant a permission');
    assert.match(denied.message, /compute\.instanceGroupManagers\.update/);
    assert.match(denied.message, new RegExp(`instanceGroupManagers/${mig.name}`));
  });

  test('an operation that finishes with an error fails with its code', async () => {
    const mig = { region: 'us-west1', name: 'gh-runner-postsubmit-gpu-us-west1' };
    fx.sim.control.setFaults({
      endpoints: [
        {
          endpoint: 'compute.regionInstanceGroupManagers.patch',
          status: 400,
          operationError: 'RESOURCE_NOT_READY',
          count: 1,
        },
      ],
    });
    const failure = await failureOf(fx.run('directUpdate', { mig, template: template('postsubmit', 'gpu', NEW) }));
    fx.sim.control.clearFaults();
    assert.equal(failure.type, FailureType.OPERATION_FAILED);
    assert.match(failure.message, /RESOURCE_NOT_READY/);
  });
});
