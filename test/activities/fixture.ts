/** One simulator plus the activities wired to it through the production client constructors. */
import type { Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Info } from '@temporalio/activity';
import { createActivities } from '../../activities/index.js';
import type { ActivityDeps, ActivityTiming, ComputeClients, GitHubClient } from '../../activities/ports.js';
import type { RolloutActivities } from '../../activities/types.js';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../simulator/index.js';
import { createComputeClients, createGitHubClient } from '../../worker/clients.js';

export interface ActivityFixture {
  readonly sim: SimulatorHandle;
  readonly compute: ComputeClients;
  readonly github: GitHubClient;
  readonly activities: RolloutActivities;
  /** Activities over the same simulator with some deps replaced (e.g. a client that fails after its effect). */
  activitiesWith(overrides: Partial<ActivityDeps>): RolloutActivities;
  /** Runs one activity the way a worker would: in an activity context (attempt 1 unless `info` says otherwise). */
  run<K extends keyof RolloutActivities>(
    name: K,
    ...args: Parameters<RolloutActivities[K]>
  ): ReturnType<RolloutActivities[K]>;
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

/** Time stands still (speed 0) unless a test advances it, so every observation is deterministic. */
export async function startActivityFixture(
  options: SimulatorOptions = {},
  timing: Partial<ActivityTiming> = {},
): Promise<ActivityFixture> {
  const sim = await startSimulator({ speed: 0, ...options });
  const compute = createComputeClients({ project: sim.fleet.project, apiEndpoint: sim.url });
  const github = createGitHubClient({
    baseUrl: sim.url,
    token: 'test-token',
    retries: 0,
    throttle: { enabled: false },
  });
  const activitiesWith = (overrides: Partial<ActivityDeps>): RolloutActivities =>
    createActivities({
      compute,
      github,
      fleet: sim.fleet,
      clock: () => new Date(sim.control.clock().now),
      logger: silentLogger,
      timing: { pollIntervalMs: 5, registrationGraceMs: 10 * 60_000, ...timing },
      ...overrides,
    });
  const activities = activitiesWith({});
  return {
    sim,
    compute,
    github,
    activities,
    activitiesWith,
    run: <K extends keyof RolloutActivities>(name: K, ...args: Parameters<RolloutActivities[K]>) => {
      const activity = activities[name] as (...a: Parameters<RolloutActivities[K]>) => ReturnType<RolloutActivities[K]>;
      return activityEnvironment({ activityId: `${name}-1` }).run(activity, ...args) as ReturnType<
        RolloutActivities[K]
      >;
    },
    close: () => sim.close(),
  };
}
