/**
 * The activity contract: the domain types activities exchange with workflows, and the interface that
 * `createActivities(deps)` returns. Workflows import this module *as types only* and proxy the interface.
 * Everything here is plain JSON data: it is recorded in workflow history, so it never carries secrets.
 */
import type { AutoscalingBounds, Environment, FleetDefinition, MigRef } from '../runner-config/types.js';

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
  /**
   * List each MIG's instances to fill `instancesByTemplate` (one extra call per MIG). Default true; a
   * selection that only checks versions and stability passes false and gets an empty record.
   */
  readonly includeInstances?: boolean;
}

/**
 * What a caller already knows about a MIG (e.g. the MigSnapshot from selectMigs). Passing it to a version
 * change saves the activity its own read; a stale one costs one 412 and a fresh read, never a wrong patch.
 */
export type ObservedMig = Pick<MigSnapshot, 'versions' | 'fingerprint' | 'distributionShape'>;

/** Result of a MIG mutation: `applied: false` means the MIG already was in the requested state. */
export interface MigUpdateResult {
  readonly mig: MigLocator;
  readonly applied: boolean;
  readonly versions: readonly MigVersion[];
}

export interface DrainResult {
  readonly mig: MigLocator;
  /** Runners removed from GitHub and whose VMs were deleted through the MIG. */
  readonly drained: readonly string[];
  /** Runners that were running a job (GitHub answered 422, or reported busy) and were left alone. */
  readonly skippedBusy: readonly string[];
  /** VMs deleted because they never registered a runner within the grace period. */
  readonly removedStuck: readonly string[];
}

export interface CanaryHealth {
  readonly mig: MigLocator;
  readonly healthy: boolean;
  /** Human-readable evidence for every failed check (empty when healthy). */
  readonly problems: readonly string[];
  readonly canaryInstances: number;
  readonly canaryRunnersOnline: number;
  /** Instances on the canary template that were recreated since the canary started. */
  readonly canaryRecreations: number;
  readonly canaryJobs: { readonly succeeded: number; readonly failed: number };
  readonly baseJobs: { readonly succeeded: number; readonly failed: number };
}

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
  readonly securityRelease: boolean;
  /** Platform (`linux-x64`, `linux-arm64`, …) to SHA-256 as published in the release body. */
  readonly digests: Readonly<Record<string, string>>;
  /** Platform to archive download URL. */
  readonly assets: Readonly<Record<string, string>>;
}

export interface PreflightProblem {
  readonly mig?: string;
  readonly code: string;
  readonly message: string;
}

export interface RolloutActivities {
  /** The fleet definition the worker runs with (recorded once in history, then used deterministically). */
  loadFleet(): Promise<FleetDefinition>;
  selectMigs(selection: MigSelection): Promise<MigSnapshot[]>;
  describeMig(mig: MigLocator): Promise<MigSnapshot>;
  listManagedInstances(mig: MigLocator): Promise<ManagedInstanceInfo[]>;
  /** Names of the given templates that do not exist. */
  missingTemplates(names: readonly string[]): Promise<string[]>;
  /** Creates every template of a version from the fleet definition; existing identical templates count as done. */
  createTemplates(input: {
    version: string;
    runnerVersion?: string;
    archiveDigests?: Readonly<Record<string, string>>;
  }): Promise<{ created: string[]; existing: string[] }>;

  canaryMig(input: {
    mig: MigLocator;
    template: string;
    canarySize: number;
    observed?: ObservedMig;
  }): Promise<MigUpdateResult>;
  /** `template` (the canary's) lets a retry recognise a promotion that already happened as applied. */
  promoteCanary(input: { mig: MigLocator; template?: string; observed?: ObservedMig }): Promise<MigUpdateResult>;
  /** `canaryTemplate` makes a rollback of an already promoted canary fail instead of reporting success. */
  rollbackCanary(input: { mig: MigLocator; canaryTemplate?: string; observed?: ObservedMig }): Promise<MigUpdateResult>;
  directUpdate(input: { mig: MigLocator; template: string; observed?: ObservedMig }): Promise<MigUpdateResult>;

  getAutoscaling(mig: MigLocator): Promise<AutoscalingBounds>;
  setAutoscaling(input: { mig: MigLocator; bounds: AutoscalingBounds }): Promise<AutoscalingBounds>;

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
  /** Removes idle runners (GitHub first, then the VM through the MIG), optionally only those not on `keepTemplate`. */
  drainIdleRunners(input: {
    mig: MigLocator;
    keepTemplate?: string;
    stuckAfterMinutes?: number;
    dryRun?: boolean;
  }): Promise<DrainResult>;

  canaryHealth(input: { mig: MigLocator; canaryTemplate: string; since: string }): Promise<CanaryHealth>;
  convergence(input: { mig: MigLocator; targetTemplate: string }): Promise<ConvergenceProgress>;

  latestRunnerRelease(input: { newerThan?: string }): Promise<RunnerReleaseInfo | null>;
  verifyRunnerArchive(input: { url: string; sha256: string }): Promise<{ bytes: number }>;
}
