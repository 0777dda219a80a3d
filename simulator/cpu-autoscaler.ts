import type { FleetDefinition, MigRef } from '../runner-config/types.js';
import type { SimInstance, SimMig } from './fleet-types.js';
import type { Random } from './random.js';

/**
 * `cpuAutoscaler`: the fleet's autoscalers scale on CPU utilisation (target 0.6, ONLY_SCALE_OUT), and GitHub's job
 * queue is nothing they can see. The autoscaler recommends as many VMs as it takes to bring the group's average
 * utilisation to the target, so the size is the summed utilisation over the target
 * (https://cloud.google.com/compute/docs/autoscaler/scaling-cpu), and it ignores VMs still in their
 * initialization period (`coolDownPeriodSec`, 60 s by default) because their load is not yet representative
 * (https://cloud.google.com/compute/docs/autoscaler#cool_down_period).
 * A runner's VM is busy only while it runs a job: queued jobs alone never scale a group out, and a group at zero
 * VMs stays there.
 */
const BUSY_UTILISATION = 0.9;
const IDLE_UTILISATION = 0.05;
/** Load varies from sample to sample; the jitter keeps runs seeded but sizes not perfectly round. */
const JITTER = 0.05;

/** Whether this MIG's autoscaler follows CPU, not the queue: the behaviour is on and the fleet says so. */
export function scalesOnCpu(fleet: FleetDefinition, ref: MigRef, behaviourOn: boolean): boolean {
  return behaviourOn && fleet.environments[ref.environment].autoscaler.signal === 'cpu';
}

/** The autoscaler's recommendation from the CPU of VMs past their initialization period, within min..max. */
export function cpuRecommendedSize(mig: SimMig, now: number, random: Random): number {
  const autoscaler = mig.autoscaler;
  const initialised = (instance: SimInstance): boolean =>
    instance.status === 'RUNNING' &&
    instance.currentAction !== 'DELETING' &&
    now - instance.createdAt >= autoscaler.coolDownPeriodSec * 1000;
  let utilisation = 0;
  for (const instance of mig.instances.values()) {
    if (!initialised(instance)) continue;
    const base = instance.runner?.busy === true ? BUSY_UTILISATION : IDLE_UTILISATION;
    utilisation += Math.min(1, Math.max(0, base + (random.next() * 2 - 1) * JITTER));
  }
  const wanted = Math.ceil(utilisation / autoscaler.cpuUtilizationTarget);
  return Math.min(autoscaler.max, Math.max(autoscaler.min, wanted));
}

/** While a VM is busy its CPU keeps the autoscaler deciding, as GCP's does continuously. */
export function hasBusyVm(mig: SimMig): boolean {
  for (const instance of mig.instances.values()) if (instance.runner?.busy === true) return true;
  return false;
}
