import type { FleetFile, FleetSectionName, ListSectionName } from './schema.js';
import type { EnvironmentConfig, FleetDefinition, PoolPolicy, Region, RunnerGroup, RunnerType } from './types.js';

/** An entry of a list section that matched the schema, with its position in the file. */
export interface Entry<T> {
  readonly index: number;
  readonly value: T;
}

/**
 * A fleet definition being built section by section. A section is missing, and a list entry left out, when
 * that part of the file did not match the schema; `incomplete` names those sections. Rules look only at what
 * they need, so one broken part does not hide the mistakes in the others.
 */
export interface FleetDraft {
  project?: string;
  namePrefix?: string;
  github?: FleetDefinition['github'];
  services?: FleetDefinition['services'];
  environments?: FleetDefinition['environments'];
  runner?: FleetDefinition['runner'];
  rollout?: FleetDefinition['rollout'];
  regions: Entry<Region>[];
  groups: Entry<RunnerGroup>[];
  types: Entry<RunnerType>[];
  pools: Entry<PoolPolicy>[];
  readonly incomplete: Set<FleetSectionName>;
}

export const DEFAULT_NAME_PREFIX = 'gh-runner';
export const DEFAULT_DISK = { type: 'pd-ssd', sizeGb: 1000 } as const;
/** GCP autoscalers scale on CPU unless told otherwise, and the fleet's do. */
export const DEFAULT_AUTOSCALER_SIGNAL = 'cpu';

type ScalarSectionName = Exclude<FleetSectionName, ListSectionName>;

/** Stage 2 of parsing: one normaliser per section (or list entry), from the file as written to internal types. */
export const sectionNormalisers: {
  [K in ScalarSectionName]-?: (section: FleetFile[K]) => FleetDefinition[K];
} = {
  project: (project) => project,
  namePrefix: (prefix) => prefix ?? DEFAULT_NAME_PREFIX,
  github: (github) => ({ ...github }),
  services: (services) => ({ ...services }),
  environments: (environments) => {
    const prod: EnvironmentConfig = {
      name: 'prod',
      regions: [...environments.prod.regions],
      autoscaling: { ...environments.prod.autoscaling },
      testAutoscaling: { ...environments.prod.autoscaling },
      autoscaler: { signal: environments.prod.autoscaler?.signal ?? DEFAULT_AUTOSCALER_SIGNAL },
    };
    const testing: EnvironmentConfig = {
      name: 'testing',
      regions: [...environments.testing.regions],
      autoscaling: { ...environments.testing.autoscaling },
      testAutoscaling: { ...(environments.testing.testAutoscaling ?? environments.testing.autoscaling) },
      autoscaler: { signal: environments.testing.autoscaler?.signal ?? DEFAULT_AUTOSCALER_SIGNAL },
    };
    return { prod, testing };
  },
  runner: (runner) => ({ version: runner.version, archiveDigests: { ...runner.archiveDigests } }),
  rollout: (rollout) => ({ defaultSoak: rollout.defaultSoak, canarySize: rollout.canarySize ?? 1 }),
};

export const entryNormalisers: {
  [K in ListSectionName]: (entry: NonNullable<FleetFile[K]>[number]) => NonNullable<FleetDefinition[K]>[number];
} = {
  regions: (region) => ({ name: region.name, zones: [...region.zones] }),
  groups: (group) => ({ ...group, allowedEvents: [...group.allowedEvents] }),
  types: normaliseType,
  pools: normalisePool,
};

function normalisePool(pool: NonNullable<FleetFile['pools']>[number]): PoolPolicy {
  const { environment, group, type } = pool;
  if (pool.mode === 'off') return { environment, group, type, mode: 'off' };
  return { environment, group, type, mode: 'queue', bounds: { min: pool.min, max: pool.max }, warm: pool.warm ?? 0 };
}

function normaliseType(type: FleetFile['types'][number]): RunnerType {
  const autoscaling: Partial<Record<'prod' | 'testing', { min: number; max: number }>> = {};
  if (type.autoscaling?.prod) autoscaling.prod = { ...type.autoscaling.prod };
  if (type.autoscaling?.testing) autoscaling.testing = { ...type.autoscaling.testing };
  return {
    name: type.name,
    machineType: type.machineType,
    ...(type.accelerator ? { accelerator: { ...type.accelerator } } : {}),
    maintenancePolicy: type.maintenancePolicy ?? (type.accelerator ? 'TERMINATE' : 'MIGRATE'),
    disk: { type: type.disk?.type ?? DEFAULT_DISK.type, sizeGb: type.disk?.sizeGb ?? DEFAULT_DISK.sizeGb },
    image: type.image,
    arch: type.arch ?? 'x64',
    rolloutPolicy: type.rolloutPolicy ?? 'canary',
    ...(type.firstRegion !== undefined ? { firstRegion: type.firstRegion } : {}),
    distributionShape: type.distributionShape ?? 'EVEN',
    ...(type.autoscaling ? { autoscaling } : {}),
  };
}
