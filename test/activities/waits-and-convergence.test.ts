import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CancelledFailure } from '@temporalio/common';
import { FailureType, type WaitProgress } from '../../activities/index.js';
import type { CanaryHealth } from '../../activities/contract.js';
import {
  activityEnvironment,
  canaryChecks,
  failureOf,
  grow,
  inActivity,
  NEW,
  OLD,
  presubmitTemplate,
  useQuietFixture,
  startCanary,
  type ActivityFixture,
} from './fixture.js';

const template = presubmitTemplate;

let fx: ActivityFixture;
useQuietFixture(NEW, (started) => (fx = started));

describe('waits', () => {
  const mig = { region: 'us-west1', name: 'gh-runner-testing-presubmit-cpu-us-west1' };

  test('waitForRunners polls until enough runners are online, heartbeating its progress', async () => {
    await fx.run('setAutoscaling', { mig, bounds: { min: 2, max: 2 } });
    const env = activityEnvironment({ activityId: 'wait-1' });
    const beats: WaitProgress[] = [];
    env.on('heartbeat', (details: WaitProgress) => beats.push(details));
    const waiting = inActivity(env, () =>
      fx.activities.waitForRunners({ mig, template: template('cpu', OLD), count: 2 }),
    );
    while (beats.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(beats.at(-1)?.observed, 0);
    fx.sim.control.advance(600);
    assert.equal(await waiting, 2);
    const last = beats.at(-1);
    assert.equal(last?.observed, 2);
    assert.equal(last?.startedAt, beats[0]?.startedAt);
  });

  test('a retried wait resumes from its heartbeat: same start, poll count continues, deadline holds', async () => {
    const startedAt = new Date(Date.parse(fx.sim.control.clock().now) - 45 * 60_000).toISOString();
    const env = activityEnvironment({
      attempt: 3,
      heartbeatDetails: { startedAt, polls: 7, observed: 0 } satisfies WaitProgress,
    });
    const beats: WaitProgress[] = [];
    env.on('heartbeat', (details: WaitProgress) => beats.push(details));
    const failure = await failureOf(
      inActivity(env, () =>
        fx.activities.waitForRunners({ mig, template: template('cpu', NEW), count: 1, timeoutMinutes: 30 }),
      ),
    );
    assert.equal(failure.type, FailureType.WAIT_TIMED_OUT);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /gave up after 45 minutes \(8 polls\)/);
    assert.deepEqual(beats.at(-1), { startedAt, polls: 8, observed: 0, observations: { vms: [] } });
    // Heartbeats that keep the attempt alive meanwhile (room made for the canary) repeat the progress resumed.
    assert.ok(
      beats.every((beat) => beat.startedAt === startedAt && beat.polls >= 7),
      `heartbeats: ${JSON.stringify(beats)}`,
    );
  });

  test('a wait is cancellable while it sleeps between polls', async () => {
    const env = activityEnvironment();
    const waiting = inActivity(env, () =>
      fx.activities.waitForRunners({ mig, template: template('cpu', NEW), count: 1 }),
    );
    await new Promise((resolve) => setTimeout(resolve, 30));
    env.cancel();
    await assert.rejects(waiting, (error) => error instanceof CancelledFailure);
  });

  test('waitForMigStable returns the snapshot once the MIG settled', async () => {
    await fx.run('setAutoscaling', { mig, bounds: { min: 3, max: 3 } });
    fx.sim.control.advance(90);
    const waiting = fx.run('waitForMigStable', mig);
    await new Promise((resolve) => setTimeout(resolve, 30));
    fx.sim.control.advance(600);
    const snapshot = await waiting;
    assert.equal(snapshot.isStable, true);
    assert.equal(snapshot.instancesByTemplate[template('cpu', OLD)], 3);
  });
});

describe('canary health and convergence', () => {
  const mig = { region: 'us-west1', name: 'gh-runner-testing-presubmit-gpu-us-west1' };

  test('a boot-looping canary is detected at every check past the threshold, whatever the moment', async () => {
    await grow(fx, mig, 2);
    const since = fx.sim.control.clock().now;
    fx.sim.control.setFaults({ bootloopTemplates: [template('gpu', NEW)] });
    await fx.run('canaryMig', { mig, template: template('gpu', NEW), canarySize: 1 });
    // Opportunistic update: the canary VM appears when a VM is replaced, e.g. after draining the idle ones.
    await fx.run('drainIdleRunners', { mig, keepTemplate: template('gpu', NEW) });
    // Irregular steps, so the checks land in every phase of the loop (recreating, booting, verifying).
    const steps = [37, 113, 71, 241, 19, 160, 88, 203, 55, 131, 97, 179, 23, 149, 61, 211];
    const check = canaryChecks(fx, { mig, canaryTemplate: template('gpu', NEW), since });
    const states: CanaryHealth[] = [];
    for (const step of steps) {
      fx.sim.control.advance(step);
      states.push(await check());
    }
    fx.sim.control.clearFaults();
    const bootloop = (state: CanaryHealth): boolean =>
      state.problems.some((p) => /boot-loops: it was created at least \d+ times and never registered a runner/.test(p));
    const first = states.findIndex(bootloop);
    assert.ok(first >= 0, 'the loop was detected');
    assert.ok(first < steps.length / 2, `detected at check ${first + 1} of ${steps.length}`);
    for (const state of states.slice(first)) {
      assert.equal(state.healthy, false);
      assert.ok(bootloop(state), `every later check reports it: ${state.problems.join('; ')}`);
      assert.ok(state.canaryRecreations >= 2);
    }
    assert.ok(states.every((state) => state.canaryInstances <= 1 && state.canaryRunnersOnline === 0));
    // A check that happens to see the VM mid-repair says so even without earlier observations.
    assert.ok(
      states.filter((state) => state.problems.some((p) => /being recreated/.test(p))).every((state) => !state.healthy),
    );
    assert.deepEqual(states.at(-1)?.canaryJobs, { succeeded: 0, failed: 0 });
  });

  test('convergence counts instances and runners on the target template', async () => {
    const healthyMig = { region: 'us-west1', name: 'gh-runner-testing-presubmit-arm64-us-west1' };
    const progress = await fx.run('convergence', { mig: healthyMig, targetTemplate: template('arm64', NEW) });
    assert.equal(progress.instancesOnTarget, 0);
    assert.equal(progress.runnersOnTarget, 0);
    assert.equal(progress.instancesTotal, fx.sim.control.mig(healthyMig.name).instances.length);
  });

  test('a canary VM that registers is healthy', async () => {
    const healthyMig = { region: 'us-east1', name: 'gh-runner-presubmit-cpu-us-east1' };
    const since = await startCanary(fx, healthyMig, template('cpu', NEW), 2, 1);
    fx.sim.control.advance(20 * 60);
    const health = await fx.run('canaryHealth', { mig: healthyMig, canaryTemplate: template('cpu', NEW), since });
    assert.deepEqual(health.problems, []);
    assert.equal(health.healthy, true);
    assert.equal(health.canaryRunnersOnline, 1);
    const progress = await fx.run('convergence', { mig: healthyMig, targetTemplate: template('cpu', NEW) });
    assert.equal(progress.instancesOnTarget, 1);
    assert.equal(progress.runnersOnTarget, 1);
    assert.equal(progress.runnersOld, 1);
  });
});
