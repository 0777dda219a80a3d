import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { protos } from '@google-cloud/compute';
import { FailureType } from '../../activities/index.js';
import { activityEnvironment, failureOf, inActivity, startActivityFixture, type ActivityFixture } from './fixture.js';

let fx: ActivityFixture;

before(async () => {
  fx = await startActivityFixture();
});
after(async () => {
  await fx.close();
});

describe('autoscaling', () => {
  test('set then read bounds; setting the same bounds again changes nothing', async () => {
    const mig = { region: 'us-west1', name: 'gh-runner-testing-presubmit-cpu-us-west1' };
    assert.deepEqual(await fx.run('setAutoscaling', { mig, bounds: { min: 1, max: 10 } }), { min: 1, max: 10 });
    assert.deepEqual(await fx.run('getAutoscaling', mig), { min: 1, max: 10 });
    const patchesBefore = fx.sim.control.mutations({ endpoint: 'compute.regionAutoscalers.patch' }).length;
    await fx.run('setAutoscaling', { mig, bounds: { min: 1, max: 10 } });
    assert.equal(fx.sim.control.mutations({ endpoint: 'compute.regionAutoscalers.patch' }).length, patchesBefore);
    assert.equal(fx.sim.control.mig(mig.name).autoscaler.max, 10);
  });

  test('two runs of a MIG worker setting the same bounds both take effect; a retry re-sends the same request', async () => {
    const mig = { region: 'us-west1', name: 'gh-runner-testing-postsubmit-arm64-us-west1' };
    // Per-MIG worker ids repeat across rollouts, and activity ids restart with every run.
    const workerRun = (runId: string, attempt = 1) =>
      activityEnvironment({
        workflowExecution: { workflowId: `mig-worker-${mig.name}`, runId },
        activityId: '3',
        attempt,
      });
    const setBounds = (env: ReturnType<typeof activityEnvironment>, min: number, max: number) =>
      inActivity(env, () => fx.activities.setAutoscaling({ mig, bounds: { min, max } }));
    const autoscalerPatches = () =>
      fx.sim.control
        .mutations({ endpoint: 'compute.regionAutoscalers.patch' })
        .filter((entry) => entry.path.includes(`autoscaler=${mig.name}`));

    await setBounds(workerRun('first-rollout'), 1, 10);
    await fx.run('setAutoscaling', { mig, bounds: { min: 0, max: 0 } });
    await setBounds(workerRun('second-rollout'), 1, 10);
    assert.deepEqual(await fx.run('getAutoscaling', mig), { min: 1, max: 10 });
    assert.deepEqual(
      autoscalerPatches().map((entry) => entry.effective),
      [true, true, true],
    );

    // A retry: the first attempt's request is lost on the way out, the second attempt applies the change, and
    // then the lost request arrives after all. It carries the same request id, so GCP answers it as a duplicate.
    await fx.run('setAutoscaling', { mig, bounds: { min: 0, max: 0 } });
    const lost: protos.google.cloud.compute.v1.IPatchRegionAutoscalerRequest[] = [];
    const autoscalers = fx.compute.autoscalers;
    const losing = fx.activitiesWith({
      compute: {
        ...fx.compute,
        autoscalers: {
          get: autoscalers.get.bind(autoscalers),
          patch: async (request: protos.google.cloud.compute.v1.IPatchRegionAutoscalerRequest) => {
            lost.push(request);
            throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
          },
        },
      },
    });
    const failed = await failureOf(
      inActivity(workerRun('third-rollout'), () => losing.setAutoscaling({ mig, bounds: { min: 2, max: 4 } })),
    );
    assert.equal(failed.type, FailureType.UNAVAILABLE);
    await setBounds(workerRun('third-rollout', 2), 2, 4);
    const [late] = lost;
    assert.ok(late !== undefined);
    await autoscalers.patch(late);
    const [retried, duplicate] = autoscalerPatches().slice(-2);
    assert.equal(duplicate?.requestId, late.requestId);
    assert.equal(retried?.requestId, late.requestId);
    assert.deepEqual([retried?.effective, duplicate?.effective], [true, false]);
    assert.deepEqual(await fx.run('getAutoscaling', mig), { min: 2, max: 4 });
  });

  test('invalid bounds are refused before any call', async () => {
    const failure = await failureOf(
      fx.run('setAutoscaling', { mig: { region: 'us-west1', name: 'x' }, bounds: { min: 3, max: 1 } }),
    );
    assert.equal(failure.type, FailureType.INVALID_REQUEST);
  });
});
