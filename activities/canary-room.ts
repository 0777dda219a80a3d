/**
 * Room for a new template's first VMs in a MIG that has no free slot. Under the opportunistic policy a MIG puts a
 * VM on the new template only when it creates a VM at all, so a quiet MIG whose old VMs wait idle for jobs keeps
 * its canary (or the one VM a direct update is verified by) at zero for as long as no job arrives. An operator
 * makes room by hand (IREE's public remove_idle_runners.sh,
 * https://github.com/iree-org/iree/blob/main/build_tools/github_actions/runner/gcp/remove_idle_runners.sh);
 * here it is busy-safe: an idle old runner is deregistered first (GitHub refuses with 422 while it runs a job),
 * then the MIG replaces exactly that VM, recreating it on the version below its target. An opportunistic update
 * "will be performed as part of other actions (for example, resizes or recreateInstances calls)":
 * https://cloud.google.com/compute/docs/reference/rest/v1/instanceGroupManagers#InstanceGroupManagerUpdatePolicy
 * and applyUpdatesToInstances applies it to chosen VMs now:
 * https://cloud.google.com/compute/docs/instance-groups/updating-selected-instances-in-a-mig
 *
 * Where the MIG is autoscaled and the workflow has recorded the autoscaler's bounds to restore them later, room is
 * made without GitHub: a surge raises the autoscaler's minNumReplicas ("the minimum number of replicas that the
 * autoscaler can scale in to", https://cloud.google.com/compute/docs/reference/rest/v1/regionAutoscalers) past
 * the target size, so the MIG creates a VM, and a new VM takes the version furthest below its target: the
 * canary's, whose fixed size is not met (https://cloud.google.com/compute/docs/instance-groups/rolling-out-updates-to-managed-instance-groups,
 * canary updates).
 * Only an autoscaler that never scales in is surged: restoring its min then deletes no VM (autoscaling.ts).
 */
import { linkedAutoscaler, patchAutoscaling, surgeable } from './autoscaling.js';
import { FailureType } from './failures.js';
import { getMig, managedInstances, operationOf, toInstanceInfo, waitForOperation } from './mig-reads.js';
import { listRunnersByPrefix, migRunnerPrefix, removeRunner } from './runners.js';
import type { ActivityRuntime } from './runtime.js';
import type { MigLocator } from './contract.js';

/** What a retried attempt needs from the first: the VMs whose runners it already removed, idle for good. */
interface RoomProgress {
  readonly roomFor?: readonly string[];
}

export interface RoomOutcome {
  /** Old VMs replaced (their runners removed from GitHub first) to make room on the template. */
  readonly replaced: string[];
  /** VMs the template still lacks room for: every old runner left is busy, and its VM leaves after its job. */
  readonly waitingForBusy: number;
  /** The autoscaler min a surge set to make the room, when one did. */
  readonly surgedTo?: number;
  /**
   * Slots the autoscaler is about to add because its min stands above the target size (a VM that ran its job and
   * deleted itself took the target size down with it): GCP's autoscaler keeps the size at its min, so the new
   * template's VM is on its way.
   */
  readonly coming: number;
}

/**
 * Makes the MIG hold `wanted` VMs on `template` (fewer if its target size is smaller), counting the VMs already on
 * it and the free slots the MIG fills by itself. Old VMs whose runners are busy are never touched: the template
 * then gets its VM when one of their jobs ends.
 *
 * `remember` heartbeats the runners removed so far, so a retried attempt replaces those VMs instead of removing
 * more runners; an activity that heartbeats progress of its own (a wait) leaves it off. `surge` allows a surge
 * instead: only a caller whose workflow recorded the autoscaler's bounds, and restores them, passes it.
 */
export async function makeRoomFor(
  runtime: ActivityRuntime,
  mig: MigLocator,
  template: string,
  wanted: number,
  { remember, surge = false }: { readonly remember: boolean; readonly surge?: boolean },
): Promise<RoomOutcome> {
  const reads = runtime.retryingReads();
  const [igm, managed] = await Promise.all([getMig(reads, mig), managedInstances(reads, mig)]);
  const instanceUrl = new Map(managed.map((instance) => [instance.name ?? '', instance.instance ?? '']));
  const live = managed
    .map((instance) => toInstanceInfo(instance, undefined))
    .filter((instance) => instance.currentAction !== 'DELETING' && instance.currentAction !== 'ABANDONING');
  const targetSize = igm.targetSize ?? 0;
  const freeSlots = Math.max(0, targetSize - live.length);
  const onTemplate = live.filter((instance) => instance.instanceTemplate === template).length;
  const short = Math.min(wanted, targetSize) - onTemplate - freeSlots;
  if (short <= 0) return { replaced: [], waitingForBusy: 0, coming: 0 };
  // An autoscaler keeps the target size at its min or above: slots it is about to add (a surge's, also one made by
  // an earlier attempt, or for a canary VM that ran its job and deleted itself) are room on its way.
  const autoscaler = await linkedAutoscaler(reads, mig, igm);
  const coming =
    autoscaler === undefined || autoscaler.mode === 'OFF' ? 0 : Math.max(0, autoscaler.bounds.min - targetSize);
  const needed = short - coming;
  if (needed <= 0) return { replaced: [], waitingForBusy: 0, coming };
  // Within max: lowering a max later is not the restore a surge promises (the MIG would stand above it).
  if (surge && surgeable(autoscaler) && targetSize + needed <= autoscaler.bounds.max) {
    const surgedTo = targetSize + needed;
    await patchAutoscaling(runtime, mig, autoscaler.name, { min: surgedTo, max: autoscaler.bounds.max });
    runtime.log.info(`raised the autoscaler min of ${mig.name} to ${surgedTo} to make room on ${template}`, {
      mig: mig.name,
      from: autoscaler.bounds.min,
      to: surgedTo,
    });
    return { replaced: [], waitingForBusy: 0, surgedTo, coming };
  }

  // Replaceable: settled VMs of another template (one whose template GCP does not report yet is left alone).
  const replaceable = new Set(
    live
      .filter(
        (instance) =>
          instance.instanceTemplate !== '' &&
          instance.instanceTemplate !== template &&
          instance.currentAction === 'NONE',
      )
      .map((instance) => instance.name),
  );
  const resumed = remember ? (runtime.previousHeartbeat<RoomProgress>()?.roomFor ?? []) : [];
  const chosen = resumed.filter((name) => replaceable.has(name)).slice(0, needed);
  if (chosen.length < needed) {
    // The shared snapshot, not a fresh org-wide listing per MIG: a runner it calls idle that took a job since is
    // refused by GitHub's 422, which is the final word either way.
    const runners = await listRunnersByPrefix(reads, migRunnerPrefix(mig.name));
    const idle = runners
      .filter(
        (runner) => runner.online && !runner.busy && replaceable.has(runner.name) && !chosen.includes(runner.name),
      )
      .sort((a, b) => a.name.localeCompare(b.name));
    for (const runner of idle) {
      if (chosen.length >= needed) break;
      if ((await removeRunner(runtime, runner)) === 'busy') continue;
      chosen.push(runner.name);
      if (remember) runtime.heartbeat({ roomFor: chosen } satisfies RoomProgress);
    }
  }
  const waitingForBusy = needed - chosen.length;
  if (chosen.length === 0) {
    runtime.log.info(`no idle old runner in ${mig.name} to make room on ${template}; it waits for a job to end`, {
      mig: mig.name,
    });
    return { replaced: [], waitingForBusy, coming };
  }

  // The call takes no requestId; a retry after a lost answer reads again first and finds these VMs already being
  // replaced (no longer settled), so it never replaces a second batch for the same shortfall.
  const what = `replace ${chosen.length} idle VMs of ${mig.name} in ${mig.region} to make room on ${template}`;
  const result = await runtime.call(
    what,
    () =>
      runtime.deps.compute.migs.applyUpdatesToInstances({
        project: runtime.project,
        region: mig.region,
        instanceGroupManager: mig.name,
        regionInstanceGroupManagersApplyUpdatesRequestResource: {
          instances: chosen.map((name) => instanceUrl.get(name) ?? name),
          minimalAction: 'REPLACE',
          mostDisruptiveAllowedAction: 'REPLACE',
        },
      }),
    FailureType.MIG_NOT_FOUND,
  );
  await waitForOperation(runtime, { region: mig.region }, operationOf(result), what);
  runtime.log.info(what, { mig: mig.name, replaced: chosen, template });
  return { replaced: chosen, waitingForBusy, coming };
}
