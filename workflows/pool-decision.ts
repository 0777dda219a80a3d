/**
 * What the pool controller does next with a `queue` pool, from its jobs and what its MIGs hold. Pure and
 * deterministic: the workflow passes the time in.
 *
 * desired = busy + queued + warm, clamped to the pool's bounds (busy: running jobs, or busy runners where more).
 * - Below it, the controller raises target sizes, spreading the new VMs over the pool's MIGs (regions), the
 *   smallest MIG first. Raises wait out the scale-out cool-down, so VMs that are still booting are not ordered
 *   twice.
 * - Above it, the controller names idle runners to remove, longest idle first, and never a lower target size:
 *   the busy-safe drain removes each from GitHub first (which GitHub refuses with 422 while it runs a job) and only
 *   then deletes its VM through the MIG, so a job is never killed. A VM whose runner is busy or not registered yet
 *   is never named. Removal waits out the scale-in cool-down after any change, so a burst that comes back finds
 *   its runners.
 */
import type { AutoscalingBounds } from '../runner-config/types.js';
import type { PoolJobCounts } from './pool-jobs.js';

/** A VM's runner: running a job, registered and idle (since when), or not registered (booting, or gone). */
export type ObservedRunner =
  { readonly state: 'busy' } | { readonly state: 'idle'; readonly idleSince: number } | { readonly state: 'none' };

export interface ObservedVm {
  readonly name: string;
  readonly runner: ObservedRunner;
}

export interface ObservedMig {
  readonly name: string;
  readonly targetSize: number;
  readonly vms: readonly ObservedVm[];
}

export interface PoolDecisionInput {
  readonly bounds: AutoscalingBounds;
  readonly warm: number;
  readonly jobs: Pick<PoolJobCounts, 'queued' | 'busy'>;
  readonly migs: readonly ObservedMig[];
  /** VMs whose removal was ordered and is under way: no longer counted, never named again. */
  readonly removing: readonly string[];
  /**
   * MIGs a rollout holds (its per-MIG worker runs): their VMs count, as they serve the pool's jobs, but the
   * controller neither raises them nor removes their runners, so the rollout stays their one writer.
   */
  readonly held?: readonly string[];
  /** Epoch milliseconds. */
  readonly now: number;
  readonly lastScaleOutAt?: number;
  readonly lastScaleInAt?: number;
  readonly scaleOutCooldownMs: number;
  readonly scaleInCooldownMs: number;
}

export type PoolAction =
  | { readonly kind: 'hold'; readonly reason: string }
  | { readonly kind: 'scale-out'; readonly targets: readonly { mig: string; from: number; to: number }[] }
  | { readonly kind: 'scale-in'; readonly remove: readonly { mig: string; vm: string }[] };

export interface PoolDecision {
  readonly desired: number;
  /** VMs the pool has or has ordered (target sizes), less those being removed. */
  readonly current: number;
  /** Busy runners: the larger of the running jobs and the busy runners the MIGs report. */
  readonly busy: number;
  readonly action: PoolAction;
}

export function decidePool(input: PoolDecisionInput): PoolDecision {
  const removing = new Set(input.removing);
  const held = new Set(input.held ?? []);
  const writable = input.migs.filter((mig) => !held.has(mig.name));
  const vms = input.migs.flatMap((mig) => mig.vms.map((vm) => ({ mig: mig.name, vm })));
  // A missed in_progress event must not make a busy runner look spare.
  const busyVms = vms.filter(({ vm }) => vm.runner.state === 'busy').length;
  const busy = Math.max(input.jobs.busy, busyVms);
  // A runner GitHub lists busy before its job's in_progress event arrives runs a job still counted as queued:
  // busy VMs beyond the running jobs are taken out of the queue, not added to it.
  const wanted = Math.max(input.jobs.busy + input.jobs.queued, busyVms) + input.warm;
  const desired = Math.min(input.bounds.max, Math.max(input.bounds.min, wanted));
  const beingRemoved = vms.filter(({ vm }) => removing.has(vm.name)).length;
  const current = input.migs.reduce((sum, mig) => sum + mig.targetSize, 0) - beingRemoved;
  const decision = (action: PoolAction): PoolDecision => ({ desired, current, busy, action });

  if (desired > current) {
    const since = input.now - (input.lastScaleOutAt ?? -Infinity);
    if (since < input.scaleOutCooldownMs)
      return decision(hold('scale-out cool-down', input.scaleOutCooldownMs - since));
    if (input.migs.length === 0) return decision({ kind: 'hold', reason: 'the pool has no MIGs' });
    if (writable.length === 0) return decision({ kind: 'hold', reason: 'every MIG of the pool is held by a rollout' });
    return decision({ kind: 'scale-out', targets: spread(writable, desired - current) });
  }
  if (desired < current) {
    const lastChange = Math.max(input.lastScaleOutAt ?? -Infinity, input.lastScaleInAt ?? -Infinity);
    const since = input.now - lastChange;
    if (since < input.scaleInCooldownMs) return decision(hold('scale-in cool-down', input.scaleInCooldownMs - since));
    const idle = vms
      .flatMap(({ mig, vm }) =>
        vm.runner.state === 'idle' && !removing.has(vm.name) && !held.has(mig)
          ? [{ mig, vm: vm.name, since: vm.runner.idleSince }]
          : [],
      )
      .sort((a, b) => a.since - b.since || a.vm.localeCompare(b.vm));
    if (idle.length === 0) {
      return decision({ kind: 'hold', reason: 'no idle runner to remove: the others are busy or not registered' });
    }
    return decision({ kind: 'scale-in', remove: idle.slice(0, current - desired).map(({ mig, vm }) => ({ mig, vm })) });
  }
  return decision({ kind: 'hold', reason: 'at the desired size' });
}

function hold(what: string, leftMs: number): PoolAction {
  return { kind: 'hold', reason: `${what}: ${Math.ceil(leftMs / 1000)} s left` };
}

/** `count` more VMs over the MIGs, each to the one with the smallest target size (the first listed on a tie). */
function spread(migs: readonly ObservedMig[], count: number): { mig: string; from: number; to: number }[] {
  const sizes = migs.map((mig) => ({ mig: mig.name, from: mig.targetSize, to: mig.targetSize }));
  for (let added = 0; added < count; added++) {
    const smallest = sizes.reduce((best, size) => (size.to < best.to ? size : best));
    smallest.to += 1;
  }
  return sizes.filter((size) => size.to > size.from);
}
