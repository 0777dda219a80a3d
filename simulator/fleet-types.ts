/**
 * The entities of the simulated fleet: templates, MIGs with their autoscalers, instances, GitHub runners, job
 * pools, jobs and operations. Plain data; the store holds them and the model's parts change them.
 */
import type { Environment, MigRef } from '../runner-config/types.js';
import type { VersionSpec } from './versions.js';

export interface SimTemplate {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
  readonly description: string;
  /** The `properties` object as inserted (machineType, disks, metadata, …). */
  readonly properties: Readonly<Record<string, unknown>>;
  readonly metadata: ReadonlyMap<string, string>;
}

export type InstanceStatus = 'PROVISIONING' | 'STAGING' | 'RUNNING' | 'STOPPING';
export type InstanceAction = 'CREATING' | 'VERIFYING' | 'NONE' | 'DELETING' | 'RECREATING';

export interface SimInstance {
  readonly name: string;
  readonly mig: SimMig;
  zone: string;
  id: string;
  /** Template name. */
  template: string;
  versionName: string;
  /** Undefined while the VM does not exist yet (e.g. no capacity in the zone). */
  status: InstanceStatus | undefined;
  currentAction: InstanceAction;
  createdAt: number;
  /** Bumped whenever the VM is recreated or deleted, so events scheduled for an earlier life are ignored. */
  incarnation: number;
  runner: SimRunner | undefined;
  lastAttemptErrors: Array<{ code: string; message: string }>;
  recreations: number;
}

export interface SimRunner {
  readonly id: number;
  readonly name: string;
  readonly instance: SimInstance;
  readonly labels: readonly string[];
  readonly version: string;
  readonly template: string;
  readonly registeredAt: number;
  busy: boolean;
  job: SimJob | undefined;
  /** Set when the VM died without deregistering: GitHub lists the runner offline until it expires it. */
  offlineSince: number | undefined;
}

export type JobConclusion = 'success' | 'failure' | 'cancelled';
/** The `action` of a `workflow_job` webhook delivery. */
export type JobAction = 'queued' | 'in_progress' | 'completed';

export interface SimJob {
  readonly id: number;
  /** The workflow run: the first attempt's job id; a re-run is a new job of the same run. */
  readonly runId: number;
  readonly attempt: number;
  readonly pool: string;
  readonly queuedAt: number;
  readonly meanDurationMs: number;
  startedAt?: number;
  completedAt?: number;
  runnerId?: number;
  runnerName?: string;
  template?: string;
  mig?: string;
  conclusion?: JobConclusion;
  /** Why a running job was killed (proactive replacement, instance deletion, scale-in). */
  killedBy?: string;
}

export interface UpdatePolicy {
  type: string;
  minimalAction: string;
  mostDisruptiveAllowedAction: string;
  maxSurge: { fixed?: number; percent?: number };
  maxUnavailable: { fixed?: number; percent?: number };
  replacementMethod: string;
  instanceRedistributionType: string;
}

export interface SimAutoscaler {
  readonly name: string;
  readonly id: string;
  readonly createdAt: number;
  min: number;
  max: number;
  mode: string;
  coolDownPeriodSec: number;
  cpuUtilizationTarget: number;
  recommendedSize: number;
}

export interface SimMig {
  readonly name: string;
  readonly region: string;
  readonly ref: MigRef;
  readonly id: string;
  readonly createdAt: number;
  readonly zones: readonly string[];
  readonly shape: 'EVEN' | 'BALANCED';
  readonly pool: JobPool;
  readonly autoscaler: SimAutoscaler;
  readonly instances: Map<string, SimInstance>;
  targetSize: number;
  versions: VersionSpec[];
  updatePolicy: UpdatePolicy;
  fingerprint: string;
  generation: number;
  /** Instances recreated by repairs (bootloops) over the MIG's life. */
  recreations: number;
  reconcilePending: boolean;
  autoscalePending: boolean;
}

export interface JobPool {
  readonly key: string;
  readonly environment: Environment;
  readonly group: string;
  readonly type: string;
  readonly migs: SimMig[];
  readonly queue: SimJob[];
  readonly idle: Set<SimRunner>;
  perHour: number;
  meanDurationMs: number;
  /** Multipliers of `perHour` by hour of the simulated day (UTC); undefined for a flat rate. */
  hourly: readonly number[] | undefined;
  jobsPerArrival: number;
  /** Bumped when the rate changes, so the previous arrival chain stops. */
  arrivalChain: number;
}

export interface SimOperation {
  readonly name: string;
  readonly id: string;
  readonly operationType: string;
  readonly targetLink: string;
  readonly targetId: string;
  /** Region name, or undefined for global operations. */
  readonly region: string | undefined;
  readonly insertTime: number;
  /** Simulated epoch ms at which it leaves PENDING (operations.ts derives the status from these times). */
  readonly startTime: number;
  /** Simulated epoch ms at which it is DONE. */
  readonly endTime: number;
  readonly error?: { readonly code: string; readonly message: string };
  readonly httpErrorStatusCode?: number;
}

export interface JobCounts {
  succeeded: number;
  failed: number;
  cancelled: number;
}

export interface MigPatch {
  readonly fingerprint?: string;
  readonly versions?: readonly VersionSpec[];
  readonly updatePolicy?: Partial<UpdatePolicy>;
  readonly targetSize?: number;
}

export interface AutoscalerPatch {
  readonly min?: number;
  readonly max?: number;
  readonly mode?: string;
  readonly coolDownPeriodSec?: number;
  readonly cpuUtilizationTarget?: number;
}
