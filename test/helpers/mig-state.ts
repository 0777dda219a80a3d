import type { MigState } from '../../workflows/rollout-contract.js';

/** A rollout's record of one prod MIG of one instance, going from template `old` to `new`. */
export function migState(
  name: string,
  role: MigState['role'],
  phase: MigState['phase'],
  overrides: Partial<MigState> = {},
): MigState {
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
