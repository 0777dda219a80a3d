import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BOOTLOOP_MIN_LIVES,
  bootloopProblems,
  canaryAbsenceProblem,
  jobFailureProblem,
  MIN_BASE_JOBS,
  MIN_CANARY_JOBS,
  observeCanaryVms,
  type JobTally,
} from '../../activities/canary-health.js';
import type { CanaryHealth, CanaryObservations, MigLocator } from '../../activities/contract.js';
import {
  canaryChecks,
  grow,
  injectedFaults,
  occupyOneRunner,
  useQuietFixture,
  startCanary,
  tenPercentFailing,
  type ActivityFixture,
} from './fixture.js';

const NEW = '1111111111-bbb';
const template = (type: string): string => `gh-runner-presubmit-${type}-${NEW}`;

let fx: ActivityFixture;
useQuietFixture(NEW, (started) => (fx = started));

/**
 * Rounds of one job per VM, with a health check while the jobs run (as a soak's periodic checks would see the
 * canary VMs) that carries its observations into the next check.
 */
async function soak(mig: MigLocator, type: string, since: string, rounds: number): Promise<CanaryHealth> {
  const check = canaryChecks(fx, { mig, canaryTemplate: template(type), since });
  for (let round = 0; round < rounds; round++) {
    const size = fx.sim.control.mig(mig.name).instances.length;
    fx.sim.control.submitJobs({ environment: 'testing', group: 'presubmit', type, count: size, durationMinutes: 5 });
    fx.sim.control.advance(60);
    await check();
    // Jobs end within 7.5 minutes; then the VMs delete themselves and the autoscaler brings new ones up.
    fx.sim.control.advance(15 * 60);
  }
  return check();
}

describe('canary job failure rate', () => {
  test('a canary template whose jobs fail is unhealthy, with the rates as evidence', async () => {
    const mig = { region: 'us-west1', name: 'gh-runner-testing-presubmit-cpu-us-west1' };
    const since = await startCanary(fx, mig, template('cpu'), 4, 2);
    fx.sim.control.setFaults({ failingTemplates: [{ template: template('cpu'), failureRate: 1 }] });
    try {
      const health = await soak(mig, 'cpu', since, 4);
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
    const since = await startCanary(fx, mig, template('arm64'), 4, 2);
    const health = await soak(mig, 'arm64', since, 4);
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

describe('canary health under API faults', () => {
  test('with 10% of calls failing, a healthy canary is judged healthy in nearly every attempt', async () => {
    const mig = { region: 'us-west1', name: 'gh-runner-testing-presubmit-gpu-us-west1' };
    const since = await startCanary(fx, mig, template('gpu'), 4, 2);
    fx.sim.control.resetCounters();
    const check = canaryChecks(fx, { mig, canaryTemplate: template('gpu'), since });
    const verdicts: string[] = [];
    for (let round = 0; round < 8; round++) {
      fx.sim.control.submitJobs({
        environment: 'testing',
        group: 'presubmit',
        type: 'gpu',
        count: 4,
        durationMinutes: 5,
      });
      fx.sim.control.advance(60);
      fx.sim.control.setFaults({ endpoints: tenPercentFailing() });
      try {
        const health = await check();
        verdicts.push(health.healthy ? 'healthy' : `unhealthy: ${health.problems.join('; ')}`);
      } catch (error) {
        verdicts.push(`attempt failed: ${(error as Error).message}`);
      } finally {
        fx.sim.control.clearFaults();
      }
      fx.sim.control.advance(15 * 60);
    }
    // Four tries of a call all fail once in 10,000 calls: allow one unlucky attempt in the whole soak.
    const failed = verdicts.filter((verdict) => verdict !== 'healthy');
    assert.ok(failed.length <= 1, verdicts.join('\n'));
    assert.ok(!failed.some((verdict) => verdict.startsWith('unhealthy')), verdicts.join('\n'));
    const injected = injectedFaults(fx);
    // Each finished run's jobs are read once, so the checks after the first make few calls: a handful of faults.
    const requests = Object.values(fx.sim.control.counters()).reduce((sum, counter) => sum + counter.requests, 0);
    assert.ok(injected >= 5, `the checks met failures (${injected} injected in ${requests} requests)`);
  });
});

describe('a canary between jobs', () => {
  test('while ephemeral canary VMs come and go, a moment without one is healthy', async (t) => {
    // The moment without a canary exists because the queue-driven autoscaler restores the size a fixed minute after
    // the self-deletion; the CPU autoscaler, evaluating continuously while VMs are busy, may restore it within the
    // 10 s steps below. The engine's check does not depend on which autoscaler runs; the scenario does.
    fx.sim.control.patchBehaviours({ cpuAutoscaler: false });
    t.after(() => fx.sim.control.patchBehaviours({ cpuAutoscaler: true }));
    const mig = { region: 'us-west1', name: 'gh-runner-testing-postsubmit-cpu-us-west1' };
    const canaryTemplate = fx.sim.control.createTemplate({ group: 'postsubmit', type: 'cpu', version: NEW }).name;
    const since = await startCanary(fx, mig, canaryTemplate, 2, 1);
    const check = canaryChecks(fx, { mig, canaryTemplate, since });
    const canaryVms = () => fx.sim.control.mig(mig.name).instances.filter((i) => i.template === canaryTemplate);

    fx.sim.control.submitJobs({
      environment: 'testing',
      group: 'postsubmit',
      type: 'cpu',
      count: 2,
      durationMinutes: 5,
    });
    fx.sim.control.advance(60);
    const busy = await check();
    assert.deepEqual([busy.healthy, busy.canaryInstances], [true, 1]);
    // The canary VM finishes its job and deletes itself; the autoscaler brings a new one only a minute later.
    for (let steps = 0; canaryVms().length > 0; steps++) {
      assert.ok(steps < 100, 'the canary VM deleted itself after its job');
      fx.sim.control.advance(10);
    }
    assert.ok(Date.parse(fx.sim.control.clock().now) - Date.parse(since) > 10 * 60_000, 'past the registration grace');
    const between = await check();
    assert.deepEqual(between.problems, []);
    assert.deepEqual([between.healthy, between.canaryInstances], [true, 0]);

    fx.sim.control.advance(10 * 60);
    const back = await check();
    assert.deepEqual(back.problems, []);
    assert.equal(back.canaryRunnersOnline, 1);
    assert.notEqual(canaryVms()[0]?.name, busy.observations?.vms[0]?.name, 'a new canary VM replaced the first');
  });

  test('a canary VM no check saw is not absent while the autoscaler brings its slot back', async (t) => {
    // Checks run minutes apart and a busy canary VM lives for one job: the first check can come after it left. The
    // MIG then stands below the autoscaler's min, and the slot the autoscaler restores is the canary's.
    fx.sim.control.patchBehaviours({ cpuAutoscaler: false });
    t.after(() => fx.sim.control.patchBehaviours({ cpuAutoscaler: true }));
    const mig = { region: 'us-west1', name: 'gh-runner-testing-postsubmit-arm64-us-west1' };
    const pool = { group: 'postsubmit', type: 'arm64' };
    const canaryTemplate = fx.sim.control.createTemplate({ ...pool, version: NEW }).name;
    await grow(fx, mig, 2);
    // An old VM busy for hours keeps the MIG from emptying, so the canary is the one VM that comes and goes.
    const old = occupyOneRunner(fx, mig, pool, 600);
    const since = fx.sim.control.clock().now;
    await fx.run('canaryMig', { mig, template: canaryTemplate, canarySize: 1 });
    await fx.run('drainIdleRunners', { mig, keepTemplate: canaryTemplate });
    fx.sim.control.advance(600);
    const canaryVms = () => fx.sim.control.mig(mig.name).instances.filter((i) => i.template === canaryTemplate);
    assert.equal(canaryVms().length, 1, 'the canary VM is up');
    fx.sim.control.submitJobs({ environment: 'testing', ...pool, count: 1, durationMinutes: 5 });
    for (let steps = 0; canaryVms().length > 0; steps++) {
      assert.ok(steps < 100, 'the canary VM deleted itself after its job');
      fx.sim.control.advance(10);
    }
    assert.ok(Date.parse(fx.sim.control.clock().now) - Date.parse(since) > 10 * 60_000, 'past the registration grace');
    const standing = fx.sim.control.mig(mig.name);
    assert.deepEqual(
      [standing.targetSize, standing.instances.map((vm) => vm.name)],
      [1, [old.name]],
      'the MIG stands below its min with the busy old VM until the autoscaler runs',
    );

    const between = await fx.run('canaryHealth', { mig, canaryTemplate, since });
    assert.deepEqual(between.problems, []);
    assert.deepEqual([between.healthy, between.canaryInstances], [true, 0]);
    fx.sim.control.advance(10 * 60);
    assert.equal(canaryVms().length, 1, 'the autoscaler brought the canary back');
    assert.deepEqual(fx.sim.control.jobs().killed, []);
  });
});

describe('boot-loop evidence', () => {
  test('a boot loop is reported by the first check whose observations show it, though no runner ever registered', async () => {
    const mig = { region: 'us-west1', name: 'gh-runner-testing-postsubmit-gpu-us-west1' };
    const canaryTemplate = fx.sim.control.createTemplate({ group: 'postsubmit', type: 'gpu', version: NEW }).name;
    await grow(fx, mig, 2);
    const since = fx.sim.control.clock().now;
    fx.sim.control.setFaults({ bootloopTemplates: [canaryTemplate] });
    try {
      await fx.run('canaryMig', { mig, template: canaryTemplate, canarySize: 1 });
      await fx.run('drainIdleRunners', { mig, keepTemplate: canaryTemplate });
      const check = canaryChecks(fx, { mig, canaryTemplate, since });
      const checks: CanaryHealth[] = [];
      // A check every 45 seconds sees each life of the VM (about 3 minutes from creation to crash and recreation).
      for (let round = 0; round < 24; round++) {
        fx.sim.control.advance(45);
        checks.push(await check());
      }
      const shown = (health: CanaryHealth) =>
        (health.observations?.vms ?? []).some((vm) => !vm.registered && vm.lives.length >= BOOTLOOP_MIN_LIVES);
      const reported = (health: CanaryHealth) => health.problems.some((problem) => /boot-loops/.test(problem));
      const first = checks.findIndex(shown);
      assert.ok(first > 0, `the observations showed the loop at check ${first + 1}`);
      assert.deepEqual(
        checks.map(reported),
        checks.map(shown),
        'each check reports the loop exactly when its observations show it',
      );
      assert.equal(checks[first]?.healthy, false);
      assert.ok(
        checks.every(
          (health) => health.canaryRunnersOnline === 0 && health.observations?.vms.every((vm) => !vm.registered),
        ),
        'no canary runner ever registered',
      );
    } finally {
      fx.sim.control.clearFaults();
    }
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
    let seen = observeCanaryVms(undefined, [instance('t1')], new Set(), new Set(), 'c1');
    seen = observeCanaryVms(seen, [instance('t1')], new Set(), new Set(), 'c2');
    seen = observeCanaryVms(seen, [instance('t2')], new Set(), new Set(), 'c3');
    assert.deepEqual(seen.vms, [{ name: 'm-a', lives: ['t1', 't2'], registered: false, lastSeen: 'c3' }]);
    seen = observeCanaryVms(seen, [], new Set(), new Set(['m-a', 'm-gone']), 'c4');
    assert.deepEqual(seen.vms, [{ name: 'm-a', lives: ['t1', 't2'], registered: true, lastSeen: 'c3' }]);
  });

  test('a canary without VMs is a problem only when the MIG wants some and none was seen for the grace period', () => {
    const minute = 60_000;
    const since = Date.parse('2026-01-01T00:00:00Z');
    const seenAt = (minutes: number) => new Date(since + minutes * minute).toISOString();
    const gone = { vms: [{ name: 'm-a', lives: [seenAt(0)], registered: true, lastSeen: seenAt(30) }] };
    const absence = (
      observations: CanaryObservations,
      nowMinutes: number,
      expected = 1,
      canaryVmsNow = 0,
      heldBack = false,
    ) =>
      canaryAbsenceProblem({
        observations,
        canaryVmsNow,
        heldBack,
        expected,
        since,
        now: since + nowMinutes * minute,
        graceMs: 10 * minute,
      });
    // Between jobs: the last canary VM left 5 minutes ago, its replacement is on the way.
    assert.equal(absence(gone, 35), undefined);
    assert.match(
      absence(gone, 45) ?? '',
      /for 15 minutes \(one was last seen at 2026-01-01T00:30:00.000Z\); the MIG wants 1/,
    );
    // Observations recorded without `lastSeen` count from the VM's last creation.
    assert.match(absence({ vms: [{ name: 'm-a', lives: [seenAt(0)], registered: true }] }, 15) ?? '', /for 15 minutes/);
    assert.equal(absence({ vms: [] }, 9), undefined);
    assert.match(absence({ vms: [] }, 11) ?? '', /in the 11 minutes since the canary started/);
    // Scaled in to no VMs at all, or a canary VM present: nothing is missing.
    assert.equal(absence(gone, 600, 0), undefined);
    assert.equal(absence({ vms: [] }, 600, 1, 1), undefined);
    // Room just made for the canary, or every old VM busy with a job: the canary is not at fault.
    assert.equal(absence(gone, 600, 1, 0, true), undefined);
  });
});
