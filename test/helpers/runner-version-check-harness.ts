/**
 * What the runner-version check's workflow tests share: a time-skipping server with the rollout search attribute,
 * the fleet, releases and runners the fake activities answer with, and runs of the check on a fresh worker. The
 * rollouts the check starts are the stand-ins of test/fixtures/workflows/runner-version-check.ts; the check reads
 * them with the real rollout-records code over the test's client.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Client, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { describeRollouts } from '../../activities/rollout-records.js';
import type { RolloutActivities, RunnerInfo, RunnerReleaseInfo } from '../../activities/contract.js';
import type { FleetDefinition } from '../../runner-config/types.js';
import { RolloutVersionSearchAttribute } from '../../workflows/rollout-contract.js';
import {
  RUNNER_VERSION_CHECK_WORKFLOW_TYPE,
  type RunnerVersionCheckInput,
  type RunnerVersionCheckResult,
} from '../../workflows/runner-version-check-contract.js';
import { stubRolloutStateQuery, type StubRolloutState } from '../fixtures/workflows/runner-version-check.js';
import { startTimeSkippingServer, uniqueNames } from './temporal.js';

const workflowsPath = fileURLToPath(new URL('../fixtures/workflows/runner-version-check.ts', import.meta.url));
const { temporal } = proto;
export const DAY_MS = 24 * 60 * 60 * 1000;
export const CURRENT = '2.328.0';
export const DIGEST_X64 = 'a'.repeat(64);
export const DIGEST_ARM64 = 'b'.repeat(64);

type CheckActivities = Pick<
  RolloutActivities,
  'loadFleet' | 'listRunners' | 'latestRunnerRelease' | 'verifyRunnerArchive' | 'createTemplates' | 'describeRollouts'
>;

export interface Calls {
  newerThan: (string | undefined)[];
  verified: { url: string; sha256: string }[];
  templates: Parameters<RolloutActivities['createTemplates']>[0][];
}

export function fleetDefinition(project: string): FleetDefinition {
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

export function release(
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

export function runner(id: number, runnerVersion: string | undefined): RunnerInfo {
  return {
    id,
    name: `gh-runner-presubmit-cpu-us-central1-${id}`,
    online: true,
    busy: false,
    labels: runnerVersion === undefined ? [] : [`runner-version=${runnerVersion}`],
    ...(runnerVersion === undefined ? {} : { runnerVersion }),
  };
}

export interface FakeOptions {
  readonly project: string;
  readonly release: RunnerReleaseInfo | null | (() => Promise<RunnerReleaseInfo | null>);
  readonly runners?: RunnerInfo[];
  readonly verify?: (input: { url: string; sha256: string }) => Promise<{ bytes: number }>;
}

export interface CheckServer {
  readonly env: TestWorkflowEnvironment;
  /**
   * A plain client never unlocks time skipping: the stub rollouts wait forever, and a skipping server would jump
   * straight to their execution timeout and time them out. Checks that wait for older rollouts wait in real
   * time, so their tests shorten `olderRolloutWait`.
   */
  readonly client: Client;
}

export async function startCheckServer(): Promise<CheckServer> {
  const env = await startTimeSkippingServer();
  // The check starts rollouts with their version search attribute, as `rollout start` does.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: {
      [RolloutVersionSearchAttribute.name]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    },
  });
  const client = new Client({
    connection: env.connection,
    ...(env.namespace === undefined ? {} : { namespace: env.namespace }),
  });
  return { env, client };
}

function fakeActivities(server: CheckServer, options: FakeOptions): { activities: CheckActivities; calls: Calls } {
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
    describeRollouts: async ({ workflowIds }) => describeRollouts(server.client.workflow, workflowIds),
  };
  return { activities, calls };
}

export interface CheckRun {
  readonly title: string;
  readonly fake: FakeOptions;
  readonly checks?: RunnerVersionCheckInput[];
  /** Runs after each check, while the worker still runs (queries and stand-ins need it). */
  readonly afterCheck?: (result: RunnerVersionCheckResult, index: number) => Promise<void>;
}

/**
 * Runs the checks one after another on a fresh worker, then reads the stub rollouts they started while the
 * worker still runs (queries need a worker to answer them).
 */
export async function runCheck(
  server: CheckServer,
  { title, fake, checks = [{}], afterCheck }: CheckRun,
): Promise<{
  results: RunnerVersionCheckResult[];
  calls: Calls;
  rollouts: Map<string, StubRolloutState>;
}> {
  const { taskQueue, workflowId } = uniqueNames(title);
  const { activities, calls } = fakeActivities(server, fake);
  const worker = await Worker.create({ connection: server.env.nativeConnection, taskQueue, workflowsPath, activities });
  return worker.runUntil(async () => {
    const results: RunnerVersionCheckResult[] = [];
    for (const [index, input] of checks.entries()) {
      const result = await server.client.workflow.execute<
        (input: RunnerVersionCheckInput) => Promise<RunnerVersionCheckResult>
      >(RUNNER_VERSION_CHECK_WORKFLOW_TYPE, { taskQueue, workflowId: workflowId(`check-${index}`), args: [input] });
      results.push(result);
      await afterCheck?.(result, index);
    }
    const rollouts = new Map<string, StubRolloutState>();
    for (const { action } of results) {
      if (!('rolloutId' in action) || rollouts.has(action.rolloutId)) continue;
      rollouts.set(
        action.rolloutId,
        await server.client.workflow.getHandle(action.rolloutId).query(stubRolloutStateQuery),
      );
    }
    return { results, calls, rollouts };
  });
}

export async function checkFailure(
  server: CheckServer,
  title: string,
  fake: FakeOptions,
  input: RunnerVersionCheckInput = {},
) {
  const { taskQueue, workflowId } = uniqueNames(title);
  const { activities, calls } = fakeActivities(server, fake);
  const worker = await Worker.create({ connection: server.env.nativeConnection, taskQueue, workflowsPath, activities });
  const error = await worker.runUntil(
    server.client.workflow
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

export async function assertNoRollout(server: CheckServer, rolloutId: string): Promise<void> {
  await assert.rejects(server.client.workflow.getHandle(rolloutId).describe(), WorkflowNotFoundError);
}

export function rolloutIdOf(result: RunnerVersionCheckResult): string {
  assert.ok('rolloutId' in result.action, `expected a rollout, got ${JSON.stringify(result.action)}`);
  return result.action.rolloutId;
}
