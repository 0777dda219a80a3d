import { createHash } from 'node:crypto';

import type { BehaviourOverrides, Behaviours } from './behaviours.js';
import type { SimClock } from './clock.js';
import { ModelError } from './errors.js';
import { seedFleet, seedReleases } from './fleet-seed.js';
import { FleetStore } from './fleet-store.js';
import { metadataOf } from './fleet-templates.js';
import type {
  AutoscalerPatch,
  MigPatch,
  SimInstance,
  SimJob,
  SimMig,
  SimOperation,
  SimTemplate,
} from './fleet-types.js';
import { chooseForeignProactive } from './foreign-migs.js';
import { InstanceLifecycle } from './instance-lifecycle.js';
import { JobScheduler } from './job-scheduler.js';
import { checkUpdatePolicy, checkVersions } from './mig-patch-checks.js';
import { MigReconciler } from './mig-reconciler.js';
import { fingerprintOf, outdatedInstances } from './mig-status.js';
import type { JobRateRule, ModelOptions } from './options.js';
import { Random } from './random.js';
import { restoreWorld } from './snapshot-restore.js';
import { encodeWorld, type WorldRecord } from './snapshot-world.js';

/**
 * The in-memory runner fleet: the store of templates, MIGs, instances, GitHub runners, jobs and operations, and its
 * mutation API. Every mutation goes through here; the API layers only translate wire formats. Time-ordered events
 * advance the fleet through the parts wired together here: the instance lifecycle, the MIG reconciler and the job
 * scheduler.
 */
export class FleetModel extends FleetStore {
  /** The MIGs another tool switched to PROACTIVE, whenever `foreignProactiveMigs` is on. */
  private readonly foreignProactive: ReadonlySet<SimMig>;
  private readonly lifecycle: InstanceLifecycle;
  private readonly reconciler: MigReconciler;
  private readonly jobs: JobScheduler;

  /**
   * A new world from the fleet definition, or, given a snapshot's `world`, that world as it was (its job rates,
   * behaviours and seed come in `options`, which the caller takes from the snapshot).
   */
  constructor(clock: SimClock, options: ModelOptions, world?: WorldRecord) {
    super(clock, options);
    this.lifecycle = new InstanceLifecycle(this, {
      runnerAvailable: (runner) => this.jobs.runnerAvailable(runner),
      killJob: (job, runner, reason) => this.jobs.killJob(job, runner, reason),
      scheduleReconcile: (mig) => this.reconciler.scheduleReconcile(mig),
      scheduleAutoscale: (mig) => this.reconciler.scheduleAutoscale(mig),
    });
    this.reconciler = new MigReconciler(this, this.lifecycle);
    this.jobs = new JobScheduler(
      this,
      this.lifecycle,
      {
        scheduleAutoscale: (mig) => this.reconciler.scheduleAutoscale(mig),
        selfDelete: (instance) => this.deleteInstances(instance.mig, [instance.name], true, 'self-delete'),
      },
      options.jobRates,
    );
    this.handleEvents({ ...this.lifecycle.handlers, ...this.reconciler.handlers, ...this.jobs.handlers });
    if (world === undefined) {
      seedReleases(this, options.releases);
      seedFleet(this, options.initialVersion, {
        insertTemplate: (name, properties) => this.insertTemplate(name, properties),
        addRunningInstance: (mig) => this.lifecycle.addRunningInstance(mig),
      });
      this.jobs.startArrivals();
    } else {
      restoreWorld(this, world);
    }
    this.foreignProactive = chooseForeignProactive(
      [...this.migs.values()],
      new Random(options.seed, 'foreignProactive'),
    );
    // A restored world already shows the other tool's change (or its undoing by the operator).
    if (world === undefined && this.behaviours.foreignProactiveMigs) this.switchForeignMigs();
  }

  /** The whole world as plain data, for a snapshot. */
  world(): WorldRecord {
    this.catchUp();
    return encodeWorld(this, this.jobs.rates);
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
      createdAt: this.now(),
      description,
      properties,
      metadata: metadataOf(properties),
    };
    this.templates.set(name, template);
    return template;
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
    checkVersions(mig, versions, this.templates);
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

  /**
   * GCP refuses to resize an autoscaled MIG unless its autoscaler's mode is OFF, with 412 conditionNotMet and this
   * text (quoted in terraform-google-modules/terraform-google-vm#64 and e2b-dev/infra#770); the autoscaler owns the
   * target size (https://cloud.google.com/compute/docs/reference/rest/v1/regionAutoscalers, AutoscalingPolicy.mode).
   * deleteInstances stays allowed: it is how VMs leave an autoscaled group.
   */
  resizeMig(mig: SimMig, size: number): boolean {
    if (mig.autoscaler.mode !== 'OFF') {
      throw new ModelError(
        'conditionNotMet',
        'Resizing of autoscaled regional managed instance groups is not allowed. If you want to manually adjust target size remove the autoscaler or set autoscaling policy mode to OFF.',
      );
    }
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
      this.lifecycle.beginDelete(instance, reason);
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
    const named = new Set(names === 'all' ? [] : names);
    const outdated = outdatedInstances(mig, named);
    const chosen = names === 'all' ? outdated : outdated.filter((instance) => named.has(instance.name));
    for (const instance of chosen) this.lifecycle.beginDelete(instance, 'applyUpdatesToInstances');
    if (chosen.length > 0) this.reconciler.scheduleReconcile(mig);
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
    this.reconciler.scheduleAutoscale(mig, 0);
    return true;
  }

  // ---- GitHub ----------------------------------------------------------------------------------------------

  /** Removes a runner from GitHub; its VM keeps running (without a runner) until deleted through the MIG. */
  deleteRunner(id: number): 'deleted' | 'busy' | 'missing' {
    const runner = this.runners.get(id);
    if (runner === undefined) return 'missing';
    if (runner.busy) return 'busy';
    this.lifecycle.removeRunner(runner);
    return 'deleted';
  }

  // ---- jobs ------------------------------------------------------------------------------------------------

  get rates(): readonly JobRateRule[] {
    return this.jobs.rates;
  }

  setJobRates(rules: readonly JobRateRule[]): void {
    this.jobs.setJobRates(rules);
  }

  /** Queues jobs on a pool right now (they start at once on idle runners, else wait for the autoscaler). */
  submitJobs(poolKey: string, count: number, meanDurationMinutes?: number): SimJob[] {
    return this.jobs.submitJobs(poolKey, count, meanDurationMinutes);
  }

  /** Queued, running and recently finished jobs (the last 5,000), by id. */
  knownJobs(): SimJob[] {
    const jobs = new Map<number, SimJob>();
    for (const job of this.recentJobs) jobs.set(job.id, job);
    for (const runner of this.runners.values()) if (runner.job !== undefined) jobs.set(runner.job.id, runner.job);
    for (const pool of this.pools.values()) for (const job of pool.queue) jobs.set(job.id, job);
    return [...jobs.values()].sort((a, b) => a.id - b.id);
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
      name: `operation-${this.now()}-${createHash('sha256').update(id).digest('hex').slice(0, 13)}`,
      insertTime: this.now(),
    };
    this.operations.set(operation.name, operation);
    if (requestId !== undefined) this.operationsByRequestId.set(requestId, operation);
    return operation;
  }

  /** The MIG's configuration changed: a new fingerprint, and the reconciler looks at it again. */
  private touch(mig: SimMig): void {
    mig.generation++;
    mig.fingerprint = fingerprintOf(mig);
    this.reconciler.scheduleReconcile(mig);
  }
}
