/**
 * Pure MIG version arithmetic: how many instances each version should have, and which instances count
 * toward which version. GCE semantics: exactly one version leaves targetSize unset and takes the rest;
 * `fixed` is capped at the group size; `percent` rounds up.
 */

export interface VersionSpec {
  readonly name: string;
  /** Template name. */
  readonly template: string;
  readonly targetSize?: { readonly fixed?: number; readonly percent?: number };
}

export interface VersionedInstance {
  readonly template: string;
  readonly versionName: string;
}

export function versionTargets(versions: readonly VersionSpec[], targetSize: number): number[] {
  const sizes = versions.map((version) => {
    const target = version.targetSize;
    if (target === undefined) return undefined;
    if (target.fixed !== undefined) return Math.min(target.fixed, targetSize);
    if (target.percent !== undefined) return Math.min(Math.ceil((target.percent * targetSize) / 100), targetSize);
    return undefined;
  });
  let remaining = targetSize;
  for (const size of sizes) if (size !== undefined) remaining = Math.max(0, remaining - size);
  return sizes.map((size) => size ?? remaining);
}

/**
 * Assigns each instance to the version it counts toward (index into `versions`), or -1 when it is outdated:
 * on a template no version names, or in excess of its version's target. Instances keep the version they were
 * created under when it still names their template; earlier instances win, so the newest are the excess.
 */
export function assignVersions(
  versions: readonly VersionSpec[],
  targets: readonly number[],
  instances: readonly VersionedInstance[],
): number[] {
  const room = [...targets];
  const assigned = instances.map(() => -1);
  const take = (index: number, predicate: (version: VersionSpec) => boolean): void => {
    const instance = instances[index];
    if (instance === undefined) return;
    const found = versions.findIndex(
      (version, v) => (room[v] ?? 0) > 0 && version.template === instance.template && predicate(version),
    );
    if (found < 0) return;
    assigned[index] = found;
    room[found] = (room[found] ?? 0) - 1;
  };
  instances.forEach((instance, index) => take(index, (version) => version.name === instance.versionName));
  instances.forEach((_, index) => {
    if (assigned[index] === -1) take(index, () => true);
  });
  return assigned;
}

/** Index of the version a newly created instance should get: the one furthest below its target. */
export function versionForNewInstance(targets: readonly number[], counts: readonly number[]): number {
  let best = -1;
  let bestDeficit = 0;
  targets.forEach((target, index) => {
    const deficit = target - (counts[index] ?? 0);
    if (deficit > bestDeficit) {
      best = index;
      bestDeficit = deficit;
    }
  });
  return best;
}
