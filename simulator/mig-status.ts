/**
 * What a MIG's state says about it, as its API resource and the control views report it: which instances are
 * live or outdated, whether it is stable and has reached its version target, and its fingerprint.
 */
import { createHash } from 'node:crypto';

import { ACTION_RANK, REPLACE_RANK } from './enums.js';
import type { SimInstance, SimMig } from './fleet-types.js';
import { assignVersions, versionTargets } from './versions.js';

export function liveInstances(mig: SimMig): SimInstance[] {
  return [...mig.instances.values()].filter((instance) => instance.currentAction !== 'DELETING');
}

/**
 * Instances on a template no version names, or beyond their version's target. Which instances of a version with
 * too many count as beyond it is a choice: the newest, unless `preferred` names some, which go first.
 */
export function outdatedInstances(mig: SimMig, preferred: ReadonlySet<string> = new Set()): SimInstance[] {
  const live = liveInstances(mig);
  const ordered = [
    ...live.filter((instance) => !preferred.has(instance.name)),
    ...live.filter((instance) => preferred.has(instance.name)),
  ];
  const assigned = assignVersions(mig.versions, versionTargets(mig.versions, mig.targetSize), ordered);
  return ordered.filter((_, index) => assigned[index] === -1);
}

export function isVersionTargetReached(mig: SimMig): boolean {
  const live = liveInstances(mig);
  if (live.length !== mig.targetSize) return false;
  const assigned = assignVersions(mig.versions, versionTargets(mig.versions, mig.targetSize), live);
  return assigned.every((index) => index >= 0);
}

/** No instance is changing, the group has its target size, and no proactive update is pending. */
export function isStable(mig: SimMig): boolean {
  for (const instance of mig.instances.values()) if (instance.currentAction !== 'NONE') return false;
  if (mig.instances.size !== mig.targetSize) return false;
  return !(replacesProactively(mig) && outdatedInstances(mig).length > 0);
}

/** Whether the MIG replaces outdated instances on its own rather than waiting for them to go. */
export function replacesProactively(mig: SimMig): boolean {
  const allowed = ACTION_RANK[mig.updatePolicy.mostDisruptiveAllowedAction] ?? REPLACE_RANK;
  return mig.updatePolicy.type === 'PROACTIVE' && allowed >= REPLACE_RANK;
}

/** Changes with every change to the MIG's configuration (its generation), as GCE's fingerprint does. */
export function fingerprintOf(mig: SimMig): string {
  return createHash('sha256')
    .update(`${mig.name}/${mig.id}/${mig.generation}`)
    .digest()
    .subarray(0, 8)
    .toString('base64');
}
