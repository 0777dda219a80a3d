/**
 * Bigger fleets for the benchmarks, built from the default fleet: the same groups' and types' properties,
 * multiplied over generated regions. Prod only, plus one testing region, as the default fleet has.
 */
import { defaultFleet } from '../runner-config/default-fleet.js';
import type { FleetDefinition, RunnerGroup, RunnerType } from '../runner-config/types.js';

export interface FleetShape {
  readonly regions: number;
  readonly groups: number;
  /** Types cycle through the default fleet's (cpu, gpu, a100, arm64), renamed type0, type1, … past four. */
  readonly types: number;
}

/** 200 MIGs: 10 regions × 5 groups × 4 types. */
export const FLEET_200: FleetShape = { regions: 10, groups: 5, types: 4 };
/** 1,000 MIGs: 40 regions × 5 groups × 5 types. */
export const FLEET_1000: FleetShape = { regions: 40, groups: 5, types: 5 };

export function scaledFleet(shape: FleetShape): FleetDefinition {
  const base = defaultFleet();
  const regions = Array.from({ length: shape.regions }, (_, i) => ({
    name: `us-bench${i + 1}`,
    zones: ['a', 'b', 'c'].map((zone) => `us-bench${i + 1}-${zone}`),
  }));
  const firstRegion = regions[0]?.name ?? 'us-bench1';
  const groups: RunnerGroup[] = Array.from({ length: shape.groups }, (_, i) => {
    const group = base.groups[i % base.groups.length];
    if (group === undefined) throw new Error('the default fleet has no groups');
    return { ...group, name: `group${i}` };
  });
  const types: RunnerType[] = Array.from({ length: shape.types }, (_, i) => {
    const type = base.types[i % base.types.length];
    if (type === undefined) throw new Error('the default fleet has no types');
    return { ...type, name: `type${i}`, ...(type.rolloutPolicy === 'direct' ? { firstRegion } : {}) };
  });
  return {
    ...base,
    regions,
    groups,
    types,
    environments: {
      prod: { ...base.environments.prod, regions: regions.map((region) => region.name) },
      testing: { ...base.environments.testing, regions: [firstRegion] },
    },
  };
}

/** Prod MIGs of a fleet (what a rollout canaries, promotes and converges). */
export function prodMigCount(fleet: FleetDefinition): number {
  return fleet.environments.prod.regions.length * fleet.groups.length * fleet.types.length;
}
