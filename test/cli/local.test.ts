/**
 * CLI pieces that need no server: operator durations, the engine's timing on a faster simulated world, the wait
 * for a worker's poller, the terminal rendering of live views.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHECK_INTERVAL_RULE, SOAK_RULE, durationFlagProblem } from '../../cli/durations.js';
import { CliError, EXIT_CODES } from '../../cli/errors.js';
import { waitForPoller, type TaskQueueService } from '../../cli/operations.js';
import { createOutput, progress } from '../../cli/output.js';
import { timingAtSpeed } from '../../devstack/timing.js';

test('an operator duration needs a unit and at least the minimum; the message names the flag and an example', () => {
  assert.equal(durationFlagProblem('--soak', '3d', SOAK_RULE), undefined);
  assert.equal(durationFlagProblem('--soak', '36h', SOAK_RULE), undefined);
  assert.equal(durationFlagProblem('--soak', '90 minutes', SOAK_RULE), undefined);
  assert.equal(durationFlagProblem('--soak', '1s', SOAK_RULE), undefined);
  assert.match(
    durationFlagProblem('--soak', '3', SOAK_RULE) ?? '',
    /^--soak: "3" has no unit \(a bare number would mean milliseconds\); write e\.g\. "3 days"/,
  );
  assert.match(
    durationFlagProblem('--soak', '3ms', SOAK_RULE) ?? '',
    /^--soak: "3ms" is shorter than a second: .*e\.g\./,
  );
  assert.match(durationFlagProblem('--soak', '0s', SOAK_RULE) ?? '', /^--soak: "0s" is shorter than a second: .*zero/);
  assert.match(durationFlagProblem('--soak', '0', SOAK_RULE) ?? '', /^--soak: "0" has no unit/);
  assert.match(durationFlagProblem('--soak', '-1 days', SOAK_RULE) ?? '', /^--soak: duration "-1 days" is negative/);
  assert.match(durationFlagProblem('--soak', 'a week', SOAK_RULE) ?? '', /^--soak: "a week" is not a duration/);
  assert.match(durationFlagProblem('--every', '86400000', CHECK_INTERVAL_RULE) ?? '', /^--every: .* has no unit/);
  assert.match(
    durationFlagProblem('--every', '10s', CHECK_INTERVAL_RULE) ?? '',
    /^--every: "10s" is shorter than a minute/,
  );
  assert.equal(durationFlagProblem('--every', '12h', CHECK_INTERVAL_RULE), undefined);
});

test('on a world 30 times faster the engine waits 30 times less, never below its floors', () => {
  assert.deepEqual(timingAtSpeed(30), {
    rollout: {
      healthCheckInterval: '1m',
      runnersReadyTimeout: '2m',
      convergeInterval: '20s',
      approvalReminderInterval: '24m',
      migWorkerLivenessInterval: '12m',
    },
    activities: { pollIntervalMs: 1000, runnerSnapshotMaxAgeMs: 1000, runnerListingsPerHour: 45_000 },
  });
  assert.deepEqual(timingAtSpeed(1).rollout, {
    healthCheckInterval: '30m',
    runnersReadyTimeout: '1h',
    convergeInterval: '10m',
    approvalReminderInterval: '12h',
    migWorkerLivenessInterval: '6h',
  });
  assert.deepEqual(timingAtSpeed(1).activities, {
    pollIntervalMs: 30_000,
    runnerSnapshotMaxAgeMs: 30_000,
    runnerListingsPerHour: 1500,
  });
  const fastest = timingAtSpeed(1_000_000);
  assert.equal(fastest.rollout.convergeInterval, '1s');
  assert.equal(fastest.activities.pollIntervalMs, 100);
  assert.equal(timingAtSpeed(7).rollout.healthCheckInterval, '257143ms');
});

function fakeService(pollersPerCall: (call: number) => number): TaskQueueService & { calls: number } {
  const service = {
    calls: 0,
    describeTaskQueue: () => {
      service.calls++;
      return Promise.resolve({ pollers: Array.from({ length: pollersPerCall(service.calls) }, () => ({})) });
    },
  };
  return service;
}

test('waitForPoller returns as soon as the server lists a poller', async () => {
  const service = fakeService((call) => (call < 3 ? 0 : 1));
  await waitForPoller(service, { namespace: 'default', taskQueue: 'q' }, { timeoutMs: 60_000, intervalMs: 1 });
  assert.equal(service.calls, 3);
});

test('waitForPoller gives up after its timeout with an error naming the task queue', async () => {
  const service = fakeService(() => 0);
  await assert.rejects(
    waitForPoller(service, { namespace: 'ns', taskQueue: 'q' }, { timeoutMs: 20, intervalMs: 1 }),
    (error: unknown) => {
      assert.ok(error instanceof CliError);
      assert.equal(error.exitCode, EXIT_CODES.failure);
      assert.match(error.message, /no poller on task queue "q" in namespace "ns"/);
      return true;
    },
  );
  assert.ok(service.calls > 1);
});

test('on a terminal, a live view redraws in place: up over the previous block, clear, draw', () => {
  let written = '';
  const output = createOutput({ stdout: { isTTY: true, write: (text: string) => (written += text) } });
  assert.equal(output.interactive, true);
  output.live(1, (n) => `rollout\n  ${progress(n, 4, output.interactive, 4)}`);
  assert.equal(written, 'rollout\n  [█░░░]     1/4\n');
  output.live(3, (n) => `rollout\n  ${progress(n, 4, output.interactive, 4)}`);
  assert.equal(written, 'rollout\n  [█░░░]     1/4\n\x1b[2F\x1b[Jrollout\n  [███░]     3/4\n');
});
