/**
 * The runner-version check in the cases that stop a plain "new release, new rollout": a release it cannot verify,
 * a newer release while the previous rollout runs, and a rollout that rolled back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { RolloutResult } from '../../workflows/rollout-contract.js';
import { RunnerVersionCheckFailure, runnerRolloutWorkflowId } from '../../workflows/runner-version-check-contract.js';
import { finishStubRolloutSignal, stubStageSignal } from '../fixtures/workflows/runner-version-check.js';
import {
  DAY_MS,
  assertNoRollout,
  checkFailure,
  release,
  runCheck,
  startCheckServer,
  type CheckServer,
} from '../helpers/runner-version-check-harness.js';
import { uniqueNames } from '../helpers/temporal.js';

let server: CheckServer;
before(async () => {
  server = await startCheckServer();
});
after(async () => {
  await server?.env.teardown();
});

function projectFor(title: string): string {
  return uniqueNames(title).workflowId('p');
}

describe('a release that cannot be verified', () => {
  test('a digest mismatch escalates at once with the reason and the deadline; nothing is rolled out', async (t) => {
    const project = projectFor(t.name);
    const now = await server.env.currentTimeMs();
    const published = now - DAY_MS;
    const { results, calls } = await runCheck(server, {
      title: t.name,
      fake: {
        project,
        release: release('2.332.0', published),
        verify: async ({ url }) => {
          if (url.includes('arm64')) {
            throw ApplicationFailure.nonRetryable(`SHA-256 of ${url} is ${'f'.repeat(64)}`, 'DIGEST_MISMATCH');
          }
          return { bytes: 1024 };
        },
      },
    });
    const [result] = results;
    assert.ok(result);
    assert.equal(result.action.kind, 'release-unverified');
    assert.ok(result.action.kind === 'release-unverified');
    assert.equal(result.action.runnerVersion, '2.332.0');
    assert.match(result.action.problems.join('\n'), /linux-arm64 archive does not match its published digest/);
    const deadline = new Date(published + 30 * DAY_MS).toISOString();
    assert.equal(result.deadline, deadline);
    const [escalation] = result.escalations;
    assert.equal(result.escalations.length, 1, 'escalated at once, with four weeks of slack');
    assert.equal(escalation?.trigger, 'unverified');
    assert.equal(escalation?.severity, 'critical');
    assert.equal(escalation?.deadline, deadline);
    assert.match(escalation?.message ?? '', /2\.332\.0 cannot be verified: .*linux-arm64/);
    assert.match(escalation?.message ?? '', new RegExp(deadline.replace(/\./g, '\\.')));
    assert.deepEqual(calls.templates, []);
    await assertNoRollout(server, runnerRolloutWorkflowId(project, '2.332.0'));
  });

  test('a release without SHA lines escalates naming what is missing, before downloading anything', async (t) => {
    const project = projectFor(t.name);
    const now = await server.env.currentTimeMs();
    const { results, calls } = await runCheck(server, {
      title: t.name,
      fake: { project, release: release('2.332.1', now - DAY_MS, { digests: {} }) },
    });
    const [result] = results;
    assert.ok(result?.action.kind === 'release-unverified', JSON.stringify(result?.action));
    assert.match(result.action.problems.join('\n'), /no "BEGIN SHA linux-x64" digest/);
    assert.match(result.action.problems.join('\n'), /no "BEGIN SHA linux-arm64" digest/);
    assert.equal(result.escalations[0]?.trigger, 'unverified');
    assert.deepEqual(calls.verified, []);
    assert.deepEqual(calls.templates, []);
    await assertNoRollout(server, runnerRolloutWorkflowId(project, '2.332.1'));
  });
});

describe('a newer release while the previous rollout runs', () => {
  test('a rollout that promoted nothing is aborted and replaced; the oldest deadline plans the soak', async (t) => {
    const project = projectFor(t.name);
    const now = await server.env.currentTimeMs();
    // The fleet on 2.328.0; 2.329.0 came out 25 days ago, its rollout is soaking when 2.330.0 comes out.
    const firstNewer = { version: '2.329.0', publishedAt: new Date(now - 25 * DAY_MS).toISOString() };
    const releases = [
      release('2.329.0', now - 25 * DAY_MS, { firstNewer, newerVersions: ['2.329.0'] }),
      release('2.330.0', now - DAY_MS, { firstNewer, newerVersions: ['2.329.0', '2.330.0'] }),
    ];
    let current = 0;
    const olderId = runnerRolloutWorkflowId(project, '2.329.0');
    const newerId = runnerRolloutWorkflowId(project, '2.330.0');
    const { results } = await runCheck(server, {
      title: t.name,
      fake: { project, release: async () => releases[current] ?? null },
      checks: [{}, { olderRolloutWait: '1 minute' }],
      afterCheck: async (_result, index) => {
        if (index !== 0) return;
        await server.client.workflow.getHandle(olderId).signal(stubStageSignal, 'soak');
        current = 1;
      },
    });
    const [first, second] = results;
    assert.ok(first && second);
    assert.deepEqual(first.action, { kind: 'rollout-started', rolloutId: olderId });
    assert.deepEqual(second.action, {
      kind: 'rollout-started',
      rolloutId: newerId,
      superseded: [{ rolloutId: olderId, runnerVersion: '2.329.0', stage: 'soak', disposition: 'superseded' }],
    });
    const older = (await server.client.workflow.getHandle(olderId).result()) as RolloutResult | undefined;
    assert.equal(older?.outcome, 'aborted');
    assert.equal(older?.stop?.identity, 'runner-version-check');
    assert.match(older?.stop?.reason ?? '', /superseded by runner 2\.330\.0/);
    // GitHub's clock for 2.328.0 started with 2.329.0: five days left, so the soak is cut to the minimum.
    assert.equal(second.deadline, new Date(Date.parse(firstNewer.publishedAt) + 30 * DAY_MS).toISOString());
    assert.equal(second.soakPlan?.kind, 'compressed');
    assert.equal(second.soakPlan?.soak, '6h');
    assert.equal(second.escalations[0]?.rolloutId, newerId);
    await server.client.workflow.getHandle(newerId).terminate('end of test');
  });

  test('a rollout already promoting finishes first; the next check follows it', async (t) => {
    const project = projectFor(t.name);
    const now = await server.env.currentTimeMs();
    const firstNewer = { version: '2.329.0', publishedAt: new Date(now - 10 * DAY_MS).toISOString() };
    const releases = [
      release('2.329.0', now - 10 * DAY_MS, { firstNewer, newerVersions: ['2.329.0'] }),
      release('2.330.0', now - DAY_MS, { firstNewer, newerVersions: ['2.329.0', '2.330.0'] }),
    ];
    let current = 0;
    const olderId = runnerRolloutWorkflowId(project, '2.329.0');
    const newerId = runnerRolloutWorkflowId(project, '2.330.0');
    const { results, rollouts } = await runCheck(server, {
      title: t.name,
      fake: { project, release: async () => releases[current] ?? null },
      checks: [{}, { olderRolloutWait: '1 minute' }, {}],
      afterCheck: async (_result, index) => {
        const older = server.client.workflow.getHandle(olderId);
        if (index === 0) {
          await older.signal(stubStageSignal, 'converge', true);
          current = 1;
        } else if (index === 1) {
          await assertNoRollout(server, newerId);
          await older.signal(finishStubRolloutSignal, { outcome: 'completed' });
          await older.result();
        }
      },
    });
    const [, waiting, following] = results;
    assert.ok(waiting && following);
    assert.deepEqual(waiting.action, {
      kind: 'waiting-for-older-rollouts',
      rolloutId: newerId,
      olderRollouts: [{ rolloutId: olderId, runnerVersion: '2.329.0', stage: 'converge', disposition: 'finishing' }],
    });
    assert.deepEqual(rollouts.get(olderId)?.aborts, [], 'a promoting rollout is never aborted');
    assert.deepEqual(following.action, { kind: 'rollout-started', rolloutId: newerId });
    await server.client.workflow.getHandle(newerId).terminate('end of test');
  });
});

describe('a rolled-back rollout', () => {
  test('is reported with when, why and which gate, escalated with the deadline, and retried on request', async (t) => {
    const project = projectFor(t.name);
    const now = await server.env.currentTimeMs();
    const published = now - 20 * DAY_MS;
    const rolloutId = runnerRolloutWorkflowId(project, '2.329.0');
    const gateReason = 'health gate failed: mig-1: 4 of 10 canary jobs failed';
    const { results, calls, rollouts } = await runCheck(server, {
      title: t.name,
      fake: { project, release: release('2.329.0', published, { newerVersions: ['2.329.0'] }) },
      checks: [{}, {}, {}, { retryRollout: '2.329.0' }, {}],
      afterCheck: async (_result, index) => {
        if (index !== 0) return;
        const rollout = server.client.workflow.getHandle(rolloutId);
        await rollout.signal(stubStageSignal, 'soak');
        await rollout.signal(finishStubRolloutSignal, {
          outcome: 'rolled-back',
          stop: { kind: 'health-gate', identity: 'health-gate', reason: gateReason, at: new Date(now).toISOString() },
        });
        await rollout.result();
      },
    });
    const [started, stopped, again, retried, after] = results;
    assert.ok(started && stopped && again && retried && after);
    assert.equal(started.action.kind, 'rollout-started');

    // Every later check says so, instead of "already started".
    for (const result of [stopped, again]) {
      assert.equal(result.action.kind, 'rollout-stopped', JSON.stringify(result.action));
      assert.ok(result.action.kind === 'rollout-stopped');
      assert.equal(result.action.rolloutId, rolloutId);
      const { stopped: what } = result.action;
      assert.equal(what.outcome, 'rolled-back');
      assert.equal(what.gate, 'health-gate');
      assert.equal(what.stoppedIn, 'soak');
      assert.equal(what.reason, gateReason);
      assert.ok(!Number.isNaN(Date.parse(what.finishedAt)));
      const [escalation] = result.escalations;
      assert.equal(escalation?.trigger, 'rollout-stopped');
      assert.equal(escalation?.severity, 'critical', 'ten days of slack, but nothing rolls out without a person');
      assert.equal(escalation?.deadline, new Date(published + 30 * DAY_MS).toISOString());
      assert.match(escalation?.message ?? '', /rolled back at .* \(health-gate in soak\): health gate failed/);
      assert.match(escalation?.message ?? '', /stays on 2\.328\.0/);
      assert.match(escalation?.message ?? '', /check-runner-version --retry-rollout 2\.329\.0/);
    }
    // Created by the first check, the retry and the check after it: the two that found it stopped created nothing.
    assert.equal(calls.templates.length, 3, 'a stopped rollout creates nothing until it is retried');

    // The retry starts a fresh run under the same id; the check after it finds that run.
    assert.equal(retried.action.kind, 'rollout-started');
    assert.ok(retried.action.kind === 'rollout-started');
    assert.equal(retried.action.rolloutId, rolloutId);
    assert.equal(retried.action.retried?.gate, 'health-gate');
    assert.deepEqual(after.action, { kind: 'rollout-already-started', rolloutId });
    const latest = await server.client.workflow.getHandle(rolloutId).describe();
    assert.equal(latest.status.name, 'RUNNING');
    assert.equal(rollouts.get(rolloutId)?.input.requestedBy, 'runner-version-check');
    await server.client.workflow.getHandle(rolloutId).terminate('end of test');
  });

  test('a retry with nothing to retry is refused before anything is created', async (t) => {
    const project = projectFor(t.name);
    const now = await server.env.currentTimeMs();
    const fake = { project, release: release('2.329.5', now - DAY_MS, { newerVersions: ['2.329.5'] }) };
    const never = await checkFailure(server, t.name, fake, { retryRollout: '2.329.5' });
    assert.equal(never.failure.type, RunnerVersionCheckFailure.INVALID_INPUT);
    assert.match(never.failure.message, /nothing to retry: the rollout of 2\.329\.5 .*never started/);
    assert.deepEqual(never.calls.templates, []);
    await assertNoRollout(server, runnerRolloutWorkflowId(project, '2.329.5'));

    const other = await checkFailure(server, `${t.name} other`, fake, { retryRollout: '2.329.4' });
    assert.match(other.failure.message, /the release to roll out is 2\.329\.5, not 2\.329\.4/);
    const bad = await checkFailure(server, `${t.name} bad`, fake, { retryRollout: 'latest' });
    assert.match(bad.failure.message, /retryRollout must be a runner version/);
  });
});
