/**
 * The composition root: the one place that connects to Temporal, builds the GCP and GitHub clients from the
 * configuration, hands them to the activity factory and creates the Worker. `rollout worker`, `rollout dev` and
 * the local stack's worker processes all build their worker here; callers pass only what their setting differs
 * in (the fleet, timing, the activities' clock, a prebuilt workflow bundle).
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities, type ActivityTiming } from '../activities/index.js';
import type { FleetDefinition } from '../runner-config/types.js';
import { createComputeClients, createGitHubClient, type GitHubClientOptions } from './clients.js';
import type { WorkerConfig } from './config.js';
import { temporalConnectionOptions } from '../config/temporal-connection.js';

/**
 * Workflows are bundled from source at start-up. The bundle entry has this module's extension: `.ts` when run
 * through tsx from a clone, `.js` from a build.
 */
export const WORKFLOWS_PATH = fileURLToPath(new URL(`../workflows/index${extname(import.meta.url)}`, import.meta.url));

/**
 * How long in-flight activities get to finish after a shutdown request before they are cancelled. Every
 * activity is idempotent, so one cut short is simply retried by the next worker; 30 s lets the common short
 * API calls complete instead.
 */
const SHUTDOWN_GRACE_TIME = '30 seconds';

export interface WorkerComposition {
  /** The fleet definition; GCP_PROJECT and GITHUB_ORG in the configuration retarget it. */
  readonly fleet: FleetDefinition;
  /** Faster polling against the simulator. */
  readonly activityTiming?: Partial<ActivityTiming>;
  /** The activities' clock: a simulated world that runs faster than real time has a clock of its own. */
  readonly clock?: () => Date;
  /**
   * A bundle written by `bundleWorkflowCode`: a worker process that loads it polls in a couple of seconds
   * instead of bundling workflows/ again. Bundled from source when omitted.
   */
  readonly workflowBundlePath?: string;
  /** Reported to the server: pending activities name the worker that last ran them. */
  readonly identity?: string;
  /** A killed worker's sticky workflows move to another worker after this long (SDK default 10 s). */
  readonly stickyQueueTimeoutMs?: number;
  /** How long in-flight activities get after a shutdown request ({@link SHUTDOWN_GRACE_TIME} by default). */
  readonly shutdownGraceTimeMs?: number;
  /** In-process retries and rate-limit waits of the GitHub client. */
  readonly github?: Pick<GitHubClientOptions, 'retries' | 'throttle'>;
}

export interface ComposedWorker {
  readonly worker: Worker;
  /** Closes the Temporal connection once the worker has stopped. */
  readonly close: () => Promise<void>;
}

/** Builds the clients, the activities and the Worker; the caller runs it and closes the connection after. */
export async function composeWorker(config: WorkerConfig, composition: WorkerComposition): Promise<ComposedWorker> {
  const activities = createActivities({
    fleet: withOverrides(composition.fleet, config),
    activitySlots: config.slots.activities,
    compute: createComputeClients(config.gcp),
    github: createGitHubClient({
      ...config.github,
      ...composition.github,
      log: {
        warn: (message) => {
          Runtime.instance().logger.warn(message);
        },
      },
    }),
    ...(composition.activityTiming === undefined ? {} : { timing: composition.activityTiming }),
    ...(composition.clock === undefined ? {} : { clock: composition.clock }),
  });
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      ...(composition.workflowBundlePath === undefined
        ? { workflowsPath: WORKFLOWS_PATH }
        : { workflowBundle: { codePath: composition.workflowBundlePath } }),
      activities,
      maxConcurrentActivityTaskExecutions: config.slots.activities,
      maxConcurrentWorkflowTaskExecutions: config.slots.workflowTasks,
      ...(composition.identity === undefined ? {} : { identity: composition.identity }),
      ...(composition.stickyQueueTimeoutMs === undefined
        ? {}
        : { stickyQueueScheduleToStartTimeout: composition.stickyQueueTimeoutMs }),
      shutdownGraceTime: composition.shutdownGraceTimeMs ?? SHUTDOWN_GRACE_TIME,
    });
    return { worker, close: () => connection.close() };
  } catch (error) {
    await connection.close();
    throw error;
  }
}

/** GCP_PROJECT and GITHUB_ORG retarget a fleet definition without editing it (e.g. a staging project). */
function withOverrides(fleet: FleetDefinition, config: WorkerConfig): FleetDefinition {
  return {
    ...fleet,
    project: config.gcp.project ?? fleet.project,
    github: { ...fleet.github, org: config.github.org ?? fleet.github.org },
  };
}
