/**
 * What the control API shows of the simulated world: JSON views of the clock, MIGs and their instances, jobs,
 * releases and templates, and of the whole state.
 */
import type { Behaviours } from './behaviours.js';
import { iso } from './clock.js';
import type { FaultConfig } from './faults.js';
import type { JobCounts, SimInstance, SimJob, SimMig } from './fleet-types.js';
import { isStable, isVersionTargetReached, liveInstances } from './mig-status.js';
import type { JobRateRule } from './options.js';
import type { RunnerReleaseRecord } from './releases.js';

export interface ClockView {
  readonly now: string;
  readonly speed: number;
  readonly pendingEvents: number;
}

export interface AdvanceResult {
  readonly now: string;
  readonly processedEvents: number;
}

export interface InstanceView {
  readonly name: string;
  readonly zone: string;
  readonly template: string;
  readonly version: string;
  /** Undefined (null in JSON) while the VM does not exist yet, e.g. during a stockout. */
  readonly status: string | null;
  readonly currentAction: string;
  readonly createdAt: string;
  readonly recreations: number;
  readonly runner: {
    readonly id: number;
    readonly busy: boolean;
    readonly version: string;
    readonly jobId: number | null;
  } | null;
  readonly lastAttemptErrors: ReadonlyArray<{ readonly code: string; readonly message: string }>;
}

export interface MigView {
  readonly name: string;
  readonly region: string;
  readonly environment: string;
  readonly group: string;
  readonly type: string;
  readonly shape: string;
  readonly targetSize: number;
  readonly fingerprint: string;
  readonly versions: ReadonlyArray<{
    readonly name: string;
    readonly template: string;
    readonly targetSize?: { fixed?: number; percent?: number };
  }>;
  readonly updatePolicy: {
    readonly type: string;
    readonly minimalAction: string;
    readonly mostDisruptiveAllowedAction: string;
  };
  readonly isStable: boolean;
  readonly versionTargetReached: boolean;
  readonly recreations: number;
  readonly autoscaler: {
    readonly min: number;
    readonly max: number;
    readonly mode: string;
    readonly recommendedSize: number;
  };
  readonly instancesByTemplate: Readonly<Record<string, number>>;
  readonly instances: readonly InstanceView[];
}

export interface JobView {
  readonly id: number;
  readonly pool: string;
  readonly queuedAt: string;
  readonly startedAt: string | null;
  readonly completedAt: string | null;
  readonly runnerName: string | null;
  readonly mig: string | null;
  readonly template: string | null;
  readonly conclusion: string | null;
  readonly killedBy: string | null;
}

export interface JobsView {
  readonly rates: readonly JobRateRule[];
  readonly pools: ReadonlyArray<{
    readonly pool: string;
    readonly perHour: number;
    readonly meanDurationMinutes: number;
    readonly queued: number;
    readonly idleRunners: number;
  }>;
  readonly byTemplate: Readonly<Record<string, JobCounts>>;
  readonly running: readonly JobView[];
  readonly killed: readonly JobView[];
  /** The most recently finished jobs (at most 200), oldest first. */
  readonly recent: readonly JobView[];
}

export interface ReleaseView {
  readonly version: string;
  readonly publishedAt: string;
  readonly security: boolean;
  readonly digestMismatch: boolean;
  readonly withoutShaLines: boolean;
  readonly prerelease: boolean;
  readonly draft: boolean;
}

export interface TemplateView {
  readonly name: string;
  readonly createdAt: string;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface SimState {
  readonly now: string;
  readonly speed: number;
  readonly project: string;
  readonly org: string;
  readonly templates: readonly TemplateView[];
  readonly migs: readonly MigView[];
  readonly runners: {
    readonly total: number;
    readonly busy: number;
    readonly byVersion: Readonly<Record<string, number>>;
  };
  readonly behaviours: Behaviours;
  readonly faults: FaultConfig;
  readonly releases: readonly ReleaseView[];
  readonly jobs: JobsView;
}

export function migView(mig: SimMig): MigView {
  const instancesByTemplate: Record<string, number> = {};
  for (const instance of liveInstances(mig)) {
    instancesByTemplate[instance.template] = (instancesByTemplate[instance.template] ?? 0) + 1;
  }
  return {
    name: mig.name,
    region: mig.region,
    environment: mig.ref.environment,
    group: mig.ref.group,
    type: mig.ref.type,
    shape: mig.shape,
    targetSize: mig.targetSize,
    fingerprint: mig.fingerprint,
    versions: mig.versions.map((version) => ({ ...version })),
    updatePolicy: {
      type: mig.updatePolicy.type,
      minimalAction: mig.updatePolicy.minimalAction,
      mostDisruptiveAllowedAction: mig.updatePolicy.mostDisruptiveAllowedAction,
    },
    isStable: isStable(mig),
    versionTargetReached: isVersionTargetReached(mig),
    recreations: mig.recreations,
    autoscaler: {
      min: mig.autoscaler.min,
      max: mig.autoscaler.max,
      mode: mig.autoscaler.mode,
      recommendedSize: mig.autoscaler.recommendedSize,
    },
    instancesByTemplate,
    instances: [...mig.instances.values()].map(instanceView),
  };
}

function isoOrNull(ms: number | undefined): string | null {
  return ms === undefined ? null : iso(ms);
}

export function releaseView(release: RunnerReleaseRecord): ReleaseView {
  return {
    version: release.version,
    publishedAt: iso(release.publishedAt),
    security: release.security,
    digestMismatch: release.digestMismatch,
    withoutShaLines: release.withoutShaLines,
    prerelease: release.prerelease,
    draft: release.draft,
  };
}

export function templateView(template: {
  name: string;
  createdAt: number;
  metadata: ReadonlyMap<string, string>;
}): TemplateView {
  return { name: template.name, createdAt: iso(template.createdAt), metadata: Object.fromEntries(template.metadata) };
}

export function instanceView(instance: SimInstance): InstanceView {
  const runner = instance.runner;
  return {
    name: instance.name,
    zone: instance.zone,
    template: instance.template,
    version: instance.versionName,
    status: instance.status ?? null,
    currentAction: instance.currentAction,
    createdAt: iso(instance.createdAt),
    recreations: instance.recreations,
    runner:
      runner === undefined
        ? null
        : { id: runner.id, busy: runner.busy, version: runner.version, jobId: runner.job?.id ?? null },
    lastAttemptErrors: instance.lastAttemptErrors.map((error) => ({ ...error })),
  };
}

export function jobView(job: SimJob): JobView {
  return {
    id: job.id,
    pool: job.pool,
    queuedAt: iso(job.queuedAt),
    startedAt: isoOrNull(job.startedAt),
    completedAt: isoOrNull(job.completedAt),
    runnerName: job.runnerName ?? null,
    mig: job.mig ?? null,
    template: job.template ?? null,
    conclusion: job.conclusion ?? null,
    killedBy: job.killedBy ?? null,
  };
}
