import type { SimMig } from './fleet-types.js';
import type { Random } from './random.js';

/**
 * `foreignProactiveMigs`: some of the fleet's MIGs were switched to a PROACTIVE update policy by another tool (a
 * console edit, a Terraform apply, an older script) before the rollout engine saw them. A PROACTIVE MIG replaces
 * every outdated VM on its own, busy or not, as soon as its versions change, where an OPPORTUNISTIC one waits for
 * the VM to go (https://cloud.google.com/compute/docs/instance-groups/updating-migs#type): an engine that sets a
 * canary version without also setting the policy type kills running jobs there.
 */
const SHARE = 0.1;

/**
 * About one MIG in ten, drawn from a stream of its own so the choice does not depend on when the behaviour is
 * switched on; at least one prod MIG that holds VMs, where a PROACTIVE policy has jobs to kill.
 */
export function chooseForeignProactive(migs: readonly SimMig[], random: Random): ReadonlySet<SimMig> {
  const chosen = new Set(migs.filter(() => random.next() < SHARE));
  const candidates = migs.filter((mig) => mig.ref.environment === 'prod' && mig.autoscaler.max > 0);
  if (!candidates.some((mig) => chosen.has(mig))) {
    const pick = candidates[random.int(candidates.length)];
    if (pick !== undefined) chosen.add(pick);
  }
  return chosen;
}
