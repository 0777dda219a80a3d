import type { MigProgress } from '../../workflows/rollout-contract.js';

/** A rollout's record of one prod MIG of one instance, going from template `old` to `new`. */
export function migState(
  name: string,
  role: MigProgress['role'],
  phase: MigProgress['phase'],
  overrides: Partial<MigProgress> = {},
): MigProgress {
  return {
    name,
    region: 'us-west1',
    ref: { environment: 'prod', group: 'presubmit', type: 'cpu', region: 'us-west1' },
    role,
    policy: role.startsWith('direct') ? 'direct' : 'canary',
    fromTemplate: 'old',
    toTemplate: 'new',
    patch: '',
    targetSize: 1,
    instancesByTemplate: {},
    phase,
    instancesOld: 1,
    instancesNew: 0,
    drainedRunners: 0,
    ...overrides,
  };
}
