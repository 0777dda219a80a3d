/**
 * Contract of the `rollout` workflow (and of `planRollout`, which shares its input and plan): input, state and
 * result types, the status query, ids and search attribute keys. Imported by workflows/ and cli/. The operator
 * controls (updates and signals) have their contract in rollout-controls-contract.ts.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery } from '@temporalio/workflow';
import type { AutoscalingBounds, Environment, MigRef, RolloutPolicy } from '../runner-config/types.js';
import type { CanaryObservations, PreflightProblem } from '../activities/contract.js';

export type { PreflightProblem } from '../activities/contract.js';

/** Workflow type names, as registered by the worker. */
export const ROLLOUT_WORKFLOW_TYPE = 'rollout';
export const PLAN_ROLLOUT_WORKFLOW_TYPE = 'planRollout';

/** `rollout-<project>-<version>`: one rollout per version and project; starting it twice attaches to the first. */
export function rolloutWorkflowId(project: string, version: string): string {
  return `rollout-${project}-${version}`;
}

/** `mig-<project>-<migName>`: the per-MIG worker child; its id is the lock that keeps two rollouts off one MIG. */
export function migWorkflowId(project: string, migName: string): string {
  return `mig-${project}-${migName}`;
}

/** Search attributes the rollout keeps current. Register them on the server before starting with them. */
export const RolloutVersionSearchAttribute = defineSearchAttributeKey('RolloutVersion', SearchAttributeType.KEYWORD);
export const RolloutStageSearchAttribute = defineSearchAttributeKey('RolloutStage', SearchAttributeType.KEYWORD);
export const RolloutEnvironmentSearchAttribute = defineSearchAttributeKey(
  'RolloutEnvironment',
  SearchAttributeType.KEYWORD_LIST,
);
/** `temporal server start-dev` flags that register {@link ROLLOUT_SEARCH_ATTRIBUTES}. */
export const ROLLOUT_SEARCH_ATTRIBUTE_FLAGS = [
  '--search-attribute',
  'RolloutVersion=Keyword',
  '--search-attribute',
  'RolloutStage=Keyword',
  '--search-attribute',
  'RolloutEnvironment=KeywordList',
] as const;
export const ROLLOUT_SEARCH_ATTRIBUTES = [
  RolloutVersionSearchAttribute,
  RolloutStageSearchAttribute,
  RolloutEnvironmentSearchAttribute,
] as const;

/** Failure types a rollout workflow fails with (non-retryable application failures). */
export const ROLLOUT_FAILURE_TYPES = {
  /** Preflight found problems; details[0] is the `PreflightProblem[]`. Nothing was mutated. */
  preflightFailed: 'RolloutPreflightFailed',
} as const;

/**
 * Ephemeral VMs delete themselves after every job, so a busy MIG is often caught mid-churn by one read. When that
 * is all that stands in the way, the rollout waits this long for each such MIG to settle before giving up on it.
 */
export const MIG_SETTLE_WAIT = '15 minutes';

/**
 * The preflight problems a rollout waits out rather than stops for: MIGs caught mid-change, when they are the only
 * problems. With any other problem the rollout cannot start anyway, so it reports every problem at once (none
 * are waited out). The CLI applies the same rule to decide whether to start.
 */
export function problemsToWaitOut(problems: readonly PreflightProblem[]): PreflightProblem[] {
  return problems.every((problem) => problem.code === 'mig-not-stable') ? [...problems] : [];
}

/** Timing knobs; defaults in {@link DEFAULT_ROLLOUT_TIMING}. Durations are Temporal duration strings (`30 minutes`). */
export interface RolloutTiming {
  /** How often canary health is evaluated during the soak. */
  readonly healthCheckInterval: string;
  /** Consecutive failed health checks of one MIG that roll the canaries back (1 = first failure). */
  readonly unhealthyChecksToRollBack: number;
  /** How long new runners get to register after an update before the update counts as failed. */
  readonly runnersReadyTimeout: string;
  /** Cadence of convergence checks and idle-runner drains after promotion. */
  readonly convergeInterval: string;
  /** A pending approval records a reminder this often; approvals never expire. */
  readonly approvalReminderInterval: string;
  /** How often idle per-MIG workers check that their rollout still exists. */
  readonly migWorkerLivenessInterval: string;
  /** Continue as new above this many history events (or when the server suggests it). */
  readonly maxHistoryEvents: number;
  /** Per-MIG operations running at once. */
  readonly maxConcurrency: number;
}

export const DEFAULT_ROLLOUT_TIMING: RolloutTiming = {
  healthCheckInterval: '30 minutes',
  unhealthyChecksToRollBack: 2,
  runnersReadyTimeout: '1 hour',
  convergeInterval: '10 minutes',
  approvalReminderInterval: '12 hours',
  migWorkerLivenessInterval: '6 hours',
  maxHistoryEvents: 2000,
  maxConcurrency: 4,
};

export interface RolloutInput {
  /** Template version, e.g. `56e40f6505-9lp` (templates must already exist). */
  readonly version: string;
  /** Stages to run: `testing` (test group) and/or `prod` (canary, soak, promote). Default both. */
  readonly environments?: readonly Environment[];
  /** Selectors: a regex matched against the whole name, or `all` (the default). */
  readonly regions?: string;
  readonly groups?: string;
  readonly types?: string;
  /** Soak duration (default: the fleet's `rollout.defaultSoak`). */
  readonly soak?: string;
  /** Why the soak differs from the default (recorded in the plan and timeline). */
  readonly plannedSoakReason?: string;
  /** Approve every gate automatically (recorded as approvals by `auto-approve`). */
  readonly autoApprove?: boolean;
  /** Approve only the promote gate automatically. */
  readonly autoPromote?: boolean;
  /** Permit a `-testing` version in prod. */
  readonly allowTestingVersion?: boolean;
  /** Who started the rollout (recorded). */
  readonly requestedBy: string;
  readonly timing?: Partial<RolloutTiming>;
  /** Set by the workflow itself when it continues as new; never by callers. */
  readonly continued?: RolloutCarry;
}

export const ROLLOUT_STAGES = [
  'preflight',
  'test',
  'canary',
  'soak',
  'promote',
  'converge',
  'done',
  'rolled-back',
  'aborted',
  'failed-preflight',
] as const;
export type RolloutStage = (typeof ROLLOUT_STAGES)[number];
export const TERMINAL_STAGES: readonly RolloutStage[] = ['done', 'rolled-back', 'aborted', 'failed-preflight'];

/**
 * What a MIG does in this rollout: `testing` (direct update in the testing environment), `canary` (two-version
 * canary, then promote), `direct-first` (direct update in the first region during canary), `direct-rest`
 * (direct update of the other regions at promote).
 */
export type MigRole = 'testing' | 'canary' | 'direct-first' | 'direct-rest';

/**
 * `planned` (untouched), `current` (already on the target template), `updated` (new template applied, direct),
 * `canary` (canary version added), `promoted`, `restored` (testing MIG back to its normal autoscaling and
 * drained), `converged` (every instance and runner on the new template), `rolled-back`.
 */
export type MigPhase =
  'planned' | 'current' | 'updated' | 'canary' | 'promoted' | 'restored' | 'converged' | 'rolled-back';

export interface PlannedMig {
  readonly name: string;
  readonly region: string;
  readonly ref: MigRef;
  readonly role: MigRole;
  readonly policy: RolloutPolicy;
  readonly fromTemplate: string;
  readonly toTemplate: string;
  /** The exact change, readable: `versions [base=a] -> [base=a, canary=b fixed 1]`. */
  readonly patch: string;
  readonly targetSize: number;
  readonly instancesByTemplate: Readonly<Record<string, number>>;
}

export interface RolloutPlan {
  readonly project: string;
  readonly version: string;
  readonly environments: readonly Environment[];
  readonly selection: { readonly regions: string; readonly groups: string; readonly types: string };
  readonly soak: string;
  readonly plannedSoakReason?: string;
  readonly canarySize: number;
  /** The intervals the rollout keeps (see resolveTiming); absent in the plans of rollouts started before it was. */
  readonly timing?: RolloutTiming;
  /** The testing MIGs' bounds while the rollout tests the version on them (the fleet file's testAutoscaling). */
  readonly autoscalingWhileTesting: AutoscalingBounds;
  /** The testing environment's normal bounds: restored after the test when the earlier bounds are unknown. */
  readonly testingAutoscalingAtRest: AutoscalingBounds;
  /** Stages that will run, in order. */
  readonly stages: readonly RolloutStage[];
  /** Every targeted MIG in execution order. */
  readonly migs: readonly PlannedMig[];
  /** Every preflight problem found (empty = the rollout may proceed). */
  readonly problems: readonly PreflightProblem[];
  /** Non-blocking remarks (e.g. a direct type whose first region is not selected). */
  readonly notes: readonly string[];
  /** Activities the worker that planned runs at once; absent when it did not say, as before workers did. */
  readonly workerActivitySlots?: number;
}

export interface MigProgress extends PlannedMig {
  phase: MigPhase;
  /** Instances and runners on the old and new template, from the latest observation. */
  instancesOld: number;
  instancesNew: number;
  runnersOld?: number;
  runnersNew?: number;
  /** Latest health evaluation while this MIG carries a canary. */
  health?: { healthy: boolean; problems: string[]; checkedAt: string; consecutiveFailures: number };
  /** When the new template went onto this MIG (health evidence counts from then). */
  updatedAt?: string;
  /** When runners on the new template were seen online after the update. */
  verifiedAt?: string;
  previousAutoscaling?: AutoscalingBounds;
  drainedRunners: number;
  /** The latest failed operation on this MIG, cleared when one succeeds. */
  problem?: string | undefined;
}

export type ApprovalStage = 'test' | 'promote';

export interface Approval {
  readonly stage: ApprovalStage;
  readonly identity: string;
  readonly reason: string;
  readonly at: string;
  /** Update id (absent for signals and automatic approvals); an update id is recorded once. */
  readonly updateId?: string;
}

export interface PendingGate {
  readonly kind: 'test-approval' | 'promote-approval';
  readonly since: string;
  /** What the gate waits for, in words. */
  readonly waitsFor: string;
}

export interface TimelineEvent {
  readonly at: string;
  readonly kind: string;
  readonly message: string;
  readonly mig?: string;
  readonly identity?: string;
}

export type EscalationSeverity = 'info' | 'warning' | 'critical';

export interface EscalationRequest {
  /** Who raises it, e.g. `runner-version-check`. */
  readonly source: string;
  readonly severity: EscalationSeverity;
  readonly message: string;
  readonly details?: Readonly<Record<string, string>>;
}

export interface Escalation extends EscalationRequest {
  readonly at: string;
}

export interface PauseInfo {
  readonly identity: string;
  readonly reason: string;
  readonly at: string;
}

export interface StopRequest {
  readonly kind: 'abort' | 'rollback' | 'health-gate';
  readonly identity: string;
  readonly reason: string;
  readonly at: string;
}

export interface StageTiming {
  readonly stage: RolloutStage;
  readonly startedAt: string;
  finishedAt?: string;
}

export interface RolloutState {
  readonly workflowId: string;
  readonly version: string;
  readonly requestedBy: string;
  readonly startedAt: string;
  stage: RolloutStage;
  plan?: RolloutPlan;
  migs: MigProgress[];
  /** Totals over {@link migs}. */
  counts: { instancesOld: number; instancesNew: number; runnersOld: number; runnersNew: number };
  gate?: PendingGate | undefined;
  pause?: PauseInfo | undefined;
  stop?: StopRequest | undefined;
  approvals: Approval[];
  soak?: {
    startedAt: string;
    endsAt: string;
    duration: string;
    reason?: string;
    /** When the latest round of health checks started: the next one is due a health-check interval later. */
    lastCheckAt?: string;
  };
  /** Latest events, oldest first (bounded; `timelineDropped` counts the ones that scrolled out). */
  timeline: TimelineEvent[];
  timelineDropped: number;
  problems: PreflightProblem[];
  escalations: Escalation[];
  /** Why the rollout rolled back or stopped (health evidence, operator reason). */
  evidence: string[];
  stageTimings: StageTiming[];
  /** Runs of this rollout so far minus one. */
  continuedAsNew: number;
}

export type RolloutOutcome = 'completed' | 'rolled-back' | 'aborted';

export interface RolloutResult {
  readonly workflowId: string;
  readonly version: string;
  readonly outcome: RolloutOutcome;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly stageTimings: readonly StageTiming[];
  readonly migs: readonly MigProgress[];
  readonly approvals: readonly Approval[];
  readonly counts: {
    readonly migs: number;
    readonly canaried: number;
    readonly promoted: number;
    readonly directUpdated: number;
    readonly rolledBack: number;
    readonly converged: number;
    readonly runnersDrained: number;
    readonly instancesNew: number;
    readonly instancesOld: number;
  };
  readonly evidence: readonly string[];
  readonly escalations: readonly Escalation[];
  /** What stopped a rollout that rolled back or was aborted (absent in results recorded before it was kept). */
  readonly stop?: StopRequest;
}

/**
 * Canary VMs the rollout remembers per MIG between health checks (the newest). They travel in every health-check
 * input and across continue-as-new, so they are bounded: at roughly 150 bytes a VM, 15 kB per canaried MIG.
 */
export const MAX_OBSERVED_CANARY_VMS = 100;

/** State carried across continue-as-new. */
export interface RolloutCarry {
  readonly state: RolloutState;
  readonly processedUpdateIds: readonly string[];
  readonly claimedMigWorkers: readonly string[];
  /** Per MIG name: what health checks saw of its canary VMs, for the next check (absent in older runs). */
  readonly canaryObservations?: Readonly<Record<string, CanaryObservations>>;
  /** A per-MIG round the previous run stopped part-way through to keep its history short, to finish first. */
  readonly unfinishedRound?: UnfinishedRound;
}

/**
 * Rounds that repeat over the same MIGs (health checks, convergence reads, idle drains) have no per-MIG phase to
 * resume from, so the MIGs a round had not reached travel with the continue-as-new.
 */
export interface UnfinishedRound {
  readonly kind: 'health' | 'convergence' | 'drain';
  readonly migs: readonly string[];
}

export const statusQuery = defineQuery<RolloutState>('status');
