/**
 * The production profile's Compute behaviours, each against the ideal profile's kinder answer, through the real
 * @google-cloud/compute clients. Time stands still (speed 0) unless a test advances it or says otherwise.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';

import type { protos } from '@google-cloud/compute';

import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../simulator/index.js';
import { closeComputeClients, computeClients, googleError, type ComputeClients } from './clients.js';

type Operation = protos.google.cloud.compute.v1.IOperation;

const PROJECT = 'iree-oss';
const REGION = 'us-west1';
const CPU_MIG = 'gh-runner-presubmit-cpu-us-west1';
const templateUrl = (name: string): string => `projects/${PROJECT}/global/instanceTemplates/${name}`;

interface Context {
  readonly sim: SimulatorHandle;
  readonly gce: ComputeClients;
}

async function withSimulator(options: SimulatorOptions, run: (context: Context) => Promise<void>): Promise<void> {
  const sim = await startSimulator({ speed: 0, seed: 7, startTime: '2026-03-02T00:00:00Z', jobRates: [], ...options });
  const gce = computeClients(sim.url);
  try {
    await run({ sim, gce });
  } finally {
    await closeComputeClients(gce);
    await sim.close();
  }
}

const latest = (response: [{ latestResponse: unknown }, ...unknown[]]): Operation =>
  response[0].latestResponse as Operation;

function patchAutoscaler(gce: ComputeClients, min: number, requestId?: string) {
  return gce.autoscalers.patch({
    project: PROJECT,
    region: REGION,
    autoscaler: CPU_MIG,
    autoscalerResource: { name: CPU_MIG, autoscalingPolicy: { minNumReplicas: min, maxNumReplicas: 10 } },
    ...(requestId === undefined ? {} : { requestId }),
  });
}

async function getOperation(gce: ComputeClients, name: string): Promise<Operation> {
  const [operation] = await gce.regionOperations.get({ project: PROJECT, region: REGION, operation: name });
  return operation;
}

async function waitOperation(gce: ComputeClients, name: string): Promise<Operation> {
  const [operation] = await gce.regionOperations.wait({ project: PROJECT, region: REGION, operation: name });
  return operation;
}

describe('simulator: production Compute behaviours against the ideal profile', () => {
  test('operationDurations: PENDING, then RUNNING with progress, then DONE; wait at a frozen clock answers at once', async () => {
    await withSimulator({}, async ({ sim, gce }) => {
      const accepted = latest(await patchAutoscaler(gce, 2));
      assert.equal(accepted.status, 'PENDING');
      assert.equal(accepted.progress, 0);
      assert.ok(accepted.startTime == null, 'no startTime before it runs');
      assert.ok(accepted.endTime == null);
      const name = accepted.name ?? '';

      sim.control.advance(2);
      const running = await waitOperation(gce, name);
      assert.equal(running.status, 'RUNNING', 'a wait at speed 0 returns the current state');
      assert.ok((running.progress ?? -1) > 0 && (running.progress ?? 100) < 100, `progress ${running.progress}`);
      assert.ok((running.startTime ?? '') >= (running.insertTime ?? '') && running.startTime != null);
      assert.ok(running.endTime == null);

      sim.control.advance(60);
      const done = await getOperation(gce, name);
      assert.equal(done.status, 'DONE');
      assert.equal(done.progress, 100);
      const [insert, start, end] = [done.insertTime, done.startTime, done.endTime].map((t) => Date.parse(t ?? ''));
      assert.ok(insert !== undefined && start !== undefined && end !== undefined);
      assert.ok(insert < start && start < end, 'insertTime < startTime < endTime');
      const seconds = (end - insert) / 1000;
      assert.ok(seconds >= 2 && seconds <= 30, `an autoscaler patch takes ${seconds} s`);
    });
    await withSimulator({ profile: 'ideal' }, async ({ gce }) => {
      assert.equal(latest(await patchAutoscaler(gce, 2)).status, 'DONE', 'ideal: DONE at once');
    });
  });

  test('operationDurations: the effect applies at the request while the operation still runs', async () => {
    await withSimulator({}, async ({ gce }) => {
      const accepted = latest(await patchAutoscaler(gce, 3));
      assert.notEqual(accepted.status, 'DONE');
      const [autoscaler] = await gce.autoscalers.get({ project: PROJECT, region: REGION, autoscaler: CPU_MIG });
      assert.equal(autoscaler.autoscalingPolicy?.minNumReplicas, 3);
    });
  });

  test('operationSeconds fault: slow operation; its injected error appears only once DONE', async () => {
    const faults = {
      endpoints: [
        {
          endpoint: 'compute.regionAutoscalers.patch',
          operationSeconds: 300,
          operationError: 'RESOURCE_NOT_READY',
          status: 400,
        },
      ],
    };
    await withSimulator({ faults }, async ({ sim, gce }) => {
      const name = latest(await patchAutoscaler(gce, 2)).name ?? '';
      sim.control.advance(299);
      const running = await getOperation(gce, name);
      assert.equal(running.status, 'RUNNING');
      assert.ok(running.error == null, 'no error while it runs');
      sim.control.advance(1);
      const done = await getOperation(gce, name);
      assert.equal(done.status, 'DONE');
      assert.equal(done.error?.errors?.[0]?.code, 'RESOURCE_NOT_READY');
      assert.equal(done.httpErrorStatusCode, 400);
      assert.equal(Date.parse(done.endTime ?? '') - Date.parse(done.insertTime ?? ''), 300_000);
    });
    // The kinder answer: without the rule the same request is DONE at once and succeeds.
    await withSimulator({ profile: 'ideal' }, async ({ gce }) => {
      const operation = latest(await patchAutoscaler(gce, 2));
      assert.equal(operation.status, 'DONE');
      assert.ok(operation.error == null);
    });
  });

  test('operationDurations: wait blocks at most 120 simulated seconds and follows a manual advance', async () => {
    const faults = { endpoints: [{ endpoint: 'compute.regionAutoscalers.patch', operationSeconds: 1000 }] };
    // 600 simulated seconds per real second: the 2-minute deadline passes in 0.2 s of real time.
    await withSimulator({ faults, speed: 600 }, async ({ sim, gce }) => {
      const name = latest(await patchAutoscaler(gce, 2)).name ?? '';
      const before = sim.model.now();
      const waited = await waitOperation(gce, name);
      const seconds = (sim.model.now() - before) / 1000;
      assert.equal(waited.status, 'RUNNING', 'the deadline passed first: returned as it is');
      assert.ok(seconds <= 150, `wait returned after ${seconds} simulated seconds`);
    });
    // Nearly frozen: the wait ends only because the clock is advanced past the operation's end. The patch is sent
    // while time stands still, since at this speed its own latency would last minutes of real time; the wait's
    // latency is ended by the advance too.
    await withSimulator({ faults }, async ({ sim, gce }) => {
      const name = latest(await patchAutoscaler(gce, 2)).name ?? '';
      sim.control.setSpeed(0.001);
      const waiting = waitOperation(gce, name);
      await new Promise((resolve) => setTimeout(resolve, 100));
      sim.control.advance(1000);
      assert.equal((await waiting).status, 'DONE');
    });
  });

  test('requestIdExpiry: a request id is remembered for 60 minutes, then a repeat is a new request', async () => {
    const repeatAfter = async (
      profile: NonNullable<SimulatorOptions['profile']>,
    ): Promise<[boolean, number | undefined]> => {
      let outcome: [boolean, number | undefined] = [false, undefined];
      await withSimulator({ profile }, async ({ sim, gce }) => {
        const requestId = randomUUID();
        const first = latest(await patchAutoscaler(gce, 2, requestId)).name;
        sim.control.advance(59 * 60);
        assert.equal(latest(await patchAutoscaler(gce, 4, requestId)).name, first, 'within the hour: same operation');
        sim.control.advance(2 * 60);
        const again = latest(await patchAutoscaler(gce, 5, requestId)).name;
        const [autoscaler] = await gce.autoscalers.get({ project: PROJECT, region: REGION, autoscaler: CPU_MIG });
        outcome = [again !== first, autoscaler.autoscalingPolicy?.minNumReplicas ?? undefined];
      });
      return outcome;
    };
    assert.deepEqual(await repeatAfter('production'), [true, 5], 'production: forgotten, the repeat applies');
    assert.deepEqual(await repeatAfter('ideal'), [false, 2], 'ideal: remembered forever');
  });

  test('versionLimit: a third MIG version is refused with 400 invalid', async () => {
    const patchThreeVersions = async ({ sim, gce }: Context) => {
      for (const version of ['1111111111-bbb', '2222222222-ccc']) {
        sim.control.createTemplate({ group: 'presubmit', type: 'cpu', version });
      }
      return gce.migs.patch({
        project: PROJECT,
        region: REGION,
        instanceGroupManager: CPU_MIG,
        instanceGroupManagerResource: {
          versions: [
            { name: 'base', instanceTemplate: templateUrl('gh-runner-presubmit-cpu-0000000000-aaa') },
            {
              name: 'canary-1',
              instanceTemplate: templateUrl('gh-runner-presubmit-cpu-1111111111-bbb'),
              targetSize: { fixed: 1 },
            },
            {
              name: 'canary-2',
              instanceTemplate: templateUrl('gh-runner-presubmit-cpu-2222222222-ccc'),
              targetSize: { fixed: 1 },
            },
          ],
        },
      });
    };
    await withSimulator({}, async (context) => {
      await assert.rejects(patchThreeVersions(context), (error) => {
        const failure = googleError(error);
        assert.equal(failure.code, 400);
        assert.equal(failure.reason, 'invalid');
        assert.match(failure.message, /resource\.versions.*at most 2 versions/);
        return true;
      });
    });
    await withSimulator({ profile: 'ideal' }, async (context) => {
      await patchThreeVersions(context);
      const [mig] = await context.gce.migs.get({ project: PROJECT, region: REGION, instanceGroupManager: CPU_MIG });
      assert.equal(mig.versions?.length, 3, 'ideal: three versions accepted');
    });
  });

  test('regexAndFilter: a regular expression joined by AND is refused, not silently matched against nothing', async () => {
    const filter = "name eq 'gh-runner-testing-.*' AND name eq '.*-cpu-.*'";
    await withSimulator({}, async ({ gce }) => {
      await assert.rejects(gce.migs.list({ project: PROJECT, region: REGION, filter }), (error) => {
        const failure = googleError(error);
        assert.equal(failure.code, 400);
        assert.equal(failure.reason, 'invalid');
        assert.match(failure.message, /regular expression comparison \(eq, ne\) cannot be combined with AND or OR/);
        return true;
      });
      const [single] = await gce.migs.list({ project: PROJECT, region: REGION, filter: "name eq '.*-cpu-.*'" });
      assert.equal(single.length, 4, 'a single regular expression still filters');
    });
    await withSimulator({ profile: 'ideal' }, async ({ gce }) => {
      const [items] = await gce.migs.list({ project: PROJECT, region: REGION, filter });
      assert.deepEqual(items, [], 'ideal: accepted, and matches nothing');
    });
  });

  test('quotas fault: creations fail with QUOTA_EXCEEDED naming the GPU or CPU quota, retried until it is lifted', async () => {
    const grow = async ({ gce }: Context, mig: string): Promise<void> => {
      await gce.autoscalers.patch({
        project: PROJECT,
        region: REGION,
        autoscaler: mig,
        autoscalerResource: { name: mig, autoscalingPolicy: { minNumReplicas: 2, maxNumReplicas: 2 } },
      });
    };
    const lastErrors = async ({ gce }: Context, mig: string) => {
      const [instances] = await gce.migs.listManagedInstances({
        project: PROJECT,
        region: REGION,
        instanceGroupManager: mig,
      });
      return instances.map((instance) => instance.lastAttempt?.errors?.errors?.[0] ?? null);
    };
    const gpu = 'gh-runner-testing-presubmit-gpu-us-west1';
    const cpu = 'gh-runner-testing-presubmit-cpu-us-west1';
    const faults = {
      quotas: [
        { region: REGION, type: 'gpu' },
        { region: REGION, type: 'cpu' },
      ],
    };
    await withSimulator({ faults }, async (context) => {
      await grow(context, gpu);
      await grow(context, cpu);
      context.sim.control.advance(120);
      for (const [mig, quota] of [
        [gpu, 'NVIDIA_T4_GPUS'],
        [cpu, 'CPUS'],
      ] as const) {
        const errors = await lastErrors(context, mig);
        assert.equal(errors.length, 2);
        for (const error of errors) {
          assert.equal(error?.code, 'QUOTA_EXCEEDED');
          assert.match(
            error?.message ?? '',
            new RegExp(`^Quota '${quota}' exceeded\\. Limit: \\d+\\.0 in region us-west1\\.$`),
          );
        }
      }
      context.sim.control.clearFaults();
      context.sim.control.advance(300 + 600);
      assert.deepEqual(
        await lastErrors(context, gpu),
        [null, null],
        'the next retry after the quota is lifted succeeds',
      );
      assert.equal(context.sim.control.mig(gpu).isStable, true);
    });
    // The kinder answer: without the quota rule the same creations succeed.
    await withSimulator({}, async (context) => {
      await grow(context, gpu);
      context.sim.control.advance(120);
      assert.deepEqual(await lastErrors(context, gpu), [null, null]);
    });
  });
});
