import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { VERSION_PATTERN } from '../../runner-config/naming.js';
import { RolloutVersionSearchAttribute } from '../../workflows/rollout-contract.js';
import {
  RunnerVersionCheckFailure,
  runnerRolloutWorkflowId,
  type RunnerVersionCheckInput,
  type RunnerVersionCheckResult,
} from '../../workflows/runner-version-check-contract.js';
import { finishStubRolloutSignal } from '../fixtures/workflows/runner-version-check.js';
import {
  CURRENT,
  DAY_MS,
  DIGEST_ARM64,
  DIGEST_X64,
  checkFailure as failingCheck,
  release,
  rolloutIdOf,
  runCheck as runChecks,
  runner,
  startCheckServer,
  type CheckServer,
  type FakeOptions,
} from '../helpers/runner-version-check-harness.js';
import { uniqueNames } from '../helpers/temporal.js';

let server: CheckServer;
before(async () => {
  server = await startCheckServer();
});
after(async () => {
  await server?.env.teardown();
});

const env = { currentTimeMs: () => server.env.currentTimeMs() };

function runCheck(
  title: string,
  fake: FakeOptions,
  checks: RunnerVersionCheckInput[] = [{}],
  afterCheck?: (result: RunnerVersionCheckResult, index: number) => Promise<void>,
) {
  return runChecks(server, { title, fake, checks, ...(afterCheck === undefined ? {} : { afterCheck }) });
}

function checkFailure(title: string, fake: FakeOptions, input: RunnerVersionCheckInput = {}) {
  return failingCheck(server, title, fake, input);
}

describe('runnerVersionCheck', () => {
  test('nothing newer: no templates, no rollout, no escalation', async (t) => {
    const project = uniqueNames(t.name).workflowId('p');
    const { results, calls } = await runCheck(t.name, { project, release: null });
    const [result] = results;
    assert.ok(result);
    assert.equal(result.newestRelease, null);
    assert.equal(result.converged, true);
    assert.equal(result.action.kind, 'none');
    assert.deepEqual(result.escalations, []);
    assert.deepEqual(result.fleet.runners, { [CURRENT]: 2 });
    assert.equal(result.fleet.runnersWithoutVersion, 1);
    assert.deepEqual(calls.newerThan, [CURRENT]);
    assert.deepEqual(calls.templates, []);
    assert.deepEqual(calls.verified, []);
  });

  test('a new release creates templates and starts its rollout once, even when checked twice', async (t) => {
    const project = uniqueNames(t.name).workflowId('p');
    const now = await env.currentTimeMs();
    const newRelease = release('2.329.0', now - 2 * DAY_MS);
    // After the second check the rollout finishes: a finished rollout of the release is never repeated either.
    const { results, calls, rollouts } = await runCheck(
      t.name,
      { project, release: newRelease },
      [{}, {}, {}],
      async (result, index) => {
        if (index !== 1 || !('rolloutId' in result.action)) return;
        const rollout = server.client.workflow.getHandle(result.action.rolloutId);
        await rollout.signal(finishStubRolloutSignal);
        await rollout.result();
      },
    );
    const [first, second, third] = results;
    assert.ok(first && second && third);

    const rolloutId = runnerRolloutWorkflowId(project, '2.329.0');
    assert.deepEqual(first.action, { kind: 'rollout-started', rolloutId });
    assert.deepEqual(second.action, { kind: 'rollout-already-started', rolloutId });
    assert.deepEqual(third.action, { kind: 'rollout-already-started', rolloutId });
    assert.match(first.templateVersion ?? '', VERSION_PATTERN);
    assert.ok(first.templateVersion?.startsWith('56e40f6505-'));
    assert.equal(second.templateVersion, first.templateVersion, 'the same release always maps to the same version');
    assert.equal(first.soakPlan?.kind, 'default');
    assert.equal(first.soakPlan?.soak, '3 days');
    assert.equal(first.converged, false);
    assert.deepEqual(first.escalations, [], 'four weeks of slack is no reason to escalate');
    assert.equal(first.deadline, new Date(Date.parse(newRelease.publishedAt) + 30 * DAY_MS).toISOString());

    assert.deepEqual(calls.templates[0], {
      version: first.templateVersion,
      runnerVersion: '2.329.0',
      archiveDigests: { x64: DIGEST_X64, arm64: DIGEST_ARM64 },
    });
    assert.deepEqual(
      calls.verified
        .slice(0, 2)
        .map(({ sha256 }) => sha256)
        .sort(),
      [DIGEST_X64, DIGEST_ARM64],
    );

    const state = rollouts.get(rolloutId);
    assert.equal(state?.input.version, first.templateVersion);
    assert.equal(state?.input.soak, '3 days');
    assert.equal(state?.input.plannedSoakReason, undefined);
    assert.equal(state?.input.requestedBy, 'runner-version-check');
    const description = await server.client.workflow.getHandle(rolloutId).describe();
    assert.equal(description.typedSearchAttributes.get(RolloutVersionSearchAttribute), first.templateVersion);
  });

  test('near the deadline the soak is shortened to fit, and the plan reaches the rollout', async (t) => {
    const project = uniqueNames(t.name).workflowId('p');
    const now = await env.currentTimeMs();
    // 7 days left: minus 3 days margin and 2 days for the other stages leaves 2 days of soak.
    const { results, rollouts } = await runCheck(t.name, {
      project,
      release: release('2.329.1', now - 23 * DAY_MS + 60_000),
    });
    const [result] = results;
    assert.ok(result);
    assert.equal(result.soakPlan?.kind, 'compressed');
    assert.equal(result.soakPlan?.soak, '2d');
    assert.equal(result.soakPlan?.defaultSoak, '3 days');
    assert.match(result.soakPlan?.reason ?? '', /no longer fits before the deadline/);
    const state = rollouts.get(rolloutIdOf(result));
    assert.equal(state?.input.soak, '2d');
    assert.equal(state?.input.plannedSoakReason, result.soakPlan?.reason);

    // With a day left the soak floors at the minimum, and says the deadline is at risk.
    const late = await runCheck(`${t.name} late`, { project, release: release('2.329.2', now - 29 * DAY_MS) });
    assert.equal(late.results[0]?.soakPlan?.soak, '6h');
    assert.match(late.results[0]?.soakPlan?.reason ?? '', /deadline is at risk/);
  });

  test("the deadline runs from the first release newer than the fleet, not the newest one's date", async (t) => {
    const project = uniqueNames(t.name).workflowId('p');
    const now = await env.currentTimeMs();
    // The fleet on 2.328.0; 2.328.1 came out 28 days ago and 2.331.0 three days ago: two days are left, not 27.
    const firstNewer = { version: '2.328.1', publishedAt: new Date(now - 28 * DAY_MS).toISOString() };
    const { results } = await runCheck(t.name, {
      project,
      release: release('2.331.0', now - 3 * DAY_MS, { firstNewer }),
    });
    const [result] = results;
    assert.ok(result);
    assert.equal(result.newestRelease?.version, '2.331.0');
    assert.equal(result.deadline, new Date(Date.parse(firstNewer.publishedAt) + 30 * DAY_MS).toISOString());
    assert.equal(Math.round(result.slackDays ?? Number.NaN), 2);
    assert.equal(result.escalations[0]?.severity, 'critical');
  });

  test('a security release is fast-tracked with the minimal soak and escalated at once', async (t) => {
    const project = uniqueNames(t.name).workflowId('p');
    const now = await env.currentTimeMs();
    const { results } = await runCheck(t.name, {
      project,
      release: release('2.329.3', now - DAY_MS, { securityRelease: true }),
    });
    const [result] = results;
    assert.ok(result);
    assert.equal(result.soakPlan?.kind, 'security');
    assert.equal(result.soakPlan?.soak, '1h');
    assert.equal(result.escalations.length, 1);
    assert.equal(result.escalations[0]?.trigger, 'security');
    assert.equal(result.escalations[0]?.severity, 'critical');
  });

  test('escalations at each threshold while the fleet has not converged, recorded on the rollout', async (t) => {
    const project = uniqueNames(t.name).workflowId('p');
    const now = await env.currentTimeMs();
    const cases = [
      { version: '2.330.0', slackDays: 20, threshold: undefined, severity: undefined },
      { version: '2.330.1', slackDays: 13, threshold: 14, severity: 'warning' },
      { version: '2.330.2', slackDays: 6, threshold: 7, severity: 'warning' },
      { version: '2.330.3', slackDays: 2, threshold: 3, severity: 'critical' },
      { version: '2.330.4', slackDays: -1, threshold: 3, severity: 'critical' },
    ] as const;
    for (const { version, slackDays, threshold, severity } of cases) {
      const published = now - (30 - slackDays) * DAY_MS + 60 * 60_000;
      const { results, rollouts } = await runCheck(`${t.name} ${version}`, {
        project,
        release: release(version, published),
      });
      const [result] = results;
      assert.ok(result);
      if (threshold === undefined) {
        assert.deepEqual(result.escalations, [], `${slackDays} days left`);
        continue;
      }
      const [escalation] = result.escalations;
      assert.equal(result.escalations.length, 1, `${slackDays} days left`);
      assert.equal(escalation?.trigger, 'slack');
      assert.equal(escalation?.thresholdDays, threshold);
      assert.equal(escalation?.severity, severity);
      assert.equal(escalation?.runnerVersion, version);
      const rolloutId = rolloutIdOf(result);
      assert.equal(escalation?.rolloutId, rolloutId);
      const state = rollouts.get(rolloutId);
      assert.equal(state?.escalations.length, 1);
      assert.equal(state?.escalations[0]?.source, 'runner-version-check');
      assert.equal(state?.escalations[0]?.severity, severity);
      assert.equal(state?.escalations[0]?.details?.['thresholdDays'], String(threshold));
    }
  });

  test('a converged fleet is not escalated even close to the deadline', async (t) => {
    const project = uniqueNames(t.name).workflowId('p');
    const now = await env.currentTimeMs();
    const { results } = await runCheck(t.name, {
      project,
      release: release('2.331.0', now - 28 * DAY_MS),
      runners: [runner(1, '2.331.0'), runner(2, '2.331.0')],
    });
    const [result] = results;
    assert.ok(result);
    assert.equal(result.converged, true);
    assert.deepEqual(result.escalations, []);
    // The definition still names the old runner, so the (idempotent) rollout is still asked for.
    assert.equal(result.action.kind, 'rollout-started');
  });

  test('the oldest runner decides what counts as newer', async (t) => {
    const project = uniqueNames(t.name).workflowId('p');
    const { calls } = await runCheck(t.name, {
      project,
      release: null,
      runners: [runner(1, '2.327.9'), runner(2, '2.328.0'), runner(3, '2.10.0')],
    });
    assert.deepEqual(calls.newerThan, ['2.10.0']);
  });
});

describe('runnerVersionCheck failures start nothing', () => {
  test('an unreachable API fails the check after bounded retries', async (t) => {
    const project = uniqueNames(t.name).workflowId('p');
    let attempts = 0;
    const { failure, calls } = await checkFailure(t.name, {
      project,
      release: async () => {
        attempts++;
        // A short retry delay stands in for the policy's backoff, which the test server does not skip.
        throw ApplicationFailure.create({
          message: 'GET /repos/actions/runner/releases: connect ECONNREFUSED',
          type: 'UNAVAILABLE',
          nextRetryDelay: '10ms',
        });
      },
    });
    assert.equal(failure.type, RunnerVersionCheckFailure.CHECK_FAILED);
    assert.match(failure.message, /fetching the newest runner release: .*ECONNREFUSED/);
    assert.equal(attempts, 12, 'transient errors are retried, a bounded number of times');
    assert.deepEqual(calls.templates, []);
  });

  test('invalid input is refused with every problem named', async (t) => {
    const project = uniqueNames(t.name).workflowId('p');
    const { failure, calls } = await checkFailure(
      t.name,
      { project, release: null },
      { escalationThresholdsDays: [7, -1], margin: 'soon' },
    );
    assert.equal(failure.type, RunnerVersionCheckFailure.INVALID_INPUT);
    assert.match(failure.message, /escalationThresholdsDays/);
    assert.match(failure.message, /margin/);
    assert.deepEqual(calls.newerThan, []);
  });
});
