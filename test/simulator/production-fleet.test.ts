import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import { defaultFleet } from '../../runner-config/default-fleet.js';
import type { FleetDefinition } from '../../runner-config/types.js';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../simulator/index.js';
import { closeComputeClients, computeClients, googleError, type ComputeClients } from './clients.js';

const PROJECT = 'iree-oss';
const REGION = 'us-west1';
const TESTING_CPU = 'gh-runner-testing-presubmit-cpu-us-west1';
const TESTING_POOL = { environment: 'testing', group: 'presubmit', type: 'cpu' } as const;
const OPTIONS: SimulatorOptions = { speed: 0, seed: 9, startTime: '2026-03-02T00:00:00Z', jobRates: [] };

/** Each behaviour's production answer, next to the kinder answer of the ideal profile. */
describe('simulator: production behaviours of the fleet', () => {
  const opened: Array<{ sim: SimulatorHandle; gce: ComputeClients }> = [];

  after(async () => {
    for (const { sim, gce } of opened) {
      await closeComputeClients(gce);
      await sim.close();
    }
  });

  async function open(options: SimulatorOptions = {}): Promise<{ sim: SimulatorHandle; gce: ComputeClients }> {
    const sim = await startSimulator({ ...OPTIONS, ...options });
    const opening = { sim, gce: computeClients(sim.url) };
    opened.push(opening);
    return opening;
  }

  test('callLatency: calls take tens to hundreds of simulated milliseconds, waited for in real time at speed 1', async () => {
    const production = await open({ speed: 1 });
    const ideal = await open({ speed: 1, profile: 'ideal' });
    const elapsed = async ({ gce }: { gce: ComputeClients }): Promise<number> => {
      const started = performance.now();
      for (let i = 0; i < 10; i++) await gce.regions.get({ project: PROJECT, region: REGION });
      return performance.now() - started;
    };
    const [slow, fast] = [await elapsed(production), await elapsed(ideal)];
    assert.ok(slow >= 300, `ten production reads took ${slow.toFixed(0)} ms, expected a median near 80 ms each`);
    assert.ok(fast < 300, `ten ideal reads took ${fast.toFixed(0)} ms`);
    assert.ok((await elapsed(await open())) < 300, 'no real wait while simulated time stands still');
  });

  test('callLatency runs in simulated time: a manual advance ends a call waiting at a crawling clock', async () => {
    // 0.001 simulated seconds per real second: a read's median 80 simulated ms would hold it 80 real seconds.
    const { sim, gce } = await open({ speed: 0.001 });
    const started = performance.now();
    const reading = gce.regions.get({ project: PROJECT, region: REGION });
    await new Promise((resolve) => setTimeout(resolve, 100));
    sim.control.advance(2);
    await reading;
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 5_000, `the read answered ${elapsed.toFixed(0)} ms after it was sent`);
  });

  /** Opens the testing MIG to 0..10 and queues three jobs on its empty pool. */
  async function queueOnEmptyMig(options: SimulatorOptions): Promise<SimulatorHandle> {
    const { sim } = await open(options);
    const mig = sim.model.migs.get(TESTING_CPU);
    assert.ok(mig !== undefined);
    sim.model.patchAutoscaler(mig, { min: 0, max: 10 });
    sim.control.submitJobs({ ...TESTING_POOL, count: 3, durationMinutes: 30 });
    sim.control.advance(600);
    return sim;
  }

  test('cpuAutoscaler: queued jobs alone never scale a MIG out', async () => {
    const production = await queueOnEmptyMig({});
    assert.equal(production.control.mig(TESTING_CPU).targetSize, 0, 'no VM, no CPU, no scale-out');
    assert.equal(production.control.jobs().pools.find((pool) => pool.pool === 'testing/presubmit/cpu')?.queued, 3);

    const ideal = await queueOnEmptyMig({ profile: 'ideal' });
    assert.equal(ideal.control.mig(TESTING_CPU).targetSize, 3);

    // A fleet whose autoscalers scale on the queue keeps the queue-driven autoscaler with the behaviour on.
    const fleet = defaultFleet();
    const queueFleet: FleetDefinition = {
      ...fleet,
      environments: {
        ...fleet.environments,
        testing: { ...fleet.environments.testing, autoscaler: { signal: 'queue' } },
      },
    };
    assert.equal((await queueOnEmptyMig({ fleet: queueFleet })).control.mig(TESTING_CPU).targetSize, 3);
  });

  test('cpuAutoscaler: busy VMs past their cool-down scale out to ceil(CPU / 0.6), and ONLY_SCALE_OUT never shrinks', async () => {
    const grown = async (options: SimulatorOptions): Promise<SimulatorHandle> => {
      const { sim } = await open(options);
      const mig = sim.model.migs.get(TESTING_CPU);
      assert.ok(mig !== undefined);
      sim.model.patchAutoscaler(mig, { min: 2, max: 10 });
      sim.control.advance(600);
      // Two jobs keep both VMs busy; no job waits, so the queue asks for nothing more.
      sim.control.submitJobs({ ...TESTING_POOL, count: 2, durationMinutes: 600 });
      sim.control.advance(180);
      return sim;
    };
    const production = await grown({});
    const view = production.control.mig(TESTING_CPU);
    // Two VMs near 0.9 each: ceil(1.8 / 0.6) = 3, then the third VM is idle (about 0.05): still 4 at most.
    assert.ok(view.targetSize >= 3, `target ${view.targetSize}`);
    assert.equal(view.autoscaler.mode, 'ONLY_SCALE_OUT');
    const mig = production.model.migs.get(TESTING_CPU);
    assert.ok(mig !== undefined);
    production.model.patchAutoscaler(mig, { min: 0 });
    production.control.advance(120);
    assert.ok(production.control.mig(TESTING_CPU).targetSize >= view.targetSize, 'ONLY_SCALE_OUT did not shrink');

    const ideal = await grown({ profile: 'ideal' });
    assert.equal(ideal.control.mig(TESTING_CPU).targetSize, 2, 'the queue-driven autoscaler sees two busy runners');
  });

  test('foreignProactiveMigs: a seeded share of MIGs, at least one in prod, starts PROACTIVE; switching on later picks the same', async () => {
    const production = await open();
    const proactive = (await listAllProactive(production.gce)).sort();
    assert.ok(
      proactive.some((name) => !name.startsWith('gh-runner-testing-')),
      'a prod MIG is PROACTIVE',
    );
    assert.ok(proactive.length < (await countMigs(production.gce)) / 3, 'only a share of the MIGs');

    const ideal = await open({ profile: 'ideal' });
    assert.deepEqual(await listAllProactive(ideal.gce), [], 'the ideal fleet is all OPPORTUNISTIC');
    ideal.sim.control.patchBehaviours({ foreignProactiveMigs: true });
    assert.deepEqual((await listAllProactive(ideal.gce)).sort(), proactive);
  });

  test('foreignProactiveMigs: a PROACTIVE MIG replaces its busy outdated VMs as soon as a canary version is set', async () => {
    const production = await open();
    const name = (await listAllProactive(production.gce)).find((candidate) => !candidate.includes('-testing-'));
    assert.ok(name !== undefined);
    const killed = async ({ sim }: { sim: SimulatorHandle }): Promise<number> => {
      const mig = sim.model.migs.get(name);
      assert.ok(mig !== undefined);
      const { group, type } = mig.ref;
      sim.control.createTemplate({ group, type, version: '1111111111-bbb' });
      sim.control.submitJobs({ environment: 'prod', group, type, count: 8, durationMinutes: 600 });
      sim.model.patchMig(mig, {
        versions: [
          { name: 'base', template: mig.versions[0]?.template ?? '' },
          { name: 'canary', template: `gh-runner-${group}-${type}-1111111111-bbb`, targetSize: { fixed: 1 } },
        ],
      });
      sim.control.advance(300);
      return sim.control.jobs().killed.filter((job) => job.mig === name).length;
    };
    assert.ok((await killed(production)) >= 1, 'the proactive update killed a running job');
    assert.equal(await killed(await open({ profile: 'ideal' })), 0);
  });

  test('lowerCaseEnums: "opportunistic" and "replace" are accepted and stored upper-case', async () => {
    const patch = (gce: ComputeClients) =>
      gce.migs.patch({
        project: PROJECT,
        region: REGION,
        instanceGroupManager: TESTING_CPU,
        instanceGroupManagerResource: {
          updatePolicy: {
            type: 'opportunistic',
            minimalAction: 'replace',
            mostDisruptiveAllowedAction: 'replace',
            replacementMethod: 'substitute',
          },
        },
      });
    const patchMode = (gce: ComputeClients) =>
      gce.autoscalers.patch({
        project: PROJECT,
        region: REGION,
        autoscaler: TESTING_CPU,
        autoscalerResource: { name: TESTING_CPU, autoscalingPolicy: { mode: 'only_scale_out' } },
      });
    const production = await open();
    await patch(production.gce);
    await patchMode(production.gce);
    const [mig] = await production.gce.migs.get({
      project: PROJECT,
      region: REGION,
      instanceGroupManager: TESTING_CPU,
    });
    assert.deepEqual(
      [mig.updatePolicy?.type, mig.updatePolicy?.minimalAction, mig.updatePolicy?.replacementMethod],
      ['OPPORTUNISTIC', 'REPLACE', 'SUBSTITUTE'],
    );
    const [autoscaler] = await production.gce.autoscalers.get({
      project: PROJECT,
      region: REGION,
      autoscaler: TESTING_CPU,
    });
    assert.equal(autoscaler.autoscalingPolicy?.mode, 'ONLY_SCALE_OUT');

    const ideal = await open({ profile: 'ideal' });
    await assert.rejects(patch(ideal.gce), (error) => googleError(error).code === 400);
    await assert.rejects(patchMode(ideal.gce), (error) => googleError(error).code === 400);
  });
});

async function listAllProactive(gce: ComputeClients): Promise<string[]> {
  const names: string[] = [];
  for (const region of ['us-central1', 'us-west1', 'us-east1', 'us-east4']) {
    const [migs] = await gce.migs.list({ project: PROJECT, region });
    for (const mig of migs) if (mig.updatePolicy?.type === 'PROACTIVE' && mig.name) names.push(mig.name);
  }
  return names;
}

async function countMigs(gce: ComputeClients): Promise<number> {
  let count = 0;
  for (const region of ['us-central1', 'us-west1', 'us-east1', 'us-east4']) {
    count += (await gce.migs.list({ project: PROJECT, region }))[0].length;
  }
  return count;
}
