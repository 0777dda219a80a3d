/**
 * The MIG's own control loops: the autoscaler sets the target size from demand, and the reconciler brings the
 * instances to it, scaling in what loses least, replacing outdated instances within `maxUnavailable` when the
 * update is proactive, and creating missing instances on the version furthest below its target.
 */
import { cpuRecommendedSize, hasBusyVm, scalesOnCpu } from './cpu-autoscaler.js';
import type { FleetEventHandlers } from './fleet-events.js';
import type { FleetStore } from './fleet-store.js';
import type { SimInstance, SimMig } from './fleet-types.js';
import type { InstanceLifecycle } from './instance-lifecycle.js';
import { liveInstances, replacesProactively } from './mig-status.js';
import { Random } from './random.js';
import { assignVersions, versionForNewInstance, versionTargets } from './versions.js';

export class MigReconciler {
  private readonly cpuRandom: Random;

  /** What each of the MIG's control loops does when its time comes. */
  readonly handlers: FleetEventHandlers<'reconcile' | 'autoscale'> = {
    reconcile: ({ mig }) => {
      mig.reconcilePending = false;
      this.reconcile(mig);
    },
    autoscale: ({ mig }) => {
      mig.autoscalePending = false;
      this.autoscale(mig);
    },
  };

  constructor(
    private readonly store: FleetStore,
    private readonly lifecycle: InstanceLifecycle,
  ) {
    this.cpuRandom = new Random(store.seed, 'cpu');
  }

  scheduleReconcile(mig: SimMig): void {
    if (mig.reconcilePending) return;
    mig.reconcilePending = true;
    this.store.schedule(this.store.now(), { kind: 'reconcile', mig });
  }

  scheduleAutoscale(mig: SimMig, delaySeconds = this.store.timings.autoscalerDelaySeconds): void {
    if (mig.autoscalePending) return;
    mig.autoscalePending = true;
    this.store.schedule(this.store.now() + delaySeconds * 1000, { kind: 'autoscale', mig });
  }

  /**
   * The autoscaler: on CPU (cpu-autoscaler.ts), or with the queue as its signal, demand is the MIG's busy runners
   * plus its share of the pool's queue; within min..max either way.
   */
  private autoscale(mig: SimMig): void {
    const autoscaler = mig.autoscaler;
    if (scalesOnCpu(this.store.fleet, mig.ref, this.store.behaviours.cpuAutoscaler)) {
      autoscaler.recommendedSize = cpuRecommendedSize(mig, this.store.now(), this.cpuRandom);
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
    let live = liveInstances(mig);
    if (live.length > mig.targetSize) {
      const surplus = [...live].sort(
        (a, b) => deletionPreference(a) - deletionPreference(b) || b.createdAt - a.createdAt,
      );
      for (const instance of surplus.slice(0, live.length - mig.targetSize))
        this.lifecycle.beginDelete(instance, 'scale-in');
      live = liveInstances(mig);
    }
    const targets = versionTargets(mig.versions, mig.targetSize);
    if (replacesProactively(mig)) {
      const assigned = assignVersions(mig.versions, targets, live);
      let budget = this.maxUnavailable(mig) - live.filter((instance) => instance.currentAction !== 'NONE').length;
      const outdated = live.filter((_, index) => assigned[index] === -1).sort((a, b) => a.createdAt - b.createdAt);
      for (const instance of outdated) {
        if (budget <= 0) break;
        this.lifecycle.beginDelete(instance, 'proactive-replace');
        budget--;
      }
      live = liveInstances(mig);
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
        this.lifecycle.provision(this.lifecycle.newInstance(mig, version));
      }
    }
  }

  private maxUnavailable(mig: SimMig): number {
    const { fixed, percent } = mig.updatePolicy.maxUnavailable;
    if (fixed !== undefined) return Math.max(1, fixed);
    if (percent !== undefined) return Math.max(1, Math.floor((percent * mig.targetSize) / 100));
    return Math.max(1, mig.zones.length);
  }
}

/** Scale-in removes what loses least: VMs without a runner, then idle runners, then busy ones. */
function deletionPreference(instance: SimInstance): number {
  if (instance.runner === undefined) return instance.currentAction === 'NONE' ? 1 : 0;
  return instance.runner.busy ? 3 : 2;
}
