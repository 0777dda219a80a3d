/**
 * The four MIG version changes of a rollout as pure plans over the MIG's current versions. Each keeps the
 * preconditions of IREE's public update_instance_groups.py
 * (https://github.com/iree-org/iree/blob/41dcee93c7157955d94973addf6770cecf926849/build_tools/github_actions/runner/gcp/update_instance_groups.py),
 * and recognises the state it would produce, so a retry after a crash reports "already applied" instead of
 * failing or patching twice.
 */
import { BASE_VERSION_NAME, CANARY_VERSION_NAME } from '../runner-config/naming.js';
import { FailureType, permanentFailure } from './failures.js';
import { describeVersions } from './mig-reads.js';
import type { MigLocator, MigVersion } from './contract.js';

export interface MigVersions extends MigLocator {
  readonly versions: readonly MigVersion[];
  readonly distributionShape: string;
}

export type UpdatePlan =
  { readonly kind: 'apply'; readonly versions: MigVersion[] } | { readonly kind: 'already-applied' };

/** Distribution shapes that GCP refuses to combine with a second version (a100 groups run BALANCED). */
const SINGLE_VERSION_SHAPES = new Set(['BALANCED', 'ANY', 'ANY_SINGLE_ZONE']);

function preconditionFailed(state: MigVersions, action: string, reason: string): Error {
  return permanentFailure(
    FailureType.PRECONDITION_FAILED,
    `cannot ${action} MIG ${state.name} in ${state.region}: ${reason} (current versions: ${describeVersions(state.versions)})`,
    { mig: { region: state.region, name: state.name }, versions: state.versions },
  );
}

function single(state: MigVersions, name: string): MigVersion | undefined {
  return state.versions.length === 1 && state.versions[0]?.name === name ? state.versions[0] : undefined;
}

export function planCanary(state: MigVersions, template: string, canarySize: number): UpdatePlan {
  if (!Number.isInteger(canarySize) || canarySize < 1) {
    throw permanentFailure(FailureType.INVALID_REQUEST, `canary size must be a positive integer, got ${canarySize}`);
  }
  const [base, canary] = state.versions;
  if (
    state.versions.length === 2 &&
    base?.name === BASE_VERSION_NAME &&
    canary?.name === CANARY_VERSION_NAME &&
    canary.instanceTemplate === template &&
    canary.targetSize?.fixed === canarySize
  ) {
    return { kind: 'already-applied' };
  }
  if (state.versions.length === 0) throw preconditionFailed(state, 'canary', 'it has no versions');
  if (state.versions.length > 1) {
    throw preconditionFailed(state, 'canary', 'it already has more than one version; promote or roll back first');
  }
  const current = single(state, BASE_VERSION_NAME);
  if (current === undefined)
    throw preconditionFailed(state, 'canary', `its only version is not named "${BASE_VERSION_NAME}"`);
  if (current.instanceTemplate === template) {
    throw preconditionFailed(state, 'canary', `its base version already runs ${template}`);
  }
  if (SINGLE_VERSION_SHAPES.has(state.distributionShape)) {
    throw permanentFailure(
      FailureType.UNSUPPORTED_SHAPE,
      `cannot canary MIG ${state.name} in ${state.region}: its distribution shape ${state.distributionShape} does not allow two versions; update it directly (one region first)`,
      {
        mig: { region: state.region, name: state.name },
        distributionShape: state.distributionShape,
        versions: state.versions,
      },
    );
  }
  return {
    kind: 'apply',
    versions: [
      { name: BASE_VERSION_NAME, instanceTemplate: current.instanceTemplate },
      { name: CANARY_VERSION_NAME, instanceTemplate: template, targetSize: { fixed: canarySize } },
    ],
  };
}

/** `expectedTemplate` (the canary's template) lets a retry recognise a promotion that already happened. */
export function planPromote(state: MigVersions, expectedTemplate?: string): UpdatePlan {
  const promoted = single(state, BASE_VERSION_NAME);
  if (expectedTemplate !== undefined && promoted?.instanceTemplate === expectedTemplate)
    return { kind: 'already-applied' };
  if (state.versions.length === 0) throw preconditionFailed(state, 'promote the canary of', 'it has no versions');
  const canary = state.versions.find((version) => version.name === CANARY_VERSION_NAME);
  if (canary === undefined)
    throw preconditionFailed(state, 'promote the canary of', `it has no version named "${CANARY_VERSION_NAME}"`);
  if (expectedTemplate !== undefined && canary.instanceTemplate !== expectedTemplate) {
    throw preconditionFailed(
      state,
      'promote the canary of',
      `its canary runs ${canary.instanceTemplate}, not ${expectedTemplate}`,
    );
  }
  return { kind: 'apply', versions: [{ name: BASE_VERSION_NAME, instanceTemplate: canary.instanceTemplate }] };
}

/** `canaryTemplate` lets the plan refuse to "roll back" a canary that was already promoted to base. */
export function planRollback(state: MigVersions, canaryTemplate?: string): UpdatePlan {
  if (state.versions.length === 0) throw preconditionFailed(state, 'roll back the canary of', 'it has no versions');
  const base = state.versions.find((version) => version.name === BASE_VERSION_NAME);
  if (base === undefined)
    throw preconditionFailed(state, 'roll back the canary of', `it has no version named "${BASE_VERSION_NAME}"`);
  if (canaryTemplate !== undefined && base.instanceTemplate === canaryTemplate) {
    throw preconditionFailed(
      state,
      'roll back the canary of',
      `the canary ${canaryTemplate} was already promoted to base; update it directly to the old template instead`,
    );
  }
  if (state.versions.length === 1) return { kind: 'already-applied' };
  return { kind: 'apply', versions: [{ name: BASE_VERSION_NAME, instanceTemplate: base.instanceTemplate }] };
}

export function planDirect(state: MigVersions, template: string): UpdatePlan {
  if (single(state, BASE_VERSION_NAME)?.instanceTemplate === template) return { kind: 'already-applied' };
  if (state.versions.length === 0) throw preconditionFailed(state, 'update', 'it has no versions');
  if (state.versions.length > 1) {
    throw preconditionFailed(state, 'update', 'it has a canary in progress; promote or roll back first');
  }
  return { kind: 'apply', versions: [{ name: BASE_VERSION_NAME, instanceTemplate: template }] };
}
