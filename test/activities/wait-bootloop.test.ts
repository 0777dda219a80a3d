/**
 * waitForRunners watches the VMs on the awaited template while it waits: a template whose VMs crash before their
 * runner registers fails the wait as soon as the boot-loop rule sees it, not when the runners-ready timeout ends.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CancelledFailure } from '@temporalio/common';
import type { MockActivityEnvironment } from '@temporalio/testing';
import { BOOTLOOP_MIN_LIVES, bootloopProblems, recreatedVmProblems } from '../../activities/canary-health.js';
import { FailureType, type WaitProgress } from '../../activities/index.js';
import type { CanaryObservations, MigLocator, ObservedCanaryVm } from '../../activities/contract.js';
import { activityEnvironment, failureOf, inActivity, startActivityFixture, type ActivityFixture } from './fixture.js';

const NEW = '1111111111-bbb';
/** Slow VMs: 5 minutes to boot, 10 more to register a runner. */
const BOOT_SECONDS = 300;
const REGISTER_SECONDS = 600;
/** A boot-looping VM's life: boot, crash 90 s after RUNNING, 30 s to recreate. */
const LIFE_SECONDS = BOOT_SECONDS + 90 + 30;
/** What the rollout waits by default for runners to come up. */
const TIMEOUT_MINUTES = 60;
/** Simulated time between polls, as the 30 s poll interval of production, slightly coarser. */
const STEP_SECONDS = 45;

let fx: ActivityFixture;

before(async () => {
  fx = await startActivityFixture({
    jobRates: [{ perHour: 0, meanDurationMinutes: 30 }],
    timings: { bootSeconds: BOOT_SECONDS, registerSeconds: REGISTER_SECONDS },
  });
});
after(async () => {
  await fx.close();
});

/** A prod MIG of two registered VMs with a canary of one VM on a new template, whose VM is being created. */
async function canary(mig: MigLocator, type: string, looping: boolean): Promise<string> {
  const template = fx.sim.control.createTemplate({ group: 'presubmit', type, version: NEW }).name;
  await fx.run('setAutoscaling', { mig, bounds: { min: 2, max: 2 } });
  fx.sim.control.advance(BOOT_SECONDS + REGISTER_SECONDS + 60);
  if (looping) fx.sim.control.setFaults({ bootloopTemplates: [template] });
  await fx.run('canaryMig', { mig, template, canarySize: 1 });
  // Opportunistic update: the canary VM appears as the MIG replaces the drained idle VMs.
  await fx.run('drainIdleRunners', { mig, keepTemplate: template });
  return template;
}

interface Waiting {
  readonly env: MockActivityEnvironment;
  readonly result: Promise<number>;
  readonly beats: WaitProgress[];
  settled: boolean;
}

function startWait(mig: MigLocator, template: string, heartbeatDetails?: WaitProgress): Waiting {
  const env = activityEnvironment(heartbeatDetails === undefined ? {} : { attempt: 2, heartbeatDetails });
  const beats: WaitProgress[] = [];
  env.on('heartbeat', (details: WaitProgress) => beats.push(details));
  const result = inActivity(env, () =>
    fx.activities.waitForRunners({ mig, template, count: 1, timeoutMinutes: TIMEOUT_MINUTES }),
  );
  const waiting: Waiting = { env, result, beats, settled: false };
  const settle = (): void => {
    waiting.settled = true;
  };
  result.then(settle, settle);
  return waiting;
}

/**
 * Advances simulated time a step at a time, letting the wait poll after each step, until it settles or
 * `maxSeconds` passed. Returns the simulated seconds that passed.
 */
async function drive(waiting: Waiting, maxSeconds: number): Promise<number> {
  let elapsed = 0;
  while (!waiting.settled && elapsed < maxSeconds) {
    fx.sim.control.advance(STEP_SECONDS);
    elapsed += STEP_SECONDS;
    const polled = waiting.beats.length;
    // Two more polls: the one under way may have read the fleet before the step.
    while (!waiting.settled && waiting.beats.length < polled + 2)
      await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return elapsed;
}

async function stop(waiting: Waiting): Promise<void> {
  if (waiting.settled) return;
  waiting.env.cancel();
  await assert.rejects(waiting.result, (error) => error instanceof CancelledFailure);
}

test('a boot-looping canary fails the wait with the evidence long before the runners-ready timeout', async () => {
  const mig = { region: 'us-west1', name: 'gh-runner-presubmit-cpu-us-west1' };
  const template = await canary(mig, 'cpu', true);
  const waiting = startWait(mig, template);
  try {
    const elapsed = await drive(waiting, TIMEOUT_MINUTES * 60 - 5 * 60);
    assert.ok(waiting.settled, `still waiting after ${elapsed / 60} simulated minutes`);
    const failure = await failureOf(waiting.result);
    assert.equal(failure.type, FailureType.BOOT_LOOP);
    assert.equal(failure.nonRetryable, true);
    assert.ok(failure.message.includes(mig.name), failure.message);
    assert.ok(failure.message.includes(`template ${template}`), failure.message);
    assert.match(
      failure.message,
      /VM gh-runner-presubmit-cpu-us-west1-\w+ boot-loops: it was created at least 3 times/,
    );
    assert.match(failure.message, /never registered a runner/);
    // Three lives are the least the rule needs; the loop is caught within the third.
    assert.ok(elapsed <= BOOTLOOP_MIN_LIVES * LIFE_SECONDS + 2 * STEP_SECONDS, `caught after ${elapsed} s`);
  } finally {
    await stop(waiting);
    fx.sim.control.clearFaults();
  }
});

test('a healthy canary that takes 15 minutes to register its runner is waited for', async () => {
  const mig = { region: 'us-west1', name: 'gh-runner-presubmit-gpu-us-west1' };
  const template = await canary(mig, 'gpu', false);
  const waiting = startWait(mig, template);
  try {
    const elapsed = await drive(waiting, TIMEOUT_MINUTES * 60);
    assert.equal(await waiting.result, 1);
    assert.ok(elapsed >= BOOT_SECONDS + REGISTER_SECONDS - STEP_SECONDS, `done after ${elapsed} s`);
    const seen = waiting.beats.at(-1)?.observations?.vms ?? [];
    assert.equal(seen.length, 1, 'the one canary VM');
    assert.deepEqual(
      seen.map((vm) => [vm.lives.length, vm.registered]),
      [[1, true]],
    );
  } finally {
    await stop(waiting);
  }
});

test('a retried wait keeps what earlier attempts saw of the loop', async () => {
  const mig = { region: 'us-west1', name: 'gh-runner-presubmit-arm64-us-west1' };
  const template = await canary(mig, 'arm64', true);
  const first = startWait(mig, template);
  let second: Waiting | undefined;
  try {
    // Until the first attempt has seen two lives of the VM (one short of the rule), then it is lost.
    const lives = (waiting: Waiting): number =>
      Math.max(0, ...(waiting.beats.at(-1)?.observations?.vms ?? []).map((vm) => vm.lives.length));
    while (lives(first) < BOOTLOOP_MIN_LIVES - 1) await drive(first, STEP_SECONDS);
    await stop(first);
    const resumed = first.beats.at(-1);
    assert.ok(resumed !== undefined);

    second = startWait(mig, template, resumed);
    const elapsed = await drive(second, TIMEOUT_MINUTES * 60);
    const failure = await failureOf(second.result);
    assert.equal(failure.type, FailureType.BOOT_LOOP);
    // A fresh attempt would have to watch two more lives itself.
    assert.ok(elapsed < 2 * LIFE_SECONDS, `caught after ${elapsed} s`);
  } finally {
    await stop(first);
    if (second !== undefined) await stop(second);
    fx.sim.control.clearFaults();
  }
});

test('the wait judges by VMs recreated under their name, not by a stream of VMs it never saw registered', () => {
  // Between two polls, an ephemeral VM can register, run a one-minute job and delete itself: the wait then sees
  // a stream of VMs without runners. canaryHealth, which sees the jobs they ran, may weigh that stream; the wait
  // may not.
  const seenOnce = (name: string): ObservedCanaryVm => ({ name, lives: ['2026-01-01T00:00:00Z'], registered: false });
  const churn: CanaryObservations = { vms: ['a', 'b', 'c', 'd'].map((suffix) => seenOnce(`vm-${suffix}`)) };
  assert.deepEqual(recreatedVmProblems(churn), []);
  assert.equal(bootloopProblems(churn, 1).length, 1, 'the stream rule would have fired');
  const recreated: CanaryObservations = {
    vms: [
      {
        name: 'vm-a',
        lives: ['2026-01-01T00:00:00Z', '2026-01-01T00:07:00Z', '2026-01-01T00:14:00Z'],
        registered: false,
      },
    ],
  };
  assert.match(recreatedVmProblems(recreated)[0] ?? '', /vm-a boot-loops: it was created at least 3 times/);
});
