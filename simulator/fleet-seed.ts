/**
 * The simulated world at the start: the runner releases, the fleet's templates on the initial version, and every
 * MIG of the fleet definition at its minimum size, each instance running with its runner registered and idle,
 * in the job pool of its environment, group and type.
 */
import {
  BASE_VERSION_NAME,
  enumerateMigs,
  findType,
  migAutoscaling,
  migNameOf,
  templateNameFor,
  versionTemplates,
  zonesOf,
} from '../runner-config/index.js';
import type { MigRef } from '../runner-config/types.js';
import type { FleetStore } from './fleet-store.js';
import { fleetTemplateProperties } from './fleet-templates.js';
import type { JobPool, SimMig } from './fleet-types.js';
import { fingerprintOf } from './mig-status.js';
import type { InitialRelease } from './options.js';

const DAY_MS = 24 * 3600 * 1000;

/** What seeding adds through the model rather than into the store's collections. */
export interface FleetSeeding {
  insertTemplate(name: string, properties: Readonly<Record<string, unknown>>): void;
  addRunningInstance(mig: SimMig): void;
}

export function seedReleases(store: FleetStore, releases: readonly InitialRelease[]): void {
  const initial = releases.length > 0 ? releases : [{ version: store.fleet.runner.version }];
  initial.forEach((release, index) => {
    const publishedAt = release.publishedAt ?? new Date(store.now() - (20 + 30 * index) * DAY_MS).toISOString();
    store.releases.publish({ version: release.version, publishedAt }, store.now());
  });
}

export function seedFleet(store: FleetStore, version: string, seeding: FleetSeeding): void {
  for (const template of versionTemplates(store.fleet, version)) {
    seeding.insertTemplate(template.name, fleetTemplateProperties(store.fleet, template.group, template.type, version));
  }
  for (const environment of ['prod', 'testing'] as const) {
    for (const ref of enumerateMigs(store.fleet, environment)) seedMig(store, ref, version, seeding);
  }
  for (const list of store.migsByRegion.values()) list.sort((a, b) => (a.name < b.name ? -1 : 1));
}

function seedMig(store: FleetStore, ref: MigRef, version: string, seeding: FleetSeeding): void {
  const type = findType(store.fleet, ref.type);
  const bounds = migAutoscaling(store.fleet, ref);
  const name = migNameOf(store.fleet, ref);
  const mig: SimMig = {
    name,
    region: ref.region,
    ref,
    id: store.newId(),
    createdAt: store.now() - 90 * DAY_MS,
    zones: zonesOf(store.fleet, ref.region),
    shape: type.distributionShape,
    pool: poolFor(store, ref),
    autoscaler: {
      name,
      id: store.newId(),
      createdAt: store.now() - 90 * DAY_MS,
      min: bounds.min,
      max: bounds.max,
      mode: 'ONLY_SCALE_OUT',
      coolDownPeriodSec: 60,
      cpuUtilizationTarget: 0.6,
      recommendedSize: bounds.min,
    },
    instances: new Map(),
    targetSize: bounds.min,
    versions: [{ name: BASE_VERSION_NAME, template: templateNameFor(store.fleet, ref, version) }],
    updatePolicy: {
      type: 'OPPORTUNISTIC',
      minimalAction: 'REPLACE',
      mostDisruptiveAllowedAction: 'REPLACE',
      maxSurge: {},
      maxUnavailable: {},
      replacementMethod: 'SUBSTITUTE',
      instanceRedistributionType: type.distributionShape === 'BALANCED' ? 'NONE' : 'PROACTIVE',
    },
    fingerprint: '',
    generation: 0,
    recreations: 0,
    reconcilePending: false,
    autoscalePending: false,
  };
  mig.fingerprint = fingerprintOf(mig);
  store.migs.set(name, mig);
  const regionList = store.migsByRegion.get(ref.region) ?? [];
  regionList.push(mig);
  store.migsByRegion.set(ref.region, regionList);
  mig.pool.migs.push(mig);
  for (let i = 0; i < mig.targetSize; i++) seeding.addRunningInstance(mig);
}

function poolFor(store: FleetStore, ref: MigRef): JobPool {
  const key = `${ref.environment}/${ref.group}/${ref.type}`;
  let pool = store.pools.get(key);
  if (pool === undefined) {
    pool = {
      key,
      environment: ref.environment,
      group: ref.group,
      type: ref.type,
      migs: [],
      queue: [],
      idle: new Set(),
      perHour: 0,
      meanDurationMs: 0,
      hourly: undefined,
      jobsPerArrival: 1,
      arrivalChain: 0,
    };
    store.pools.set(key, pool);
  }
  return pool;
}
