/** One simulator plus the activities wired to it through the production client constructors. */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { ApplicationFailure, type Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Info } from '@temporalio/activity';
import { createActivities } from '../../activities/index.js';
import type { ActivityDeps, ActivityTiming, ComputeClients, GitHubClient } from '../../activities/ports.js';
import type {
  CanaryHealth,
  CanaryObservations,
  EngineActivities,
  MigLocator,
  RolloutActivities,
} from '../../activities/contract.js';
import {
  DEFAULT_INITIAL_VERSION,
  ENGINE_DEFECT_WORKAROUNDS,
  startSimulator,
  type EndpointFault,
  type SimulatorHandle,
  type SimulatorOptions,
} from '../../simulator/index.js';
import { createComputeClients, createGitHubClient } from '../../worker/clients.js';

export interface ActivityFixture {
  readonly sim: SimulatorHandle;
  readonly compute: ComputeClients;
  readonly github: GitHubClient;
  readonly activities: EngineActivities;
  /** Activities over the same simulator with some deps replaced (e.g. a client that fails after its effect). */
  activitiesWith(overrides: Partial<ActivityDeps>): EngineActivities;
  /**
   * Runs one activity the way a worker would: in an activity context, attempt 1, with an activity id of its own
   * (each call is a separate activity of one workflow run, so GCP request ids never make two calls one).
   */
  run<K extends keyof EngineActivities>(
    name: K,
    ...args: Parameters<EngineActivities[K]>
  ): ReturnType<EngineActivities[K]>;
  close(): Promise<void>;
}

const noop = (): void => undefined;
export const silentLogger: Logger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };

/** A mock activity context whose logger stays silent (expected failures would otherwise print warnings). */
export function activityEnvironment(info: Partial<Info> = {}): MockActivityEnvironment {
  return new MockActivityEnvironment(info, { logger: silentLogger });
}

/** Runs `fn` inside the mock activity context `env`, keeping its result type. */
export function inActivity<T>(env: MockActivityEnvironment, fn: () => Promise<T>): Promise<T> {
  return env.run<[], T, () => Promise<T>>(fn);
}

/** Awaits `promise`, which must reject with an ApplicationFailure (what an activity throws), and returns it. */
export async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the activity to fail');
}

/** The activities' timing over a simulator whose clock stands still. */
export const FIXTURE_TIMING = {
  pollIntervalMs: 5,
  registrationGraceMs: 10 * 60_000,
  callRetryDelayMs: 5,
  // The clock stands still, so a snapshot would never age: every runner read lists again (conditionally).
  runnerSnapshotMaxAgeMs: 0,
  runnerListingsPerHour: Number.POSITIVE_INFINITY,
} satisfies Partial<ActivityTiming>;

/** The version the simulator seeds the fleet's templates with, and the one the tests roll out. */
export const OLD = DEFAULT_INITIAL_VERSION;
export const NEW = '1111111111-bbb';
export const presubmitTemplate = (type: string, version: string): string => `gh-runner-presubmit-${type}-${version}`;

/**
 * Before a file's tests, starts a fixture where jobs arrive only when a test submits them (no runner is busy unless
 * a test made it so), with presubmit templates of `version` for the types the tests canary, and hands it to `use`;
 * closes it after them.
 */
export function useQuietFixture(version: string, use: (fx: ActivityFixture) => void): void {
  let fx: ActivityFixture | undefined;
  before(async () => {
    fx = await startActivityFixture({ jobRates: [{ perHour: 0, meanDurationMinutes: 30 }] });
    for (const type of ['cpu', 'gpu', 'arm64']) fx.sim.control.createTemplate({ group: 'presubmit', type, version });
    use(fx);
  });
  after(async () => {
    await fx?.close();
  });
}

/** Time stands still (speed 0) unless a test advances it, so every observation is deterministic. */
export async function startActivityFixture(
  options: SimulatorOptions = {},
  timing: Partial<ActivityTiming> = {},
): Promise<ActivityFixture> {
  const sim = await startSimulator({
    speed: 0,
    // Frozen clock: an operation would stay RUNNING for ever and waitForOperation would poll it without end.
    behaviours: { ...ENGINE_DEFECT_WORKAROUNDS, operationDurations: false },
    ...options,
  });
  const compute = createComputeClients({ project: sim.fleet.project, apiEndpoint: sim.url });
  const github = createGitHubClient({
    baseUrl: sim.url,
    token: 'test-token',
    retries: 0,
    throttle: { enabled: false },
  });
  const activitiesWith = (overrides: Partial<ActivityDeps>): EngineActivities =>
    createActivities({
      compute,
      github,
      fleet: sim.fleet,
      clock: () => new Date(sim.control.clock().now),
      logger: silentLogger,
      timing: { ...FIXTURE_TIMING, ...timing },
      ...overrides,
    });
  const activities = activitiesWith({});
  let activitiesRun = 0;
  return {
    sim,
    compute,
    github,
    activities,
    activitiesWith,
    run: <K extends keyof EngineActivities>(name: K, ...args: Parameters<EngineActivities[K]>) => {
      const activity = activities[name] as (...a: Parameters<EngineActivities[K]>) => ReturnType<EngineActivities[K]>;
      activitiesRun += 1;
      return activityEnvironment({ activityId: `${name}-${activitiesRun}` }).run(activity, ...args) as ReturnType<
        EngineActivities[K]
      >;
    },
    close: () => sim.close(),
  };
}

/** Sets a MIG's autoscaling to exactly `size` VMs and lets simulated time pass until their runners registered. */
export async function grow(fx: ActivityFixture, mig: MigLocator, size: number): Promise<void> {
  await fx.run('setAutoscaling', { mig, bounds: { min: size, max: size } });
  fx.sim.control.advance(600);
}

/**
 * Gives one runner of a testing MIG a job of `durationMinutes` and returns its VM. A testing pool has a single MIG
 * per group and type, so the job surely lands on one of its runners.
 */
export function occupyOneRunner(
  fx: ActivityFixture,
  mig: MigLocator,
  pool: { readonly group: string; readonly type: string },
  durationMinutes: number,
): ReturnType<ActivityFixture['sim']['control']['mig']>['instances'][number] {
  fx.sim.control.submitJobs({ environment: 'testing', ...pool, count: 1, durationMinutes });
  const busy = fx.sim.control.mig(mig.name).instances.find((instance) => instance.runner?.busy === true);
  assert.ok(busy !== undefined, 'one runner of the MIG took the job');
  return busy;
}

/**
 * Grows a testing MIG to `size` VMs, then puts `canarySize` of them on `canaryTemplate` and lets their runners
 * register. Returns the canary's start (the `since` of its health checks).
 */
export async function startCanary(
  fx: ActivityFixture,
  mig: MigLocator,
  canaryTemplate: string,
  size: number,
  canarySize: number,
): Promise<string> {
  await grow(fx, mig, size);
  const since = fx.sim.control.clock().now;
  await fx.run('canaryMig', { mig, template: canaryTemplate, canarySize });
  // Opportunistic update: canary VMs appear as the MIG replaces VMs, here the drained idle ones.
  await fx.run('drainIdleRunners', { mig, keepTemplate: canaryTemplate });
  fx.sim.control.advance(600);
  return since;
}

/**
 * Successive health checks of one canary, each passing the last result's observations back, as the rollout does.
 * A check that fails leaves the observations as they were.
 */
export function canaryChecks(
  fx: ActivityFixture,
  canary: { mig: MigLocator; canaryTemplate: string; since: string },
): () => Promise<CanaryHealth> {
  let previous: CanaryObservations | undefined;
  return async () => {
    const health = await fx.run('canaryHealth', { ...canary, ...(previous === undefined ? {} : { previous }) });
    previous = health.observations;
    return health;
  };
}

/** Every API fails 10% of calls: a third each 5xx, 403 rate limit and 429 (with Retry-After). */
export function tenPercentFailing(): EndpointFault[] {
  const each = 1 - Math.cbrt(1 - 0.1);
  return ['compute.*', 'github.*'].flatMap((endpoint) =>
    [endpoint.startsWith('compute.') ? 503 : 502, 403, 429].map((status) => ({ endpoint, errorRate: each, status })),
  );
}

/** Total faults the simulator injected since its counters were last reset. */
export function injectedFaults(fx: ActivityFixture): number {
  return Object.values(fx.sim.control.counters()).reduce((sum, counter) => sum + counter.injectedFaults, 0);
}

/**
 * Activities whose runner listings report every runner idle, as GitHub's list can for a runner that started a job
 * (actions/runner#4422): only the delete's 422 tells.
 */
export function activitiesListingEveryRunnerIdle(fx: ActivityFixture): RolloutActivities {
  const github = fx.github;
  return fx.activitiesWith({
    github: {
      ...github,
      rest: github.rest,
      request: github.request,
      paginate: (async (...args: Parameters<typeof github.paginate>) => {
        const runners = (await github.paginate(...args)) as Array<{ busy: boolean }>;
        return runners.map((runner) => ({ ...runner, busy: false }));
      }) as typeof github.paginate,
    },
  });
}
