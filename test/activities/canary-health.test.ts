import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  bootloopProblems,
  jobFailureProblem,
  MIN_BASE_JOBS,
  MIN_CANARY_JOBS,
  observeCanaryVms,
  type JobTally,
} from '../../activities/canary-health.js';
import type { CanaryHealth, CanaryObservations, MigLocator } from '../../activities/types.js';
import { startActivityFixture, type ActivityFixture } from './fixture.js';

const NEW = '1111111111-bbb';
const template = (type: string): string => `gh-runner-presubmit-${type}-${NEW}`;

let fx: ActivityFixture;

before(async () => {
  // Jobs arrive only when a test submits them, so every job outcome is one the test caused.
  fx = await startActivityFixture({ jobRates: [{ perHour: 0, meanDurationMinutes: 30 }] });
  for (const type of ['cpu', 'gpu', 'arm64']) fx.sim.control.createTemplate({ group: 'presubmit', type, version: NEW });
});
after(async () => {
  await fx.close();
});

/** Puts `canarySize` of `size` VMs of a testing MIG on the new template, with their runners registered. */
async function startCanary(mig: MigLocator, type: string, size: number, canarySize: number): Promise<string> {
  await fx.run('setAutoscaling', { mig, bounds: { min: size, max: size } });
  fx.sim.control.advance(600);
  const since = fx.sim.control.clock().now;
  await fx.run('canaryMig', { mig, template: template(type), canarySize });
  // Opportunistic update: canary VMs appear as the MIG replaces VMs, here the drained idle ones.
  await fx.run('drainIdleRunners', { mig, keepTemplate: template(type) });
  fx.sim.control.advance(600);
  return since;
}

/**
 * Rounds of one job per VM, with a health check while the jobs run (as a soak's periodic checks would see the
 * canary VMs) that carries its observations into the next check.
 */
async function soak(
  mig: MigLocator,
  type: string,
  since: string,
  rounds: number,
): Promise<{ health: CanaryHealth; checks: number }> {
  let previous: CanaryObservations | undefined;
  let health: CanaryHealth | undefined;
  for (let round = 0; round < rounds; round++) {
    const size = fx.sim.control.mig(mig.name).instances.length;
    fx.sim.control.submitJobs({ environment: 'testing', group: 'presubmit', type, count: size, durationMinutes: 5 });
    fx.sim.control.advance(60);
    health = await fx.run('canaryHealth', {
      mig,
      canaryTemplate: template(type),
      since,
      ...(previous === undefined ? {} : { previous }),
    });
    previous = health.observations;
    // Jobs end within 7.5 minutes; then the VMs delete themselves and the autoscaler brings new ones up.
    fx.sim.control.advance(15 * 60);
  }
  const last = await fx.run('canaryHealth', {
    mig,
    canaryTemplate: template(type),
    since,
    ...(previous === undefined ? {} : { previous }),
  });
  assert.ok(health !== undefined);
  return { health: last, checks: rounds + 1 };
}

describe('canary job failure rate', () => {
  test('a canary template whose jobs fail is unhealthy, with the rates as evidence', async () => {
    const mig = { region: 'us-west1', name: 'gh-runner-testing-presubmit-cpu-us-west1' };
    const since = await startCanary(mig, 'cpu', 4, 2);
    fx.sim.control.setFaults({ failingTemplates: [{ template: template('cpu'), failureRate: 1 }] });
    try {
      const { health } = await soak(mig, 'cpu', since, 4);
      assert.ok(health.canaryJobs.failed >= MIN_CANARY_JOBS, `canary jobs: ${JSON.stringify(health.canaryJobs)}`);
      assert.equal(health.canaryJobs.succeeded, 0);
      assert.ok(health.baseJobs.succeeded >= MIN_CANARY_JOBS, `base jobs: ${JSON.stringify(health.baseJobs)}`);
      assert.equal(health.baseJobs.failed, 0);
      assert.equal(health.healthy, false);
      const evidence = health.problems.find((problem) => problem.startsWith('canary jobs failed'));
      assert.ok(evidence !== undefined, `problems: ${health.problems.join('; ')}`);
      assert.match(evidence, /failed \d+ of \d+ \(100%\) vs 0 of \d+ \(0%\) on base VMs since/);
    } finally {
      fx.sim.control.clearFaults();
    }
  });

  test('a canary whose jobs succeed like the base is healthy, and the counts are real', async () => {
    const mig = { region: 'us-west1', name: 'gh-runner-testing-presubmit-arm64-us-west1' };
    const since = await startCanary(mig, 'arm64', 4, 2);
    const { health } = await soak(mig, 'arm64', since, 4);
    assert.deepEqual(health.problems, []);
    assert.equal(health.healthy, true);
    assert.ok(health.canaryJobs.succeeded >= MIN_CANARY_JOBS, `canary jobs: ${JSON.stringify(health.canaryJobs)}`);
    assert.ok(health.baseJobs.succeeded >= MIN_CANARY_JOBS, `base jobs: ${JSON.stringify(health.baseJobs)}`);
    assert.equal(health.canaryJobs.failed + health.baseJobs.failed, 0);
  });

  test('a check lists only finished runs since the canary started, then one jobs call per run', async () => {
    const mig = { region: 'us-west1', name: 'gh-runner-testing-presubmit-arm64-us-west1' };
    const since = fx.sim.control.clock().now;
    fx.sim.control.submitJobs({
      environment: 'testing',
      group: 'presubmit',
      type: 'arm64',
      count: 3,
      durationMinutes: 5,
    });
    fx.sim.control.advance(10 * 60);
    fx.sim.control.resetCounters();
    const health = await fx.run('canaryHealth', { mig, canaryTemplate: template('arm64'), since });
    const counters = fx.sim.control.counters();
    assert.equal(counters['github.actions.listRuns']?.requests, 1);
    assert.equal(counters['github.actions.listJobsForRun']?.requests, 3);
    assert.equal(health.baseJobs.succeeded + health.canaryJobs.succeeded, 3);
  });
});

describe('canary health rules', () => {
  const tally = (canary: [number, number], base: [number, number]): JobTally => ({
    canary: { succeeded: canary[0], failed: canary[1] },
    base: { succeeded: base[0], failed: base[1] },
    runs: 0,
    truncated: false,
    jobRunners: new Set(),
  });

  test('the job gate needs enough jobs on both sides and a rate above the base rate plus the margin', () => {
    const since = '2026-01-01T00:00:00Z';
    assert.equal(jobFailureProblem(tally([0, MIN_CANARY_JOBS - 1], [20, 0]), since), undefined);
    assert.equal(jobFailureProblem(tally([0, 10], [MIN_BASE_JOBS - 1, 0]), since), undefined);
    // 30% on the canary against 20% on the base is within the margin: presubmits fail for their code too.
    assert.equal(jobFailureProblem(tally([7, 3], [16, 4]), since), undefined);
    assert.match(jobFailureProblem(tally([5, 5], [18, 2]), since) ?? '', /failed 5 of 10 \(50%\) vs 2 of 20 \(10%\)/);
  });

  test('VMs replaced under new names without ever registering count as a boot loop too', () => {
    const vm = (name: string, registered: boolean) => ({ name, lives: ['2026-01-01T00:00:00Z'], registered });
    const loop = { vms: [vm('m-a', false), vm('m-b', false), vm('m-c', false)] };
    assert.match(bootloopProblems(loop, 1)[0] ?? '', /3 canary VMs came and went for 1 canary slot/);
    assert.deepEqual(bootloopProblems(loop, 2), []);
    assert.deepEqual(bootloopProblems({ vms: [...loop.vms, vm('m-d', true)] }, 1), []);
  });

  test('observations keep each VM once, with its distinct creation times, and remember registration', () => {
    const instance = (createdAt: string) => ({
      name: 'm-a',
      zone: 'z',
      instanceTemplate: 't',
      status: 'RUNNING',
      currentAction: 'VERIFYING',
      createdAt,
    });
    let seen = observeCanaryVms(undefined, [instance('t1')], new Set(), new Set());
    seen = observeCanaryVms(seen, [instance('t1')], new Set(), new Set());
    seen = observeCanaryVms(seen, [instance('t2')], new Set(), new Set());
    assert.deepEqual(seen.vms, [{ name: 'm-a', lives: ['t1', 't2'], registered: false }]);
    seen = observeCanaryVms(seen, [], new Set(), new Set(['m-a', 'm-gone']));
    assert.deepEqual(seen.vms, [{ name: 'm-a', lives: ['t1', 't2'], registered: true }]);
  });
});
