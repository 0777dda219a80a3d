import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { RolloutActivities, RunnerInfo, RunnerReleaseInfo } from '../../activities/types.js';
import type { FleetDefinition } from '../../runner-config/types.js';
import { VERSION_PATTERN } from '../../runner-config/naming.js';
import { RolloutVersionSearchAttribute } from '../../workflows/rollout-contract.js';
import {
  RUNNER_VERSION_CHECK_WORKFLOW_TYPE,
  RunnerVersionCheckFailure,
  runnerRolloutWorkflowId,
  type RunnerVersionCheckInput,
  type RunnerVersionCheckResult,
} from '../../workflows/runner-version-check-contract.js';
import {
  finishStubRolloutSignal,
  stubRolloutStateQuery,
  type StubRolloutState,
} from '../fixtures/workflows/runner-version-check.js';
import { startTimeSkippingServer, uniqueNames } from '../helpers/temporal.js';

const workflowsPath = fileURLToPath(new URL('../fixtures/workflows/runner-version-check.ts', import.meta.url));
const { temporal } = proto;
const DAY_MS = 24 * 60 * 60 * 1000;
const CURRENT = '2.328.0';
const DIGEST_X64 = 'a'.repeat(64);
const DIGEST_ARM64 = 'b'.repeat(64);

type CheckActivities = Pick<
  RolloutActivities,
  'loadFleet' | 'listRunners' | 'latestRunnerRelease' | 'verifyRunnerArchive' | 'createTemplates'
>;

interface Calls {
  newerThan: (string | undefined)[];
  verified: { url: string; sha256: string }[];
  templates: Parameters<RolloutActivities['createTemplates']>[0][];
}

function fleetDefinition(project: string): FleetDefinition {
  return {
    project,
    namePrefix: 'gh-runner',
    github: { org: 'example-org', configRepo: 'example-org/runner-config', configRef: '56e40f6505d1c0ffee' },
    services: { tokenProxyUrl: 'http://127.0.0.1:9/token', selfDeleterUrl: 'http://127.0.0.1:9/delete' },
    environments: {
      prod: {
        name: 'prod',
        regions: ['us-central1'],
        autoscaling: { min: 1, max: 10 },
        testAutoscaling: { min: 1, max: 10 },
        autoscaler: { signal: 'cpu' },
      },
      testing: {
        name: 'testing',
        regions: ['us-central1'],
        autoscaling: { min: 0, max: 0 },
        testAutoscaling: { min: 1, max: 10 },
        autoscaler: { signal: 'cpu' },
      },
    },
    groups: [{ name: 'presubmit', trust: 'minimal', serviceAccount: 'runner@example.iam', allowedEvents: ['push'] }],
    types: [],
    regions: [{ name: 'us-central1', zones: ['us-central1-a'] }],
    runner: { version: CURRENT, archiveDigests: { x64: 'c'.repeat(64), arm64: 'd'.repeat(64) } },
    rollout: { defaultSoak: '3 days', canarySize: 1 },
  };
}

function release(
  version: string,
  publishedAtMs: number,
  overrides: Partial<RunnerReleaseInfo> = {},
): RunnerReleaseInfo {
  return {
    version,
    publishedAt: new Date(publishedAtMs).toISOString(),
    securityRelease: false,
    digests: { 'linux-x64': DIGEST_X64, 'linux-arm64': DIGEST_ARM64, 'osx-x64': 'e'.repeat(64) },
    assets: {
      'linux-x64': `http://127.0.0.1:9/actions-runner-linux-x64-${version}.tar.gz`,
      'linux-arm64': `http://127.0.0.1:9/actions-runner-linux-arm64-${version}.tar.gz`,
    },
    ...overrides,
  };
}

function runner(id: number, runnerVersion: string | undefined): RunnerInfo {
  return {
    id,
    name: `gh-runner-presubmit-cpu-us-central1-${id}`,
    online: true,
    busy: false,
    labels: runnerVersion === undefined ? [] : [`runner-version=${runnerVersion}`],
    ...(runnerVersion === undefined ? {} : { runnerVersion }),
  };
}

interface FakeOptions {
  readonly project: string;
  readonly release: RunnerReleaseInfo | null | (() => Promise<RunnerReleaseInfo | null>);
  readonly runners?: RunnerInfo[];
  readonly verify?: (input: { url: string; sha256: string }) => Promise<{ bytes: number }>;
}

function fakeActivities(options: FakeOptions): { activities: CheckActivities; calls: Calls } {
  const calls: Calls = { newerThan: [], verified: [], templates: [] };
  const activities: CheckActivities = {
    loadFleet: async () => fleetDefinition(options.project),
    listRunners: async () => options.runners ?? [runner(1, CURRENT), runner(2, CURRENT), runner(3, undefined)],
    latestRunnerRelease: async ({ newerThan }) => {
      calls.newerThan.push(newerThan);
      return typeof options.release === 'function' ? options.release() : options.release;
    },
    verifyRunnerArchive: async (input) => {
      calls.verified.push(input);
      return options.verify === undefined ? { bytes: 1024 } : options.verify(input);
    },
    createTemplates: async (input) => {
      calls.templates.push(input);
      return { created: [`gh-runner-presubmit-cpu-${input.version}`], existing: [] };
    },
  };
  return { activities, calls };
}

let env: TestWorkflowEnvironment;
/**
 * A plain client never unlocks time skipping: the stub rollouts wait forever, and a skipping server would jump
 * straight to their execution timeout and time them out. The check itself has no timers to skip.
 */
let client: Client;
before(async () => {
  env = await startTimeSkippingServer();
  // The check starts rollouts with their version search attribute, as `rollout start` does.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: {
      [RolloutVersionSearchAttribute.name]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    },
  });
  client = new Client({
    connection: env.connection,
    ...(env.namespace === undefined ? {} : { namespace: env.namespace }),
  });
});
after(async () => {
  await env?.teardown();
});

/**
 * Runs the checks one after another on a fresh worker, then reads the stub rollouts they started while the
 * worker still runs (queries need a worker to answer them).
 */
async function runCheck(
  title: string,
  fake: FakeOptions,
  checks: RunnerVersionCheckInput[] = [{}],
  afterCheck?: (result: RunnerVersionCheckResult, index: number) => Promise<void>,
): Promise<{
  results: RunnerVersionCheckResult[];
  calls: Calls;
  rollouts: Map<string, StubRolloutState>;
}> {
  const { taskQueue, workflowId } = uniqueNames(title);
  const { activities, calls } = fakeActivities(fake);
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath, activities });
  return worker.runUntil(async () => {
    const results: RunnerVersionCheckResult[] = [];
    for (const [index, input] of checks.entries()) {
      const result = await client.workflow.execute<
        (input: RunnerVersionCheckInput) => Promise<RunnerVersionCheckResult>
      >(RUNNER_VERSION_CHECK_WORKFLOW_TYPE, { taskQueue, workflowId: workflowId(`check-${index}`), args: [input] });
      results.push(result);
      await afterCheck?.(result, index);
    }
    const rollouts = new Map<string, StubRolloutState>();
    for (const { action } of results) {
      if (action.kind === 'none' || rollouts.has(action.rolloutId)) continue;
      rollouts.set(action.rolloutId, await client.workflow.getHandle(action.rolloutId).query(stubRolloutStateQuery));
    }
    return { results, calls, rollouts };
  });
}

async function checkFailure(title: string, fake: FakeOptions, input: RunnerVersionCheckInput = {}) {
  const { taskQueue, workflowId } = uniqueNames(title);
  const { activities, calls } = fakeActivities(fake);
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath, activities });
  const error = await worker.runUntil(
    client.workflow
      .execute(RUNNER_VERSION_CHECK_WORKFLOW_TYPE, { taskQueue, workflowId: workflowId('check'), args: [input] })
      .then(
        () => assert.fail('the check should have failed'),
        (failure: unknown) => failure,
      ),
  );
  assert.ok(error instanceof WorkflowFailedError, `expected a failed workflow, got ${String(error)}`);
  assert.ok(error.cause instanceof ApplicationFailure, 'the check fails with an application failure');
  return { failure: error.cause, calls };
}

async function assertNoRollout(rolloutId: string): Promise<void> {
  await assert.rejects(client.workflow.getHandle(rolloutId).describe(), WorkflowNotFoundError);
}

function rolloutIdOf(result: RunnerVersionCheckResult): string {
  assert.notEqual(result.action.kind, 'none', `expected a rollout, got ${JSON.stringify(result.action)}`);
  return result.action.kind === 'none' ? '' : result.action.rolloutId;
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
        if (index !== 1 || result.action.kind === 'none') return;
        const rollout = client.workflow.getHandle(result.action.rolloutId);
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
    const description = await client.workflow.getHandle(rolloutId).describe();
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
  test('a digest mismatch fails the check before any template or rollout', async (t) => {
    const project = uniqueNames(t.name).workflowId('p');
    const now = await env.currentTimeMs();
    const { failure, calls } = await checkFailure(t.name, {
      project,
      release: release('2.332.0', now - DAY_MS),
      verify: async ({ url }) => {
        if (url.includes('arm64')) {
          throw ApplicationFailure.nonRetryable(`SHA-256 of ${url} is ${'f'.repeat(64)}`, 'DIGEST_MISMATCH');
        }
        return { bytes: 1024 };
      },
    });
    assert.equal(failure.type, RunnerVersionCheckFailure.CHECK_FAILED);
    assert.match(failure.message, /verifying the linux-arm64 archive of 2\.332\.0/);
    assert.match(failure.message, /nothing was started/);
    assert.deepEqual(failure.details?.[0], {
      step: 'verifying the linux-arm64 archive of 2.332.0',
      activityFailureType: 'DIGEST_MISMATCH',
    });
    assert.deepEqual(calls.templates, []);
    await assertNoRollout(runnerRolloutWorkflowId(project, '2.332.0'));
  });

  test('a release without SHA lines fails the check, naming what is missing', async (t) => {
    const project = uniqueNames(t.name).workflowId('p');
    const now = await env.currentTimeMs();
    const { failure, calls } = await checkFailure(t.name, {
      project,
      release: release('2.332.1', now - DAY_MS, { digests: {} }),
    });
    assert.equal(failure.type, RunnerVersionCheckFailure.RELEASE_INCOMPLETE);
    assert.match(failure.message, /no "BEGIN SHA linux-x64" digest/);
    assert.match(failure.message, /no "BEGIN SHA linux-arm64" digest/);
    assert.deepEqual(calls.verified, []);
    assert.deepEqual(calls.templates, []);
    await assertNoRollout(runnerRolloutWorkflowId(project, '2.332.1'));
  });

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
