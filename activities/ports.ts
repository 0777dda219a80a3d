/**
 * The ports activities run on: narrow views of the real @google-cloud/compute and @octokit/rest clients, so a
 * test can inject the real clients pointed at the simulator, or anything with the same methods.
 */
import type {
  GlobalOperationsClient,
  InstanceTemplatesClient,
  InstancesClient,
  RegionAutoscalersClient,
  RegionInstanceGroupManagersClient,
  RegionOperationsClient,
  RegionsClient,
} from '@google-cloud/compute';
import type { Octokit } from '@octokit/rest';
import type { Client } from '@temporalio/client';
import type { FleetDefinition } from '../runner-config/types.js';

export interface ComputeClients {
  readonly migs: Pick<
    RegionInstanceGroupManagersClient,
    'list' | 'get' | 'patch' | 'resize' | 'listManagedInstances' | 'deleteInstances' | 'applyUpdatesToInstances'
  >;
  readonly regionOperations: Pick<RegionOperationsClient, 'wait'>;
  readonly globalOperations: Pick<GlobalOperationsClient, 'wait'>;
  readonly autoscalers: Pick<RegionAutoscalersClient, 'get' | 'patch'>;
  readonly templates: Pick<InstanceTemplatesClient, 'get' | 'list' | 'insert'>;
  readonly regions: Pick<RegionsClient, 'list'>;
  readonly instances: Pick<InstancesClient, 'list'>;
}

export type GitHubClient = Pick<Octokit, 'paginate' | 'rest' | 'request'>;

export interface ActivityLogger {
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
}

/** How long-running activities pace themselves. Production uses the defaults; tests shrink them. */
export interface ActivityTiming {
  /** Between polls of waitForRunners / waitForMigStable / operation waits that returned before DONE. */
  readonly pollIntervalMs: number;
  /** Concurrent API calls when an activity fans out over regions or MIGs. */
  readonly concurrency: number;
  /** A canary VM without an online runner after this long counts as a problem. */
  readonly registrationGraceMs: number;
  /**
   * First pause before retrying a transient read within an attempt (doubling per retry). A second lets a GCP rate
   * quota refill a little and rides out a brief backend hiccup, yet keeps a check well within its timeout.
   */
  readonly callRetryDelayMs: number;
  /**
   * How often a call that blocks (an operation `wait`, up to 2 minutes) heartbeats meanwhile: well inside the
   * one-minute heartbeat timeout of mutations and drains, so a slow GCP operation is never taken for a lost worker.
   */
  readonly heartbeatEveryMs: number;
  /** The oldest runner snapshot a read accepts; runner waits poll every 30 s, so one listing serves each poll. */
  readonly runnerSnapshotMaxAgeMs: number;
  /**
   * Requests an hour the runner listing may spend, whatever the fleet's size: a large organisation's listing is
   * refreshed less often. Well inside a GitHub App installation's 5,000, leaving room for job reads and removals.
   */
  readonly runnerListingsPerHour: number;
}

export const DEFAULT_TIMING: ActivityTiming = {
  pollIntervalMs: 30_000,
  concurrency: 8,
  registrationGraceMs: 10 * 60_000,
  callRetryDelayMs: 1_000,
  heartbeatEveryMs: 10_000,
  runnerSnapshotMaxAgeMs: 30_000,
  runnerListingsPerHour: 1_500,
};

export interface ActivityDeps {
  readonly compute: ComputeClients;
  readonly github: GitHubClient;
  readonly fleet: FleetDefinition;
  /** The worker's activity slots, which the plan weighs the rollout's lanes against. */
  readonly activitySlots?: number;
  /** Wall clock for timestamps and ages (the simulator's clock in tests). */
  readonly clock?: () => Date;
  /** Defaults to the activity context's logger, which tags workflow and activity ids. */
  readonly logger?: ActivityLogger;
  readonly timing?: Partial<ActivityTiming>;
  /** Downloads runner archives; global fetch by default. */
  readonly fetch?: typeof fetch;
  /** Reads rollout workflows; by default the client the worker hands its activities (the activity context's). */
  readonly temporal?: Pick<Client, 'workflow'>;
}
