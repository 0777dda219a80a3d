/**
 * The activity contract: the domain types activities exchange with workflows, and the interface that
 * `createActivities(deps)` returns. Workflows import this module *as types only* and proxy the interface.
 * Everything here is plain JSON data: it is recorded in workflow history, so it never carries secrets.
 */
import type { AutoscalingBounds, Environment, FleetDefinition, MigRef, PoolPolicy } from '../runner-config/types.js';
import type { ObservedVm } from '../workflows/pool-decision.js';
import type { StoppedRollout } from '../workflows/runner-version-check-contract.js';

/** Addresses one regional MIG. */
export interface MigLocator {
  readonly region: string;
  readonly name: string;
}

export interface MigVersion {
  readonly name: string;
  /** Template name (not the URL). */
  readonly instanceTemplate: string;
  readonly targetSize?: { readonly fixed?: number; readonly percent?: number };
}

export interface MigSnapshot extends MigLocator {
  readonly ref: MigRef;
  readonly versions: readonly MigVersion[];
  readonly targetSize: number;
  readonly isStable: boolean;
  readonly versionTargetReached: boolean;
  readonly fingerprint: string;
  readonly distributionShape: string;
  /** Number of instances per template name. */
  readonly instancesByTemplate: Readonly<Record<string, number>>;
}

export interface ManagedInstanceInfo {
  readonly name: string;
  readonly zone: string;
  readonly instanceTemplate: string;
  readonly status: string;
  readonly currentAction: string;
  /** ISO timestamp of creation. */
  readonly createdAt: string;
}

export interface RunnerInfo {
  readonly id: number;
  readonly name: string;
  readonly online: boolean;
  readonly busy: boolean;
  readonly labels: readonly string[];
  /** From the `runner-version=<v>` label, when present. */
  readonly runnerVersion?: string;
  /** From the `config-ref=<sha>` label, when present. */
  readonly configRef?: string;
}

export interface MigSelection {
  readonly environment: Environment;
  /** Selector expressions: an RE2-style regex matched against the whole name, or `all`. */
  readonly regions: string;
  readonly groups: string;
  readonly types: string;
}

/** Result of a MIG mutation: `applied: false` means the MIG already was in the requested state. */
export interface MigUpdateResult {
  readonly mig: MigLocator;
  readonly applied: boolean;
  readonly versions: readonly MigVersion[];
  /** Idle old VMs replaced (their runners deregistered first) so the new template's first VMs had a slot. */
  readonly madeRoom?: readonly string[];
  /** The autoscaler min a surge raised to make that room without GitHub (canaryMig with `surge`). */
  readonly surgedTo?: number;
}

export interface DrainResult {
  readonly mig: MigLocator;
  /** Runners removed from GitHub and whose VMs were deleted through the MIG. */
  readonly drained: readonly string[];
  /** Runners that were running a job (GitHub answered 422, or reported busy) and were left alone. */
  readonly skippedBusy: readonly string[];
  /**
   * VMs deleted without an online runner: with a `keepTemplate`, every VM on another template in any state
   * (booting, boot-looping under repairs, or dead with an offline registration left behind).
   */
  readonly removedStuck: readonly string[];
}

export interface JobCounts {
  readonly succeeded: number;
  readonly failed: number;
}

/** One VM seen on the canary template by a health check. */
export interface ObservedCanaryVm {
  readonly name: string;
  /** Distinct creation timestamps seen (a repair recreates the VM under its name), oldest first. */
  readonly lives: readonly string[];
  /** Seen with an online runner, or ran a job, at least once. */
  readonly registered: boolean;
  /**
   * When a check last saw the VM on the canary template (ISO timestamp). Optional: observations recorded before it
   * existed fall back to the VM's last creation time.
   */
  readonly lastSeen?: string;
}

/**
 * What health checks have seen of a canary's VMs so far. Activities keep no state, and ephemeral VMs vanish after
 * their job, so a caller that checks repeatedly passes the previous result's observations back: they attribute
 * finished jobs to canary VMs that are gone, and they reveal a boot loop at any moment of the loop.
 */
export interface CanaryObservations {
  readonly vms: readonly ObservedCanaryVm[];
}

export interface CanaryHealth {
  readonly mig: MigLocator;
  readonly healthy: boolean;
  /** Human-readable evidence for every failed check (empty when healthy). */
  readonly problems: readonly string[];
  readonly canaryInstances: number;
  readonly canaryRunnersOnline: number;
  /** Repairs of canary VMs observed since the canary started (creation times seen beyond the first, plus ongoing). */
  readonly canaryRecreations: number;
  /** Finished jobs since `since` on canary VMs (known from this and earlier checks). */
  readonly canaryJobs: JobCounts;
  /** Finished jobs since `since` on the MIG's other VMs. */
  readonly baseJobs: JobCounts;
  /**
   * Pass back as `previous` on the next check of the same canary. The activity always sets it; it is optional so
   * results recorded before it existed still type-check when a workflow replays them.
   */
  readonly observations?: CanaryObservations;
}

/** What one canary's health check takes. */
export interface CanaryHealthRequest {
  readonly mig: MigLocator;
  readonly canaryTemplate: string;
  /** When the canary started: jobs and absences count from here. */
  readonly since: string;
  readonly previous?: CanaryObservations;
}

/** A round's answer for one canary: its health, or why its check could not run (evidence neither way). */
export type CanaryHealthOutcome =
  { readonly mig: MigLocator; readonly health: CanaryHealth } | { readonly mig: MigLocator; readonly failure: string };

export interface ConvergenceProgress {
  readonly mig: MigLocator;
  readonly targetTemplate: string;
  readonly instancesOnTarget: number;
  readonly instancesTotal: number;
  readonly runnersOnTarget: number;
  readonly runnersOld: number;
  readonly versionTargetReached: boolean;
  readonly isStable: boolean;
}

export interface RunnerReleaseInfo {
  readonly version: string;
  readonly publishedAt: string;
  /**
   * The first release (by date) newer than `newerThan`: GitHub's 30-day clock for that version started with it.
   * Absent without `newerThan`, and in results recorded before it was reported.
   */
  readonly firstNewer?: { readonly version: string; readonly publishedAt: string };
  /** Every release newer than `newerThan`, lowest first: the releases a rollout may still be running for. */
  readonly newerVersions?: readonly string[];
  readonly securityRelease: boolean;
  /** Platform (`linux-x64`, `linux-arm64`, …) to SHA-256 as published in the release body. */
  readonly digests: Readonly<Record<string, string>>;
  /** Platform to archive download URL. */
  readonly assets: Readonly<Record<string, string>>;
}

/** The latest run of a rollout workflow, as the runner-version check needs it. */
export type RolloutRecord =
  | { readonly workflowId: string; readonly status: 'not-found' }
  | {
      readonly workflowId: string;
      readonly status: 'running';
      readonly stage: string;
      /** A MIG is promoted (or promoting): aborting now would leave the fleet split between versions. */
      readonly promotionStarted: boolean;
      /** An abort or rollback is already under way. */
      readonly stopping: boolean;
    }
  | { readonly workflowId: string; readonly status: 'completed'; readonly stopped?: StoppedRollout }
  /** Failed, terminated, cancelled or timed out: a rollout that may be started again. */
  | { readonly workflowId: string; readonly status: 'closed'; readonly closedAs: string };

export interface PreflightProblem {
  readonly mig?: string;
  readonly code: string;
  readonly message: string;
}

export interface RolloutActivities {
  /** The fleet definition the worker runs with (recorded once in history, then used deterministically). */
  loadFleet(): Promise<FleetDefinition>;
  /** How many activities the worker that runs this one runs at once; null when its composition does not say. */
  workerActivitySlots(): Promise<number | null>;
  selectMigs(selection: MigSelection): Promise<MigSnapshot[]>;
  /** Names of the given templates that do not exist. */
  missingTemplates(names: readonly string[]): Promise<string[]>;
  /** Creates every template of a version from the fleet definition; existing identical templates count as done. */
  createTemplates(input: {
    version: string;
    runnerVersion?: string;
    archiveDigests?: Readonly<Record<string, string>>;
  }): Promise<{ created: string[]; existing: string[] }>;

  /**
   * `surge`: the caller recorded the MIG's autoscaling bounds ({@link surgeableAutoscaling}) and restores them at
   * promotion or rollback, so room may be made by raising the autoscaler's min instead of through GitHub.
   */
  canaryMig(input: {
    mig: MigLocator;
    template: string;
    canarySize: number;
    surge?: boolean;
  }): Promise<MigUpdateResult>;
  /** `template` (the canary's) lets a retry recognise a promotion that already happened as applied. */
  promoteCanary(input: { mig: MigLocator; template?: string }): Promise<MigUpdateResult>;
  /** `canaryTemplate` makes a rollback of an already promoted canary fail instead of reporting success. */
  rollbackCanary(input: { mig: MigLocator; canaryTemplate?: string }): Promise<MigUpdateResult>;
  directUpdate(input: { mig: MigLocator; template: string }): Promise<MigUpdateResult>;

  getAutoscaling(mig: MigLocator): Promise<AutoscalingBounds>;
  setAutoscaling(input: { mig: MigLocator; bounds: AutoscalingBounds }): Promise<AutoscalingBounds>;
  /**
   * The bounds of the MIG's autoscaler when a surge may make room in it (it never scales in, so restoring its min
   * deletes no VM); null for a fixed-size MIG, or one whose autoscaler scales in or is off.
   */
  surgeableAutoscaling(mig: MigLocator): Promise<AutoscalingBounds | null>;

  listRunners(input: { namePrefix: string }): Promise<RunnerInfo[]>;
  /** Heartbeats progress; resumes from heartbeat details after a retry. */
  waitForRunners(input: {
    mig: MigLocator;
    template: string;
    runnerVersion?: string;
    count: number;
    /** Fails with WAIT_TIMED_OUT once this long has passed since the first attempt started. */
    timeoutMinutes?: number;
  }): Promise<number>;
  /** Until `isStable` and `versionTargetReached`; heartbeats and resumes like waitForRunners. */
  waitForMigStable(mig: MigLocator, options?: { timeoutMinutes?: number }): Promise<MigSnapshot>;
  /**
   * Removes idle runners (GitHub first, then the VM through the MIG), optionally only those not on `keepTemplate`;
   * with `keepTemplate` it also deletes the VMs on other templates that have no runner, whatever their state.
   */
  drainIdleRunners(input: {
    mig: MigLocator;
    keepTemplate?: string;
    dryRun?: boolean;
    /** Only these runners (by name), for the pool controller's removals; every idle one without it. */
    only?: readonly string[];
  }): Promise<DrainResult>;

  /**
   * Boot loops, VMs without runners and the job failure-rate gate. Jobs are read from the config repo's Actions
   * runs since `since`; `previous` (the last result's observations) makes both verdicts hold across checks.
   */
  canaryHealth(input: CanaryHealthRequest): Promise<CanaryHealth>;
  /**
   * One round of health checks over several canaries: each as canaryHealth checks it, with one listing of the
   * config repo's runs for all of them. A canary whose check cannot run gets its failure, not the round's.
   */
  canaryHealthRound(input: { checks: readonly CanaryHealthRequest[] }): Promise<CanaryHealthOutcome[]>;
  convergence(input: { mig: MigLocator; targetTemplate: string }): Promise<ConvergenceProgress>;

  latestRunnerRelease(input: { newerThan?: string }): Promise<RunnerReleaseInfo | null>;
  verifyRunnerArchive(input: { url: string; sha256: string }): Promise<{ bytes: number }>;
  /** The latest run of each rollout workflow id, read from Temporal. */
  describeRollouts(input: { workflowIds: readonly string[] }): Promise<RolloutRecord[]>;
}

/** One MIG of a pool as the pool controller sees it. */
export interface PoolMigObservation extends MigLocator {
  readonly targetSize: number;
  /** Each VM with its runner's state (the runner is named after its VM). */
  readonly vms: readonly ObservedVm[];
  /** A rollout holds the MIG (its per-MIG worker runs): the controller must not write it. */
  readonly held: boolean;
  /** The mode of the autoscaler the MIG links (`ON`, `ONLY_SCALE_OUT`, `OFF`); absent for a fixed-size MIG. */
  readonly autoscalerMode?: string;
}

/** A job GitHub lists as waiting for a runner, with the `runs-on` labels it asks for. */
export interface QueuedJob {
  readonly id: number;
  readonly runId: number;
  readonly labels: readonly string[];
}

export interface PoolObservation {
  readonly migs: readonly PoolMigObservation[];
  /** Only when asked for (the periodic reconciliation): the config repo's queued jobs of this pool. */
  readonly queuedJobs?: readonly QueuedJob[];
  /** False when there were more queued runs than one reading takes: jobs missing from the list may still wait. */
  readonly queuedJobsComplete?: boolean;
  /** The fleet file's policy of the pool, read with every observation so a changed mode or bound applies. */
  readonly policy: PoolPolicy;
  /** Epoch milliseconds of the observation, on the activities' clock. */
  readonly at: number;
}

/** What `raisePoolMig` did: `held` means a rollout took the MIG meanwhile and nothing was written. */
export interface PoolRaiseResult {
  readonly mig: MigLocator;
  readonly outcome: 'raised' | 'unchanged' | 'held';
  readonly targetSize: number;
}

/** What `setPoolAutoscalerMode` did: `held` means a rollout holds the MIG and nothing was written. */
export interface PoolAutoscalerModeResult {
  readonly mig: MigLocator;
  readonly outcome: 'set' | 'unchanged' | 'held' | 'none';
  /** The mode before, when the MIG links an autoscaler. */
  readonly previous?: string;
}

/** The pool controller's effects: reads of its pool, raises of a MIG's target size, busy-safe removals. */
export interface PoolActivities {
  observePool(input: { pool: string; withQueuedJobs: boolean }): Promise<PoolObservation>;
  /**
   * Raises the MIG's target size from `from` to `to`. Never lowers it: a MIG whose target size moved past `from`
   * meanwhile is left as it is (`unchanged`), as a lower size would let GCP pick VMs to delete, busy or not.
   */
  raisePoolMig(input: { mig: MigLocator; from: number; to: number }): Promise<PoolRaiseResult>;
  /**
   * Sets the mode of the autoscaler the MIG links. GCP resizes an autoscaled MIG only in mode `OFF`, which keeps
   * the autoscaler's configuration, so a pool in queue mode takes its MIGs over with `OFF` and hands them back with
   * the mode they had. `OFF` is refused (`held`) for a MIG a rollout holds; any other mode is set whoever holds it,
   * as the MIG's own autoscaler is what sizes it during a rollout. `none`: the MIG is fixed-size.
   */
  setPoolAutoscalerMode(input: { mig: MigLocator; mode: string }): Promise<PoolAutoscalerModeResult>;
  /**
   * Removes the named idle runners by the busy-safe drain (GitHub first, 422 while busy, then the VM through the
   * MIG); a MIG a rollout holds is left alone (`held`).
   */
  removePoolRunners(input: { mig: MigLocator; runners: readonly string[] }): Promise<DrainResult & { held: boolean }>;
}

/** Every activity the worker registers. */
export type EngineActivities = RolloutActivities & PoolActivities;
