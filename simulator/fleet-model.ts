import { createHash } from 'node:crypto';

import {
  BASE_VERSION_NAME,
  enumerateMigs,
  findGroup,
  findType,
  METADATA_KEYS,
  migAutoscaling,
  migNameOf,
  runnerLabels,
  templateMetadata,
  templateNameFor,
  versionTemplates,
  zonesOf,
} from '../runner-config/index.js';
import type { Environment, FleetDefinition, MigRef } from '../runner-config/types.js';
import type { BehaviourOverrides, Behaviours } from './behaviours.js';
import { EventQueue, type SimClock } from './clock.js';
import { cpuRecommendedSize, hasBusyVm, scalesOnCpu } from './cpu-autoscaler.js';
import { canonicalUpdatePolicy } from './enums.js';
import { FaultInjector } from './faults.js';
import { chooseForeignProactive } from './foreign-migs.js';
import { jobRateFor, type JobRateRule, type ModelOptions } from './options.js';
import { quotaExceededError } from './quota.js';
import { Random } from './random.js';
import { ReleaseStore } from './releases.js';
import { rerunDelayMs } from './github-runs.js';
import { OFFLINE_EPHEMERAL_EXPIRY_MS, RunnerPresence } from './runner-presence.js';
import { assignVersions, versionForNewInstance, versionTargets, type VersionSpec } from './versions.js';

const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;
const ACTION_RANK: Readonly<Record<string, number>> = { NONE: 0, REFRESH: 1, RESTART: 2, REPLACE: 3 };
/** A new template needs REPLACE (the simulator treats every template change as replace-only). */
const REPLACE_RANK = 3;

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

/** Thrown for requests the model refuses; the API layers translate it into their error shapes. */
export class ModelError extends Error {
  override readonly name = 'ModelError';

  constructor(
    readonly kind: 'invalid' | 'notFound' | 'conflict' | 'conditionNotMet',
    message: string,
  ) {
    super(message);
  }
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

const RECENT_JOBS_KEPT = 5000;

/**
 * The in-memory runner fleet: templates, MIGs, instances, GitHub runners, jobs and operations, advanced by
 * time-ordered events. Every mutation goes through here; the API layers only translate wire formats.
 */
export class FleetModel {
  readonly fleet: FleetDefinition;
  readonly faults: FaultInjector;
  readonly releases = new ReleaseStore();
  readonly templates = new Map<string, SimTemplate>();
  readonly migs = new Map<string, SimMig>();
  readonly migsByRegion = new Map<string, SimMig[]>();
  readonly instancesByName = new Map<string, SimInstance>();
  readonly runners = new Map<number, SimRunner>();
  readonly pools = new Map<string, JobPool>();
  readonly operations = new Map<string, SimOperation>();
  readonly operationsByRequestId = new Map<string, SimOperation>();
  /** Jobs killed mid-run (proactive replacement, deletion, scale-in), oldest first. */
  readonly killedJobs: SimJob[] = [];
  readonly recentJobs: SimJob[] = [];
  readonly jobCountsByTemplate = new Map<string, JobCounts>();
  readonly timings: ModelOptions['timings'];
  /** Seeds the random streams of the API layers too, so their choices repeat with the run. */
  readonly seed: number;
  readonly presence: RunnerPresence;
  /** Which production behaviours are on; switched at run time through `setBehaviours`. */
  behaviours: Behaviours;
  /** Told of every job transition, synchronously, while the job is in that state (webhook deliveries). */
  jobListener: ((action: JobAction, job: SimJob) => void) | undefined;
  /** Operation durations, apart from the other streams so slow operations never shift job arrivals. */
  readonly operationRandom: Random;
  /** Early returns of operation waits, apart from durations so how often a client waits changes no duration. */
  readonly waitRandom: Random;

  private readonly events = new EventQueue();
  private readonly idRandom: Random;
  private readonly jobRandom: Random;
  private readonly outcomeRandom: Random;
  private readonly rerunRandom: Random;
  private readonly cpuRandom: Random;
  /** The MIGs another tool switched to PROACTIVE, whenever `foreignProactiveMigs` is on. */
  private readonly foreignProactive: ReadonlySet<SimMig>;
  private current: number;
  private nextId = 1;
  private nextRunnerId = 1;
  private nextJobId = 1;
  private jobRates: readonly JobRateRule[];

  constructor(
    readonly clock: SimClock,
    private readonly options: ModelOptions,
  ) {
    this.fleet = options.fleet;
    this.timings = options.timings;
    this.seed = options.seed;
    this.presence = new RunnerPresence(new Random(options.seed, 'presence'));
    this.current = clock.now();
    this.idRandom = new Random(options.seed, 'ids');
    this.jobRandom = new Random(options.seed, 'jobs');
    this.outcomeRandom = new Random(options.seed, 'outcomes');
    this.operationRandom = new Random(options.seed, 'operations');
    this.waitRandom = new Random(options.seed, 'operationWaits');
    this.rerunRandom = new Random(options.seed, 'reruns');
    this.cpuRandom = new Random(options.seed, 'cpu');
    this.faults = new FaultInjector(new Random(options.seed, 'faults'));
    this.jobRates = options.jobRates;
    this.behaviours = options.behaviours;
    this.seedReleases();
    this.seedFleet();
    this.foreignProactive = chooseForeignProactive(
      [...this.migs.values()],
      new Random(options.seed, 'foreignProactive'),
    );
    if (this.behaviours.foreignProactiveMigs) this.switchForeignMigs();
  }

  /** The simulated time of the step being processed (epoch ms). */
  now(): number {
    return this.current;
  }

  /** Runs every event due by the clock's current time, in time order. Returns how many ran. */
  catchUp(): number {
    const until = Math.max(this.clock.now(), this.current);
    let processed = 0;
    for (let event = this.events.popDue(until); event !== undefined; event = this.events.popDue(until)) {
      this.current = event.at;
      event.run();
      processed++;
    }
    this.current = until;
    return processed;
  }

  advance(seconds: number): number {
    this.clock.advance(seconds * 1000);
    return this.catchUp();
  }

  pendingEvents(): number {
    return this.events.size;
  }

  /** Switches behaviours on or off from now on; returns the full set. */
  setBehaviours(overrides: BehaviourOverrides): Behaviours {
    const foreignWasOn = this.behaviours.foreignProactiveMigs;
    this.behaviours = { ...this.behaviours, ...overrides };
    // Switching the behaviour off again does not undo the other tool's change, as nothing would in production.
    if (!foreignWasOn && this.behaviours.foreignProactiveMigs) this.switchForeignMigs();
    return this.behaviours;
  }

  private switchForeignMigs(): void {
    for (const mig of this.foreignProactive) {
      if (mig.updatePolicy.type === 'PROACTIVE') continue;
      mig.updatePolicy = { ...mig.updatePolicy, type: 'PROACTIVE' };
      this.touch(mig);
    }
  }

  newId(): string {
    return String(4_000_000_000_000 + this.nextId++);
  }

  // ---- templates -------------------------------------------------------------------------------------------

  insertTemplate(name: string, properties: Readonly<Record<string, unknown>>, description = ''): SimTemplate {
    if (this.templates.has(name)) {
      throw new ModelError(
        'conflict',
        `The resource 'projects/${this.fleet.project}/global/instanceTemplates/${name}' already exists`,
      );
    }
    const template: SimTemplate = {
      id: this.newId(),
      name,
      createdAt: this.current,
      description,
      properties,
      metadata: metadataOf(properties),
    };
    this.templates.set(name, template);
    return template;
  }

  /** Template properties like the fleet's own templates, for the initial fleet and out-of-band creation. */
  fleetTemplateProperties(
    group: string,
    type: string,
    version: string,
    overrides: { runnerVersion?: string; configRef?: string; metadata?: Readonly<Record<string, string>> } = {},
  ): Record<string, unknown> {
    const runnerType = findType(this.fleet, type);
    const metadata = {
      ...templateMetadata(this.fleet, group, type, version, {
        ...(overrides.runnerVersion === undefined ? {} : { runnerVersion: overrides.runnerVersion }),
        ...(overrides.configRef === undefined ? {} : { configRef: overrides.configRef }),
      }),
      ...overrides.metadata,
    };
    return {
      machineType: runnerType.machineType,
      disks: [
        {
          boot: true,
          autoDelete: true,
          initializeParams: {
            diskType: runnerType.disk.type,
            diskSizeGb: String(runnerType.disk.sizeGb),
            sourceImage: `projects/${this.fleet.project}/global/images/${runnerType.image}`,
          },
        },
      ],
      metadata: { items: Object.entries(metadata).map(([key, value]) => ({ key, value })) },
      serviceAccounts: [
        {
          email: findGroup(this.fleet, group).serviceAccount,
          scopes: ['https://www.googleapis.com/auth/cloud-platform'],
        },
      ],
      scheduling: { onHostMaintenance: runnerType.maintenancePolicy, automaticRestart: false },
      ...(runnerType.accelerator === undefined
        ? {}
        : {
            guestAccelerators: [
              { acceleratorType: runnerType.accelerator.type, acceleratorCount: runnerType.accelerator.count },
            ],
          }),
      tags: { items: ['allow-health-checks'] },
    };
  }

  // ---- MIG mutations ---------------------------------------------------------------------------------------

  /** Applies a validated patch; returns whether anything changed. Throws ModelError for refused patches. */
  patchMig(mig: SimMig, patch: MigPatch): boolean {
    if (patch.fingerprint !== undefined && patch.fingerprint !== mig.fingerprint) {
      throw new ModelError(
        'conditionNotMet',
        `Supplied fingerprint does not match current fingerprint of instance group manager '${mig.name}' (it changed since it was read).`,
      );
    }
    const versions = patch.versions ?? mig.versions;
    this.checkVersions(mig, versions);
    const updatePolicy = checkUpdatePolicy(
      { ...mig.updatePolicy, ...patch.updatePolicy },
      this.behaviours.lowerCaseEnums,
    );
    const targetSize = patch.targetSize ?? mig.targetSize;
    const changed =
      JSON.stringify(versions) !== JSON.stringify(mig.versions) ||
      JSON.stringify(updatePolicy) !== JSON.stringify(mig.updatePolicy) ||
      targetSize !== mig.targetSize;
    if (!changed) return false;
    mig.versions = versions.map((version) => ({ ...version }));
    mig.updatePolicy = updatePolicy;
    mig.targetSize = targetSize;
    this.touch(mig);
    return true;
  }

  resizeMig(mig: SimMig, size: number): boolean {
    if (size === mig.targetSize) return false;
    mig.targetSize = size;
    this.touch(mig);
    return true;
  }

  /**
   * deleteInstances: each named instance is deleted and the target size drops by one per instance, so the
   * autoscaler (not a repair) decides whether to add VMs back. Unknown instances fail the whole request
   * unless `skipUnknown`.
   */
  deleteInstances(mig: SimMig, names: readonly string[], skipUnknown: boolean, reason = 'deleteInstances'): boolean {
    const found: SimInstance[] = [];
    for (const name of names) {
      const instance = mig.instances.get(name);
      if (instance === undefined || instance.currentAction === 'DELETING') {
        if (skipUnknown) continue;
        throw new ModelError(
          'notFound',
          `Instance '${name}' is not a member of instance group manager '${mig.name}' or is already being deleted.`,
        );
      }
      found.push(instance);
    }
    for (const instance of found) {
      this.beginDelete(instance, reason);
      mig.targetSize = Math.max(0, mig.targetSize - 1);
    }
    if (found.length > 0) this.touch(mig);
    return found.length > 0;
  }

  /**
   * applyUpdatesToInstances: replaces the named (or all) outdated instances now, whatever the update type. When a
   * version has more instances than its target, any of them is outdated: the named ones are the ones replaced.
   * https://cloud.google.com/compute/docs/instance-groups/updating-selected-instances-in-a-mig
   */
  applyUpdates(mig: SimMig, names: readonly string[] | 'all'): boolean {
    const live = this.liveInstances(mig);
    const named = (instance: SimInstance): boolean => names !== 'all' && names.includes(instance.name);
    const ordered = [...live.filter((instance) => !named(instance)), ...live.filter(named)];
    const assigned = assignVersions(mig.versions, versionTargets(mig.versions, mig.targetSize), ordered);
    const outdated = ordered.filter((_, index) => assigned[index] === -1);
    const chosen = names === 'all' ? outdated : outdated.filter(named);
    for (const instance of chosen) this.beginDelete(instance, 'applyUpdatesToInstances');
    if (chosen.length > 0) this.scheduleReconcile(mig);
    return chosen.length > 0;
  }

  patchAutoscaler(mig: SimMig, patch: AutoscalerPatch): boolean {
    const autoscaler = mig.autoscaler;
    const next = {
      min: patch.min ?? autoscaler.min,
      max: patch.max ?? autoscaler.max,
      mode: patch.mode ?? autoscaler.mode,
      coolDownPeriodSec: patch.coolDownPeriodSec ?? autoscaler.coolDownPeriodSec,
      cpuUtilizationTarget: patch.cpuUtilizationTarget ?? autoscaler.cpuUtilizationTarget,
    };
    if (next.min > next.max) {
      throw new ModelError(
        'invalid',
        `Invalid value for field 'resource.autoscalingPolicy.minNumReplicas': '${next.min}'. Must be less than or equal to maxNumReplicas (${next.max}).`,
      );
    }
    const changed =
      next.min !== autoscaler.min ||
      next.max !== autoscaler.max ||
      next.mode !== autoscaler.mode ||
      next.coolDownPeriodSec !== autoscaler.coolDownPeriodSec ||
      next.cpuUtilizationTarget !== autoscaler.cpuUtilizationTarget;
    if (!changed) return false;
    Object.assign(autoscaler, next);
    this.scheduleAutoscale(mig, 0);
    return true;
  }

  // ---- MIG status ------------------------------------------------------------------------------------------

  liveInstances(mig: SimMig): SimInstance[] {
    return [...mig.instances.values()].filter((instance) => instance.currentAction !== 'DELETING');
  }

  /** Instances on a template no version names, or beyond their version's target. */
  outdatedInstances(mig: SimMig): SimInstance[] {
    const live = this.liveInstances(mig);
    const assigned = assignVersions(mig.versions, versionTargets(mig.versions, mig.targetSize), live);
    return live.filter((_, index) => assigned[index] === -1);
  }

  isVersionTargetReached(mig: SimMig): boolean {
    const live = this.liveInstances(mig);
    if (live.length !== mig.targetSize) return false;
    const assigned = assignVersions(mig.versions, versionTargets(mig.versions, mig.targetSize), live);
    return assigned.every((index) => index >= 0);
  }

  /** No instance is changing, the group has its target size, and no proactive update is pending. */
  isStable(mig: SimMig): boolean {
    for (const instance of mig.instances.values()) if (instance.currentAction !== 'NONE') return false;
    if (mig.instances.size !== mig.targetSize) return false;
    return !(this.replacesProactively(mig) && this.outdatedInstances(mig).length > 0);
  }

  // ---- GitHub ----------------------------------------------------------------------------------------------

  /** Removes a runner from GitHub; its VM keeps running (without a runner) until deleted through the MIG. */
  deleteRunner(id: number): 'deleted' | 'busy' | 'missing' {
    const runner = this.runners.get(id);
    if (runner === undefined) return 'missing';
    if (runner.busy) return 'busy';
    this.removeRunner(runner);
    return 'deleted';
  }

  isRunnerDeprecated(runner: SimRunner): boolean {
    return this.releases.isDeprecated(runner.version, this.current);
  }

  // ---- jobs ------------------------------------------------------------------------------------------------

  get rates(): readonly JobRateRule[] {
    return this.jobRates;
  }

  setJobRates(rules: readonly JobRateRule[]): void {
    this.jobRates = rules;
    for (const pool of this.pools.values()) this.applyRate(pool);
  }

  /** Queues jobs on a pool right now (they start at once on idle runners, else wait for the autoscaler). */
  submitJobs(poolKey: string, count: number, meanDurationMinutes?: number): SimJob[] {
    const pool = this.pools.get(poolKey);
    if (pool === undefined)
      throw new ModelError('notFound', `no job pool "${poolKey}" (pools are <environment>/<group>/<type>)`);
    const jobs: SimJob[] = [];
    for (let i = 0; i < count; i++) {
      jobs.push(
        this.arrive(pool, meanDurationMinutes === undefined ? pool.meanDurationMs : meanDurationMinutes * 60_000),
      );
    }
    return jobs;
  }

  /** Queued, running and recently finished jobs (the last 5,000), by id. */
  knownJobs(): SimJob[] {
    const jobs = new Map<number, SimJob>();
    for (const job of this.recentJobs) jobs.set(job.id, job);
    for (const runner of this.runners.values()) if (runner.job !== undefined) jobs.set(runner.job.id, runner.job);
    for (const pool of this.pools.values()) for (const job of pool.queue) jobs.set(job.id, job);
    return [...jobs.values()].sort((a, b) => a.id - b.id);
  }

  jobCounts(template: string): JobCounts {
    let counts = this.jobCountsByTemplate.get(template);
    if (counts === undefined) {
      counts = { succeeded: 0, failed: 0, cancelled: 0 };
      this.jobCountsByTemplate.set(template, counts);
    }
    return counts;
  }

  // ---- operations ------------------------------------------------------------------------------------------

  /** Records an operation; `requestId` makes a retried request return the first operation. */
  recordOperation(
    input: Omit<SimOperation, 'name' | 'id' | 'insertTime'>,
    requestId: string | undefined,
  ): SimOperation {
    const id = this.newId();
    const operation: SimOperation = {
      ...input,
      id,
      name: `operation-${this.current}-${createHash('sha256').update(id).digest('hex').slice(0, 13)}`,
      insertTime: this.current,
    };
    this.operations.set(operation.name, operation);
    if (requestId !== undefined) this.operationsByRequestId.set(requestId, operation);
    return operation;
  }

  // ---- internals: seeding ----------------------------------------------------------------------------------

  private seedReleases(): void {
    const initial = this.options.releases.length > 0 ? this.options.releases : [{ version: this.fleet.runner.version }];
    initial.forEach((release, index) => {
      const publishedAt = release.publishedAt ?? new Date(this.current - (20 + 30 * index) * DAY_MS).toISOString();
      this.releases.publish({ version: release.version, publishedAt }, this.current);
    });
  }

  private seedFleet(): void {
    const version = this.options.initialVersion;
    for (const template of versionTemplates(this.fleet, version)) {
      this.insertTemplate(template.name, this.fleetTemplateProperties(template.group, template.type, version));
    }
    for (const environment of ['prod', 'testing'] as const) {
      for (const ref of enumerateMigs(this.fleet, environment)) this.seedMig(ref, version);
    }
    for (const list of this.migsByRegion.values()) list.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const pool of this.pools.values()) this.applyRate(pool);
  }

  private seedMig(ref: MigRef, version: string): void {
    const type = findType(this.fleet, ref.type);
    const bounds = migAutoscaling(this.fleet, ref);
    const name = migNameOf(this.fleet, ref);
    const mig: SimMig = {
      name,
      region: ref.region,
      ref,
      id: this.newId(),
      createdAt: this.current - 90 * DAY_MS,
      zones: zonesOf(this.fleet, ref.region),
      shape: type.distributionShape,
      pool: this.poolFor(ref),
      autoscaler: {
        name,
        id: this.newId(),
        createdAt: this.current - 90 * DAY_MS,
        min: bounds.min,
        max: bounds.max,
        mode: 'ONLY_SCALE_OUT',
        coolDownPeriodSec: 60,
        cpuUtilizationTarget: 0.6,
        recommendedSize: bounds.min,
      },
      instances: new Map(),
      targetSize: bounds.min,
      versions: [{ name: BASE_VERSION_NAME, template: templateNameFor(this.fleet, ref, version) }],
      updatePolicy: {
        type: 'OPPORTUNISTIC',
        minimalAction: 'REPLACE',
        mostDisruptiveAllowedAction: 'REPLACE',
        maxSurge: {},
        maxUnavailable: {},
        replacementMethod: 'SUBSTITUTE',
        instanceRedistributionType: type.distributionShape === 'BALANCED' ? 'NONE' : 'PROACTIVE',
      },
      fingerprint: '',
      generation: 0,
      recreations: 0,
      reconcilePending: false,
      autoscalePending: false,
    };
    mig.fingerprint = fingerprintOf(mig);
    this.migs.set(name, mig);
    const regionList = this.migsByRegion.get(ref.region) ?? [];
    regionList.push(mig);
    this.migsByRegion.set(ref.region, regionList);
    mig.pool.migs.push(mig);
    for (let i = 0; i < mig.targetSize; i++) {
      const instance = this.newInstance(mig, 0);
      instance.createdAt = this.current - Math.floor(this.idRandom.next() * 6 * HOUR_MS);
      instance.zone = this.pickZone(mig, false);
      instance.status = 'RUNNING';
      this.register(instance);
    }
  }

  private poolFor(ref: MigRef): JobPool {
    const key = `${ref.environment}/${ref.group}/${ref.type}`;
    let pool = this.pools.get(key);
    if (pool === undefined) {
      pool = {
        key,
        environment: ref.environment,
        group: ref.group,
        type: ref.type,
        migs: [],
        queue: [],
        idle: new Set(),
        perHour: 0,
        meanDurationMs: 0,
        arrivalChain: 0,
      };
      this.pools.set(key, pool);
    }
    return pool;
  }

  // ---- internals: MIG reconciliation -----------------------------------------------------------------------

  private touch(mig: SimMig): void {
    mig.generation++;
    mig.fingerprint = fingerprintOf(mig);
    this.scheduleReconcile(mig);
  }

  private checkVersions(mig: SimMig, versions: readonly VersionSpec[]): void {
    if (versions.length === 0) {
      throw new ModelError(
        'invalid',
        `Invalid value for field 'resource.versions': instance group manager '${mig.name}' needs at least one version.`,
      );
    }
    if (versions.length > 1 && mig.shape !== 'EVEN') {
      throw new ModelError(
        'invalid',
        `Invalid value for field 'resource.versions': instance group manager '${mig.name}' uses target distribution shape ${mig.shape}, which does not support more than one version (got ${versions.length}); update it with a single version instead.`,
      );
    }
    const names = new Set<string>();
    let withoutTarget = 0;
    versions.forEach((version, index) => {
      if (names.has(version.name)) {
        throw new ModelError(
          'invalid',
          `Invalid value for field 'resource.versions[${index}].name': '${version.name}'. Version names must be unique.`,
        );
      }
      names.add(version.name);
      if (!this.templates.has(version.template)) {
        throw new ModelError(
          'invalid',
          `Invalid value for field 'resource.versions[${index}].instanceTemplate': '${version.template}'. The instance template does not exist.`,
        );
      }
      if (version.targetSize === undefined) withoutTarget++;
    });
    if (withoutTarget !== 1) {
      throw new ModelError(
        'invalid',
        `Invalid value for field 'resource.versions': exactly one version must leave targetSize unset (${withoutTarget} do).`,
      );
    }
  }

  private replacesProactively(mig: SimMig): boolean {
    const allowed = ACTION_RANK[mig.updatePolicy.mostDisruptiveAllowedAction] ?? REPLACE_RANK;
    return mig.updatePolicy.type === 'PROACTIVE' && allowed >= REPLACE_RANK;
  }

  private maxUnavailable(mig: SimMig): number {
    const { fixed, percent } = mig.updatePolicy.maxUnavailable;
    if (fixed !== undefined) return Math.max(1, fixed);
    if (percent !== undefined) return Math.max(1, Math.floor((percent * mig.targetSize) / 100));
    return Math.max(1, mig.zones.length);
  }

  private scheduleReconcile(mig: SimMig): void {
    if (mig.reconcilePending) return;
    mig.reconcilePending = true;
    this.events.schedule(this.current, () => {
      mig.reconcilePending = false;
      this.reconcile(mig);
    });
  }

  private scheduleAutoscale(mig: SimMig, delaySeconds = this.timings.autoscalerDelaySeconds): void {
    if (mig.autoscalePending) return;
    mig.autoscalePending = true;
    this.events.schedule(this.current + delaySeconds * 1000, () => {
      mig.autoscalePending = false;
      this.autoscale(mig);
    });
  }

  /**
   * The autoscaler: on CPU (cpu-autoscaler.ts), or with the queue as its signal, demand is the MIG's busy runners
   * plus its share of the pool's queue; within min..max either way.
   */
  private autoscale(mig: SimMig): void {
    const autoscaler = mig.autoscaler;
    if (scalesOnCpu(this.fleet, mig.ref, this.behaviours.cpuAutoscaler)) {
      autoscaler.recommendedSize = cpuRecommendedSize(mig, this.current, this.cpuRandom);
      if (hasBusyVm(mig)) this.scheduleAutoscale(mig);
    } else {
      let busy = 0;
      for (const instance of mig.instances.values()) if (instance.runner?.busy === true) busy++;
      const activeMigs = mig.pool.migs.filter((candidate) => candidate.autoscaler.max > 0).length;
      const queueShare = mig.pool.queue.length === 0 ? 0 : Math.ceil(mig.pool.queue.length / Math.max(1, activeMigs));
      autoscaler.recommendedSize = Math.min(autoscaler.max, Math.max(autoscaler.min, busy + queueShare));
    }
    if (autoscaler.mode === 'OFF') return;
    // ONLY_SCALE_OUT never removes VMs: they leave by deleting themselves after a job.
    const target =
      autoscaler.mode === 'ON' ? autoscaler.recommendedSize : Math.max(mig.targetSize, autoscaler.recommendedSize);
    if (target !== mig.targetSize) {
      mig.targetSize = target;
      this.scheduleReconcile(mig);
    }
  }

  private reconcile(mig: SimMig): void {
    let live = this.liveInstances(mig);
    if (live.length > mig.targetSize) {
      const surplus = [...live].sort(
        (a, b) => deletionPreference(a) - deletionPreference(b) || b.createdAt - a.createdAt,
      );
      for (const instance of surplus.slice(0, live.length - mig.targetSize)) this.beginDelete(instance, 'scale-in');
      live = this.liveInstances(mig);
    }
    const targets = versionTargets(mig.versions, mig.targetSize);
    if (this.replacesProactively(mig)) {
      const assigned = assignVersions(mig.versions, targets, live);
      let budget = this.maxUnavailable(mig) - live.filter((instance) => instance.currentAction !== 'NONE').length;
      const outdated = live.filter((_, index) => assigned[index] === -1).sort((a, b) => a.createdAt - b.createdAt);
      for (const instance of outdated) {
        if (budget <= 0) break;
        this.beginDelete(instance, 'proactive-replace');
        budget--;
      }
      live = this.liveInstances(mig);
    }
    if (live.length < mig.targetSize) {
      const assigned = assignVersions(mig.versions, targets, live);
      const counts = targets.map((_, version) => assigned.filter((index) => index === version).length);
      const rest = Math.max(
        0,
        mig.versions.findIndex((version) => version.targetSize === undefined),
      );
      for (let missing = mig.targetSize - live.length; missing > 0; missing--) {
        const chosen = versionForNewInstance(targets, counts);
        const version = chosen >= 0 ? chosen : rest;
        counts[version] = (counts[version] ?? 0) + 1;
        this.provision(this.newInstance(mig, version));
      }
    }
  }

  // ---- internals: instance lifecycle -----------------------------------------------------------------------

  private newInstance(mig: SimMig, versionIndex: number): SimInstance {
    const version = mig.versions[versionIndex] ?? mig.versions[0];
    if (version === undefined) throw new Error(`MIG ${mig.name} has no versions`);
    let name = `${mig.name}-${this.idRandom.chars(4)}`;
    while (this.instancesByName.has(name)) name = `${mig.name}-${this.idRandom.chars(4)}`;
    const instance: SimInstance = {
      name,
      mig,
      zone: '',
      id: this.newId(),
      template: version.template,
      versionName: version.name,
      status: undefined,
      currentAction: 'CREATING',
      createdAt: this.current,
      incarnation: 0,
      runner: undefined,
      lastAttemptErrors: [],
      recreations: 0,
    };
    mig.instances.set(name, instance);
    this.instancesByName.set(name, instance);
    return instance;
  }

  /** EVEN: the zone with the fewest instances. BALANCED: the same, among zones with capacity. */
  private pickZone(mig: SimMig, avoidStockouts: boolean): string {
    const counts = new Map(mig.zones.map((zone) => [zone, 0]));
    for (const instance of mig.instances.values()) {
      if (instance.zone !== '') counts.set(instance.zone, (counts.get(instance.zone) ?? 0) + 1);
    }
    const candidates = avoidStockouts
      ? mig.zones.filter((zone) => !this.faults.stockedOut(zone, mig.ref.type))
      : [...mig.zones];
    const pool = candidates.length > 0 ? candidates : [...mig.zones];
    let best = pool[0] ?? '';
    for (const zone of pool) if ((counts.get(zone) ?? 0) < (counts.get(best) ?? 0)) best = zone;
    return best;
  }

  private provision(instance: SimInstance): void {
    const life = instance.incarnation;
    const mig = instance.mig;
    const balanced = mig.shape === 'BALANCED';
    let zone = instance.zone !== '' ? instance.zone : this.pickZone(mig, balanced);
    // BALANCED moves a creation that lacks capacity to another zone; EVEN keeps retrying in its zone.
    if (balanced && this.faults.stockedOut(zone, mig.ref.type)) zone = this.pickZone(mig, true);
    instance.zone = zone;
    // A regional quota refuses the creation in every zone, so it is checked before the zone's capacity.
    const quotaExceeded = this.faults.quotaExceeded(mig.region, mig.ref.type);
    if (quotaExceeded || this.faults.stockedOut(zone, mig.ref.type)) {
      instance.status = undefined;
      instance.lastAttemptErrors = [
        quotaExceeded
          ? quotaExceededError(this.fleet, this.instancesByName.values(), mig.region, mig.ref.type)
          : {
              code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
              message: `The zone '${zone}' does not have enough resources available to fulfill the request. Try a different zone, or try again later.`,
            },
      ];
      this.events.schedule(this.current + this.timings.stockoutRetrySeconds * 1000, () => {
        if (instance.incarnation === life && this.alive(instance)) this.provision(instance);
      });
      return;
    }
    instance.status = 'PROVISIONING';
    instance.lastAttemptErrors = [];
    this.events.schedule(this.current + this.timings.bootSeconds * 1000, () => {
      if (instance.incarnation === life && this.alive(instance)) this.boot(instance);
    });
  }

  private alive(instance: SimInstance): boolean {
    return this.instancesByName.get(instance.name) === instance && instance.currentAction !== 'DELETING';
  }

  private boot(instance: SimInstance): void {
    const life = instance.incarnation;
    instance.status = 'RUNNING';
    instance.currentAction = 'VERIFYING';
    if (this.faults.bootloops(instance.template)) {
      this.events.schedule(this.current + this.timings.crashAfterSeconds * 1000, () => {
        if (instance.incarnation === life && this.alive(instance)) this.crash(instance);
      });
    } else if (this.faults.neverRegisters(instance.template)) {
      // The VM looks healthy to the MIG but no runner ever appears on GitHub.
      instance.currentAction = 'NONE';
    } else {
      this.events.schedule(this.current + this.timings.registerSeconds * 1000, () => {
        if (instance.incarnation === life && this.alive(instance)) this.register(instance);
      });
    }
  }

  /** A repair recreates the VM from the template it was created with: pending updates do not apply. */
  private crash(instance: SimInstance): void {
    instance.incarnation++;
    instance.recreations++;
    instance.mig.recreations++;
    instance.currentAction = 'RECREATING';
    instance.status = 'STOPPING';
    const life = instance.incarnation;
    this.events.schedule(this.current + this.timings.deleteSeconds * 1000, () => {
      if (instance.incarnation !== life || !this.alive(instance)) return;
      instance.id = this.newId();
      instance.createdAt = this.current;
      this.provision(instance);
    });
  }

  private register(instance: SimInstance): void {
    const template = this.templates.get(instance.template);
    const runnerVersion = template?.metadata.get(METADATA_KEYS.runnerVersion) ?? this.fleet.runner.version;
    const configRef = template?.metadata.get(METADATA_KEYS.configRef) ?? this.fleet.github.configRef;
    const runner: SimRunner = {
      id: this.nextRunnerId++,
      name: instance.name,
      instance,
      labels: runnerLabels(this.fleet, instance.mig.ref, {
        name: instance.name,
        zone: instance.zone,
        version: '',
        runnerVersion,
        configRef,
        cpuPlatform:
          findType(this.fleet, instance.mig.ref.type).arch === 'arm64' ? 'Ampere Altra' : 'Intel Cascade Lake',
      }),
      version: runnerVersion,
      template: instance.template,
      registeredAt: this.current,
      busy: false,
      job: undefined,
      offlineSince: undefined,
    };
    this.runners.set(runner.id, runner);
    instance.runner = runner;
    instance.currentAction = 'NONE';
    this.runnerAvailable(runner);
  }

  private removeRunner(runner: SimRunner): void {
    this.runners.delete(runner.id);
    runner.instance.mig.pool.idle.delete(runner);
    if (runner.instance.runner === runner) runner.instance.runner = undefined;
  }

  /** Starts deleting a VM: a running job dies with it, and its runner leaves GitHub at shutdown. */
  private beginDelete(instance: SimInstance, reason: string): void {
    if (instance.currentAction === 'DELETING') return;
    const runner = instance.runner;
    if (runner !== undefined) {
      const wasBusy = runner.job !== undefined;
      if (runner.job !== undefined) this.killJob(runner.job, runner, reason);
      if (this.behaviours.offlineRunners) this.stopWithVm(runner, wasBusy);
      else this.removeRunner(runner);
    }
    instance.incarnation++;
    instance.currentAction = 'DELETING';
    instance.status = 'STOPPING';
    const mig = instance.mig;
    this.events.schedule(this.current + this.timings.deleteSeconds * 1000, () => {
      if (this.instancesByName.get(instance.name) !== instance) return;
      mig.instances.delete(instance.name);
      this.instancesByName.delete(instance.name);
      this.scheduleReconcile(mig);
      this.scheduleAutoscale(mig);
    });
    this.scheduleReconcile(mig);
  }

  /**
   * The runner stays connected (online, taking no job) until its VM has stopped, then deregisters at shutdown
   * or is left behind offline.
   */
  private stopWithVm(runner: SimRunner, wasBusy: boolean): void {
    runner.instance.mig.pool.idle.delete(runner);
    this.events.schedule(this.current + this.timings.deleteSeconds * 1000, () => {
      if (this.runners.get(runner.id) !== runner) return;
      if (!this.presence.leftRegistered(wasBusy)) {
        this.removeRunner(runner);
        return;
      }
      runner.offlineSince = this.current;
      this.events.schedule(this.current + OFFLINE_EPHEMERAL_EXPIRY_MS, () => {
        if (this.runners.get(runner.id) === runner) this.removeRunner(runner);
      });
    });
  }

  // ---- internals: jobs -------------------------------------------------------------------------------------

  private applyRate(pool: JobPool): void {
    const rate = jobRateFor(this.jobRates, pool);
    pool.perHour = rate.perHour;
    pool.meanDurationMs = rate.meanDurationMinutes * 60_000;
    pool.arrivalChain++;
    if (pool.perHour > 0) this.scheduleArrival(pool, pool.arrivalChain);
  }

  private scheduleArrival(pool: JobPool, chain: number): void {
    const gap = this.jobRandom.exponential(HOUR_MS / pool.perHour);
    this.events.schedule(this.current + Math.max(1, Math.round(gap)), () => {
      if (pool.arrivalChain !== chain) return;
      this.arrive(pool, pool.meanDurationMs);
      this.scheduleArrival(pool, chain);
    });
  }

  private arrive(pool: JobPool, meanDurationMs: number, rerunOf?: SimJob): SimJob {
    const id = this.nextJobId++;
    const job: SimJob = {
      id,
      runId: rerunOf?.runId ?? id,
      attempt: rerunOf === undefined ? 1 : rerunOf.attempt + 1,
      pool: pool.key,
      queuedAt: this.current,
      meanDurationMs,
    };
    this.jobListener?.('queued', job);
    const candidates = [...pool.idle].filter((runner) => !this.isRunnerDeprecated(runner));
    const runner = candidates[this.jobRandom.int(candidates.length)];
    if (runner !== undefined) {
      this.startJob(job, runner);
    } else {
      this.dropExpiredJobs(pool);
      pool.queue.push(job);
      for (const mig of pool.migs) this.scheduleAutoscale(mig);
    }
    return job;
  }

  private dropExpiredJobs(pool: JobPool): void {
    const cutoff = this.current - this.timings.queueTimeoutSeconds * 1000;
    while (pool.queue.length > 0 && (pool.queue[0]?.queuedAt ?? Infinity) < cutoff) {
      const job = pool.queue.shift();
      if (job === undefined) break;
      job.conclusion = 'cancelled';
      job.completedAt = this.current;
      this.rememberJob(job);
      this.jobListener?.('completed', job);
    }
  }

  private runnerAvailable(runner: SimRunner): void {
    const pool = runner.instance.mig.pool;
    this.dropExpiredJobs(pool);
    const job = this.isRunnerDeprecated(runner) ? undefined : pool.queue.shift();
    if (job !== undefined) this.startJob(job, runner);
    else pool.idle.add(runner);
  }

  private startJob(job: SimJob, runner: SimRunner): void {
    runner.instance.mig.pool.idle.delete(runner);
    runner.busy = true;
    this.presence.busyChanged(runner, this.current);
    runner.job = job;
    job.startedAt = this.current;
    job.runnerId = runner.id;
    job.runnerName = runner.name;
    job.template = runner.template;
    job.mig = runner.instance.mig.name;
    this.jobListener?.('in_progress', job);
    // A VM that starts working raises the CPU a CPU autoscaler watches; the queue-driven one saw the job queue.
    if (scalesOnCpu(this.fleet, runner.instance.mig.ref, this.behaviours.cpuAutoscaler)) {
      this.scheduleAutoscale(runner.instance.mig);
    }
    const duration = job.meanDurationMs * (0.5 + this.jobRandom.next());
    this.events.schedule(this.current + Math.max(1000, Math.round(duration)), () => {
      if (job.conclusion === undefined) this.finishJob(job, runner);
    });
  }

  /** The ephemeral runner exits after its one job, leaves GitHub, and its VM asks the MIG to delete it. */
  private finishJob(job: SimJob, runner: SimRunner): void {
    const failureRate = this.faults.jobFailureRate(runner.template);
    job.conclusion = failureRate > 0 && this.outcomeRandom.next() < failureRate ? 'failure' : 'success';
    job.completedAt = this.current;
    this.rememberJob(job);
    this.jobListener?.('completed', job);
    if (job.conclusion === 'failure' && this.behaviours.reruns) this.maybeRerun(job);
    runner.busy = false;
    this.presence.busyChanged(runner, this.current);
    runner.job = undefined;
    this.removeRunner(runner);
    const instance = runner.instance;
    const life = instance.incarnation;
    this.events.schedule(this.current + this.timings.selfDeleteSeconds * 1000, () => {
      if (instance.incarnation === life && this.alive(instance)) {
        this.deleteInstances(instance.mig, [instance.name], true, 'self-delete');
      }
    });
  }

  private maybeRerun(job: SimJob): void {
    const delayMs = rerunDelayMs(this.rerunRandom);
    const pool = this.pools.get(job.pool);
    if (delayMs === undefined || pool === undefined) return;
    this.events.schedule(this.current + delayMs, () => this.arrive(pool, job.meanDurationMs, job));
  }

  private killJob(job: SimJob, runner: SimRunner, reason: string): void {
    job.conclusion = 'cancelled';
    job.killedBy = reason;
    job.completedAt = this.current;
    runner.busy = false;
    this.presence.busyChanged(runner, this.current);
    runner.job = undefined;
    this.rememberJob(job);
    this.killedJobs.push(job);
    this.jobListener?.('completed', job);
  }

  private rememberJob(job: SimJob): void {
    if (job.template !== undefined) {
      const counts = this.jobCounts(job.template);
      if (job.conclusion === 'success') counts.succeeded++;
      else if (job.conclusion === 'failure') counts.failed++;
      else counts.cancelled++;
    }
    this.recentJobs.push(job);
    if (this.recentJobs.length > RECENT_JOBS_KEPT) this.recentJobs.splice(0, this.recentJobs.length - RECENT_JOBS_KEPT);
  }
}

function metadataOf(properties: Readonly<Record<string, unknown>>): Map<string, string> {
  const metadata = new Map<string, string>();
  const items = (properties['metadata'] as { items?: unknown } | undefined)?.items;
  if (Array.isArray(items)) {
    for (const item of items as Array<{ key?: unknown; value?: unknown }>) {
      if (typeof item.key === 'string' && typeof item.value === 'string') metadata.set(item.key, item.value);
    }
  }
  return metadata;
}

/** The policy as GCP stores it (enum values upper-case); `anyCase` accepts them in any case (`lowerCaseEnums`). */
function checkUpdatePolicy(requested: UpdatePolicy, anyCase: boolean): UpdatePolicy {
  const policy = canonicalUpdatePolicy(requested, anyCase);
  if ('allowed' in policy) {
    throw new ModelError(
      'invalid',
      `Invalid value for field 'resource.updatePolicy.${policy.field}': '${policy.value}'. Must be one of ${policy.allowed.join(', ')}.`,
    );
  }
  if ((ACTION_RANK[policy.minimalAction] ?? 0) > (ACTION_RANK[policy.mostDisruptiveAllowedAction] ?? 0)) {
    throw new ModelError(
      'invalid',
      `Invalid value for field 'resource.updatePolicy.minimalAction': '${policy.minimalAction}'. It must not be more disruptive than mostDisruptiveAllowedAction (${policy.mostDisruptiveAllowedAction}).`,
    );
  }
  return policy;
}

/** Scale-in removes what loses least: VMs without a runner, then idle runners, then busy ones. */
function deletionPreference(instance: SimInstance): number {
  if (instance.runner === undefined) return instance.currentAction === 'NONE' ? 1 : 0;
  return instance.runner.busy ? 3 : 2;
}

function fingerprintOf(mig: SimMig): string {
  return createHash('sha256')
    .update(`${mig.name}/${mig.id}/${mig.generation}`)
    .digest()
    .subarray(0, 8)
    .toString('base64');
}
