/**
 * The life of a managed instance: creation in a zone with capacity, boot, runner registration (or a boot loop the
 * MIG repairs by recreating the VM, or a runner that never appears), and deletion, during which a running job dies
 * and the runner deregisters at shutdown or is left behind offline. Each step is an event on the store's queue; an
 * instance's `incarnation` tells events of an earlier life of the VM to do nothing.
 */
import { findType, METADATA_KEYS, runnerLabels } from '../runner-config/index.js';
import type { FleetEventHandlers } from './fleet-events.js';
import type { FleetStore } from './fleet-store.js';
import type { SimInstance, SimJob, SimMig, SimRunner } from './fleet-types.js';
import { quotaExceededError } from './quota.js';
import { Random } from './random.js';
import { OFFLINE_EPHEMERAL_EXPIRY_MS } from './runner-presence.js';

const HOUR_MS = 3600 * 1000;

/** What the lifecycle tells the parts above it: the job scheduler and the MIG's controller. */
export interface LifecycleListener {
  /** A runner registered and can take a job. */
  runnerAvailable(runner: SimRunner): void;
  /** The VM under a running job is being deleted. */
  killJob(job: SimJob, runner: SimRunner, reason: string): void;
  /** The MIG's instances changed: it should compare them with its target again. */
  scheduleReconcile(mig: SimMig): void;
  /** An instance is gone: the MIG's autoscaler should look again. */
  scheduleAutoscale(mig: SimMig): void;
}

export class InstanceLifecycle {
  /** Instance names, and the ages of the instances already running at the start. */
  private readonly idRandom: Random;

  constructor(
    private readonly store: FleetStore,
    private readonly listener: LifecycleListener,
  ) {
    this.idRandom = new Random(store.seed, 'ids');
  }

  /** What each of the lifecycle's events does when its time comes. */
  readonly handlers: FleetEventHandlers<
    | 'retryProvision'
    | 'boot'
    | 'crash'
    | 'register'
    | 'recreate'
    | 'crashRegistered'
    | 'instanceGone'
    | 'runnerStopped'
    | 'expireRunner'
  > = {
    retryProvision: ({ instance, life }) => {
      if (this.current(instance, life)) this.provision(instance);
    },
    boot: ({ instance, life }) => {
      if (this.current(instance, life)) this.boot(instance);
    },
    crash: ({ instance, life }) => {
      if (this.current(instance, life)) this.crash(instance);
    },
    register: ({ instance, life }) => {
      if (this.current(instance, life)) this.register(instance);
    },
    recreate: ({ instance, life }) => {
      if (!this.current(instance, life)) return;
      instance.id = this.store.newId();
      instance.createdAt = this.store.now();
      this.provision(instance);
    },
    crashRegistered: ({ instance, runner, life }) => {
      if (this.current(instance, life) && instance.runner === runner) this.crashRegistered(instance, runner);
    },
    instanceGone: ({ instance }) => {
      if (this.store.instancesByName.get(instance.name) !== instance) return;
      const mig = instance.mig;
      mig.instances.delete(instance.name);
      this.store.instancesByName.delete(instance.name);
      this.listener.scheduleReconcile(mig);
      this.listener.scheduleAutoscale(mig);
    },
    runnerStopped: ({ runner, wasBusy }) => {
      if (this.store.runners.get(runner.id) !== runner) return;
      if (!this.store.presence.leftRegistered(wasBusy)) {
        this.removeRunner(runner);
        return;
      }
      this.leaveOffline(runner);
    },
    expireRunner: ({ runner }) => {
      if (this.store.runners.get(runner.id) === runner) this.removeRunner(runner);
    },
  };

  newInstance(mig: SimMig, versionIndex: number): SimInstance {
    const version = mig.versions[versionIndex] ?? mig.versions[0];
    if (version === undefined) throw new Error(`MIG ${mig.name} has no versions`);
    let name = `${mig.name}-${this.idRandom.chars(4)}`;
    while (this.store.instancesByName.has(name)) name = `${mig.name}-${this.idRandom.chars(4)}`;
    const instance: SimInstance = {
      name,
      mig,
      zone: '',
      id: this.store.newId(),
      template: version.template,
      versionName: version.name,
      status: undefined,
      currentAction: 'CREATING',
      createdAt: this.store.now(),
      incarnation: 0,
      runner: undefined,
      lastAttemptErrors: [],
      recreations: 0,
    };
    mig.instances.set(name, instance);
    this.store.instancesByName.set(name, instance);
    return instance;
  }

  /** An instance of the initial fleet: up for up to six hours already, its runner registered. */
  addRunningInstance(mig: SimMig): void {
    const instance = this.newInstance(mig, 0);
    instance.createdAt = this.store.now() - Math.floor(this.idRandom.next() * 6 * HOUR_MS);
    instance.zone = this.pickZone(mig, false);
    instance.status = 'RUNNING';
    this.register(instance);
  }

  /** EVEN: the zone with the fewest instances. BALANCED: the same, among zones with capacity. */
  private pickZone(mig: SimMig, avoidStockouts: boolean): string {
    const counts = new Map(mig.zones.map((zone) => [zone, 0]));
    for (const instance of mig.instances.values()) {
      if (instance.zone !== '') counts.set(instance.zone, (counts.get(instance.zone) ?? 0) + 1);
    }
    const candidates = avoidStockouts
      ? mig.zones.filter((zone) => !this.store.faults.stockedOut(zone, mig.ref.type))
      : [...mig.zones];
    const pool = candidates.length > 0 ? candidates : [...mig.zones];
    let best = pool[0] ?? '';
    for (const zone of pool) if ((counts.get(zone) ?? 0) < (counts.get(best) ?? 0)) best = zone;
    return best;
  }

  provision(instance: SimInstance): void {
    const life = instance.incarnation;
    const mig = instance.mig;
    const balanced = mig.shape === 'BALANCED';
    let zone = instance.zone !== '' ? instance.zone : this.pickZone(mig, balanced);
    // BALANCED moves a creation that lacks capacity to another zone; EVEN keeps retrying in its zone.
    if (balanced && this.store.faults.stockedOut(zone, mig.ref.type)) zone = this.pickZone(mig, true);
    instance.zone = zone;
    // A regional quota refuses the creation in every zone, so it is checked before the zone's capacity.
    const quotaExceeded = this.store.faults.quotaExceeded(mig.region, mig.ref.type);
    if (quotaExceeded || this.store.faults.stockedOut(zone, mig.ref.type)) {
      instance.status = undefined;
      instance.lastAttemptErrors = [
        quotaExceeded
          ? quotaExceededError(this.store.fleet, this.store.instancesByName.values(), mig.region, mig.ref.type)
          : {
              code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
              message: `The zone '${zone}' does not have enough resources available to fulfill the request. Try a different zone, or try again later.`,
            },
      ];
      this.store.schedule(this.store.now() + this.store.timings.stockoutRetrySeconds * 1000, {
        kind: 'retryProvision',
        instance,
        life,
      });
      return;
    }
    instance.status = 'PROVISIONING';
    instance.lastAttemptErrors = [];
    this.store.schedule(this.store.now() + this.store.timings.bootSeconds * 1000, { kind: 'boot', instance, life });
  }

  alive(instance: SimInstance): boolean {
    return this.store.instancesByName.get(instance.name) === instance && instance.currentAction !== 'DELETING';
  }

  /** Whether an event of the instance's life `life` still applies: it was neither recreated nor deleted since. */
  current(instance: SimInstance, life: number): boolean {
    return instance.incarnation === life && this.alive(instance);
  }

  private boot(instance: SimInstance): void {
    const life = instance.incarnation;
    instance.status = 'RUNNING';
    instance.currentAction = 'VERIFYING';
    if (this.store.faults.bootloops(instance.template)) {
      this.store.schedule(this.store.now() + this.store.timings.crashAfterSeconds * 1000, {
        kind: 'crash',
        instance,
        life,
      });
    } else if (this.store.faults.neverRegisters(instance.template)) {
      // The VM looks healthy to the MIG but no runner ever appears on GitHub.
      instance.currentAction = 'NONE';
    } else {
      this.store.schedule(this.store.now() + this.store.timings.registerSeconds * 1000, {
        kind: 'register',
        instance,
        life,
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
    this.store.schedule(this.store.now() + this.store.timings.deleteSeconds * 1000, {
      kind: 'recreate',
      instance,
      life,
    });
  }

  private register(instance: SimInstance): void {
    const template = this.store.templates.get(instance.template);
    const runnerVersion = template?.metadata.get(METADATA_KEYS.runnerVersion) ?? this.store.fleet.runner.version;
    const configRef = template?.metadata.get(METADATA_KEYS.configRef) ?? this.store.fleet.github.configRef;
    const runner: SimRunner = {
      id: this.store.newRunnerId(),
      name: instance.name,
      instance,
      labels: runnerLabels(this.store.fleet, instance.mig.ref, {
        name: instance.name,
        zone: instance.zone,
        version: '',
        runnerVersion,
        configRef,
        cpuPlatform:
          findType(this.store.fleet, instance.mig.ref.type).arch === 'arm64' ? 'Ampere Altra' : 'Intel Cascade Lake',
      }),
      version: runnerVersion,
      template: instance.template,
      registeredAt: this.store.now(),
      busy: false,
      job: undefined,
      offlineSince: undefined,
    };
    // The VM registers with `--replace` (config.sh), so a registration its earlier life left behind is replaced.
    for (const earlier of [...this.store.runners.values()]) {
      if (earlier.name === runner.name) this.removeRunner(earlier);
    }
    this.store.runners.set(runner.id, runner);
    instance.runner = runner;
    instance.currentAction = 'NONE';
    this.listener.runnerAvailable(runner);
    if (this.store.faults.crashesAfterRegistering(instance.template)) {
      const life = instance.incarnation;
      this.store.schedule(this.store.now() + this.store.timings.crashAfterSeconds * 1000, {
        kind: 'crashRegistered',
        instance,
        runner,
        life,
      });
    }
  }

  /**
   * A VM that dies under its runner cannot deregister it: GitHub keeps the registration, offline, until it expires
   * or a new registration of the same name replaces it. A job it ran dies with it.
   */
  private crashRegistered(instance: SimInstance, runner: SimRunner): void {
    if (runner.job !== undefined) this.listener.killJob(runner.job, runner, 'crash');
    instance.mig.pool.idle.delete(runner);
    instance.runner = undefined;
    if (this.store.behaviours.offlineRunners) {
      this.leaveOffline(runner);
    } else {
      this.removeRunner(runner);
    }
    this.crash(instance);
  }

  removeRunner(runner: SimRunner): void {
    this.store.runners.delete(runner.id);
    runner.instance.mig.pool.idle.delete(runner);
    if (runner.instance.runner === runner) runner.instance.runner = undefined;
  }

  /** Starts deleting a VM: a running job dies with it, and its runner leaves GitHub at shutdown. */
  beginDelete(instance: SimInstance, reason: string): void {
    if (instance.currentAction === 'DELETING') return;
    const runner = instance.runner;
    if (runner !== undefined) {
      const wasBusy = runner.job !== undefined;
      if (runner.job !== undefined) this.listener.killJob(runner.job, runner, reason);
      if (this.store.behaviours.offlineRunners) this.stopWithVm(runner, wasBusy);
      else this.removeRunner(runner);
    }
    instance.incarnation++;
    instance.currentAction = 'DELETING';
    instance.status = 'STOPPING';
    this.store.schedule(this.store.now() + this.store.timings.deleteSeconds * 1000, { kind: 'instanceGone', instance });
    this.listener.scheduleReconcile(instance.mig);
  }

  /**
   * The runner stays connected (online, taking no job) until its VM has stopped, then deregisters at shutdown
   * or is left behind offline.
   */
  private stopWithVm(runner: SimRunner, wasBusy: boolean): void {
    runner.instance.mig.pool.idle.delete(runner);
    this.store.schedule(this.store.now() + this.store.timings.deleteSeconds * 1000, {
      kind: 'runnerStopped',
      runner,
      wasBusy,
    });
  }

  /** GitHub lists the runner offline until it expires the registration. */
  private leaveOffline(runner: SimRunner): void {
    runner.offlineSince = this.store.now();
    this.store.schedule(this.store.now() + OFFLINE_EPHEMERAL_EXPIRY_MS, { kind: 'expireRunner', runner });
  }
}
