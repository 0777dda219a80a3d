/**
 * The MIG patches the model refuses, with GCE's field-level messages: versions that cannot coexist or name no
 * template, and update policies with an unknown value or a minimal action above the most disruptive one allowed.
 */
import { ACTION_RANK, canonicalUpdatePolicy } from './enums.js';
import { ModelError } from './errors.js';
import type { SimMig, SimTemplate, UpdatePolicy } from './fleet-types.js';
import type { VersionSpec } from './versions.js';

export function checkVersions(
  mig: SimMig,
  versions: readonly VersionSpec[],
  templates: ReadonlyMap<string, SimTemplate>,
): void {
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
    if (!templates.has(version.template)) {
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

/** The policy as GCP stores it (enum values upper-case); `anyCase` accepts them in any case (`lowerCaseEnums`). */
export function checkUpdatePolicy(requested: UpdatePolicy, anyCase: boolean): UpdatePolicy {
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
