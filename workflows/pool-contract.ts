/**
 * Contract of the `poolController` workflow: one per pool (runner-config/pools.ts), the only writer of its
 * pool's size while the pool's mode is `queue`. Imported by workflows/, the webhook receiver (webhooks/) and cli/.
 *
 * The receiver turns each `workflow_job` delivery into a signal-with-start of {@link poolJobSignal} to the
 * controller of the job's pool, so the first job of a pool starts its controller and later ones reach the
 * running one (also after it continued as new: a signal goes to the id's current run). The query
 * {@link poolStateQuery} returns {@link PoolControllerState}. The update {@link poolSettingsUpdate} changes the
 * pool's mode and bounds at run time (`rollout pools set`), over the fleet file's, until the controller ends.
 *
 * No search attributes: the pool is in the workflow id, and a list filter on the id prefix
 * `pool-<project>-` finds every controller of a project.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { PoolMode } from '../runner-config/types.js';
import type { PoolJobCounts, PoolJobsSnapshot } from './pool-jobs.js';

/** Workflow type name the worker registers and the receiver starts. */
export const POOL_CONTROLLER_WORKFLOW_TYPE = 'poolController';

/**
 * `pool-<project>-<environment>-<group>-<type>`: one controller per pool and project. Group and type names have
 * no `-` (runner-config/schema.ts), so the id names one pool.
 */
export function poolWorkflowId(project: string, poolId: string): string {
  return `pool-${project}-${poolId.replaceAll('/', '-')}`;
}

/**
 * The `workflow_job` actions that change what a pool needs: a job waits for a runner, runs on one, or is done
 * (https://docs.github.com/en/webhooks/webhook-events-and-payloads#workflow_job). `waiting` (for an environment's
 * protection rules) asks for no runner yet and is not forwarded.
 */
export const POOL_JOB_ACTIONS = ['queued', 'in_progress', 'completed'] as const;
export type PoolJobAction = (typeof POOL_JOB_ACTIONS)[number];

/** One `workflow_job` delivery, as the pool controller receives it. */
export interface PoolJobEvent {
  readonly action: PoolJobAction;
  readonly jobId: number;
  readonly runId: number;
  /** The job's `runs-on` labels, as the payload lists them. */
  readonly labels: readonly string[];
  /** The runner that took the job; null while it is queued (and for a job cancelled before it ran). */
  readonly runnerName: string | null;
  /** `X-GitHub-Delivery` of the delivery, to trace a signal back to GitHub's delivery log. */
  readonly deliveryId: string;
}

export const poolJobSignal = defineSignal<[PoolJobEvent]>('workflow-job');

/** Cool-downs of the controller's decisions (durations with a unit). */
export interface PoolTiming {
  /** After raising a MIG's target size, the next raise waits this long: the new VMs need to boot and register. */
  readonly scaleOutCooldown: string;
  /** After any change, removing idle runners waits this long: a burst often comes back. */
  readonly scaleInCooldown: string;
  /**
   * How often the controller reads GitHub's queued jobs and the pool's runners whatever the webhooks said: GitHub
   * does not promise delivery. Each reading costs one listing of queued runs plus one per queued run.
   */
  readonly reconcileInterval: string;
  /** Past this many history events the controller continues as new, carrying its state. */
  readonly maxHistoryEvents: number;
}

export const DEFAULT_POOL_TIMING: PoolTiming = {
  // The fleet's MIG autoscalers wait 60 s after a scale-out (their cool-down period).
  scaleOutCooldown: '1 minute',
  scaleInCooldown: '10 minutes',
  reconcileInterval: '5 minutes',
  maxHistoryEvents: 2000,
};

/** The workflow's signature, for typed starts by type name. */
export type PoolControllerWorkflow = (input: PoolControllerInput) => Promise<void>;

export interface PoolControllerInput {
  readonly project: string;
  /** `<environment>/<group>/<type>`. */
  readonly pool: string;
  readonly timing?: Partial<PoolTiming>;
  /** Set by the workflow itself when it continues as new; never by callers. */
  readonly continued?: PoolControllerCarry;
}

/** What a controller carries into its next run: bounded (see pool-jobs.ts), whatever the number of events. */
export interface PoolControllerCarry {
  readonly jobs: PoolJobsSnapshot;
  readonly eventsApplied: number;
  /** Epoch milliseconds of the last target-size raise and the last idle-runner removal. */
  readonly lastScaleOutAt?: number;
  readonly lastScaleInAt?: number;
  /** When the controller first saw each idle runner idle (epoch ms): removal takes the longest idle first. */
  readonly idleSince?: Readonly<Record<string, number>>;
  /** Optional: carries from runs that predate them read as zero. */
  readonly missedJobs?: number;
  readonly continuedAsNew?: number;
  /** What `rollout pools set` changed; absent when nothing was. */
  readonly settings?: PoolSettings;
  /** The MIGs whose autoscaler the controller turned off, each with the mode to hand it back with. */
  readonly autoscalerModes?: Readonly<Record<string, string>>;
}

/**
 * A pool's mode and bounds as set at run time, each over the fleet file's: a field left out keeps the fleet
 * file's value. The fleet file's `max` (of a `queue` pool) stays the ceiling: the operator cannot raise the pool's
 * size past what the fleet was planned for.
 */
export interface PoolSettings {
  readonly mode?: PoolMode;
  readonly min?: number;
  readonly max?: number;
}

/** A change of the settings: `reset` first clears every field set before, so the fleet file's apply again. */
export interface PoolSettingsChange extends PoolSettings {
  readonly reset?: boolean;
}

/** What an accepted {@link poolSettingsUpdate} answers. */
export interface PoolSettingsAck {
  readonly pool: string;
  /**
   * The mode and bounds now in force, once the controller has read the fleet file's policy (a controller the
   * update started answers before its first observation, without them).
   */
  readonly mode?: PoolMode;
  /** The bounds the controller sizes within in mode `queue`; absent while neither fleet file nor setting has them. */
  readonly min?: number;
  readonly max?: number;
  /** Everything set at run time so far, this change included. */
  readonly settings: PoolSettings;
}

/**
 * Changes the pool's settings (pool-settings.ts): the validator refuses an unknown mode, a negative or fractional
 * bound, a min above the max, and a bound beyond the fleet file's max.
 */
export const poolSettingsUpdate = defineUpdate<PoolSettingsAck, [PoolSettingsChange]>('set-settings');

export interface PoolControllerState {
  readonly pool: string;
  /** The mode in force: the fleet file's, or the one set at run time. */
  readonly mode: PoolMode;
  /** The bounds in force in mode `queue` (set at run time over the fleet file's); absent while unknown. */
  readonly min?: number;
  readonly max?: number;
  /** What `rollout pools set` changed. */
  readonly settings: PoolSettings;
  readonly jobs: PoolJobCounts;
  /** Job events applied since the controller started, over all its runs. */
  readonly eventsApplied: number;
  /** Of the last decision (also in mode `off`, where nothing acts on it); absent before the first observation. */
  readonly desired?: number;
  readonly current?: number;
  readonly busy?: number;
  readonly idle?: number;
  /** What the controller last did or why it held, e.g. `hold: scale-in cool-down: 540 s left`. */
  readonly lastAction?: string;
  /** MIGs a rollout held at the last observation: counted, never written. */
  readonly heldMigs: readonly string[];
  /**
   * MIGs whose autoscaler the controller turned off to size them itself (GCP resizes an autoscaled MIG only in
   * mode OFF), with the mode each gets back when the pool returns to `off`.
   */
  readonly autoscalerModes: Readonly<Record<string, string>>;
  /** Queued jobs the last reconciliation found that no webhook had announced. */
  readonly missedJobs: number;
  /** ISO time of the last reconciliation against GitHub. */
  readonly reconciledAt?: string;
  /** The last failed effect or read, until one succeeds. */
  readonly problem?: string;
  readonly continuedAsNew: number;
}

export const poolStateQuery = defineQuery<PoolControllerState>('state');
