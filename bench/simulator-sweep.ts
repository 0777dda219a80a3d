/**
 * How long a full fleet sweep takes against the simulator: regions.list, then one
 * regionInstanceGroupManagers.list per region, with the real compute client, over a 1,000-MIG fleet in
 * 40 regions (25 MIGs per region). Run: node --import tsx bench/simulator-sweep.ts
 */
import { performance } from 'node:perf_hooks';

import { RegionInstanceGroupManagersClient, RegionsClient } from '@google-cloud/compute';
import { PassThroughClient } from 'google-auth-library';

import { defaultFleet } from '../runner-config/default-fleet.js';
import type { FleetDefinition } from '../runner-config/types.js';
import { startSimulator } from '../simulator/index.js';

const REGIONS = 40;
const GROUPS = 5;
const TYPES = 5;
const SWEEPS = 7;

function benchFleet(): FleetDefinition {
  const base = defaultFleet();
  const [group] = base.groups;
  const cpu = base.types.find((type) => type.name === 'cpu');
  if (group === undefined || cpu === undefined)
    throw new Error('the default fleet lost its presubmit group or cpu type');
  const regions = Array.from({ length: REGIONS }, (_, i) => ({
    name: `us-bench${i + 1}`,
    zones: ['a', 'b', 'c'].map((zone) => `us-bench${i + 1}-${zone}`),
  }));
  return {
    ...base,
    regions,
    groups: Array.from({ length: GROUPS }, (_, i) => ({ ...group, name: `group${i}` })),
    types: Array.from({ length: TYPES }, (_, i) => ({ ...cpu, name: `type${i}` })),
    environments: {
      prod: {
        ...base.environments.prod,
        regions: regions.map((region) => region.name),
        autoscaling: { min: 1, max: 10 },
      },
      testing: { ...base.environments.testing, regions: [] },
    },
  };
}

const fleet = benchFleet();
const sim = await startSimulator({ fleet, speed: 0, seed: 1, jobRates: [] });
type ClientOptions = ConstructorParameters<typeof RegionsClient>[0];
const authClient = new PassThroughClient() as unknown as Exclude<NonNullable<ClientOptions>['authClient'], undefined>;
const options: ClientOptions = { apiEndpoint: sim.host, port: sim.port, protocol: 'http', authClient };
const regionsClient = new RegionsClient(options);
const migsClient = new RegionInstanceGroupManagersClient(options);

async function sweep(parallel: boolean): Promise<number> {
  const [regions] = await regionsClient.list({ project: fleet.project });
  const list = async (region: string): Promise<number> => {
    const [migs] = await migsClient.list({ project: fleet.project, region });
    return migs.length;
  };
  const names = regions.map((region) => region.name ?? '');
  const counts = parallel
    ? await Promise.all(names.map(list))
    : await names.reduce(async (acc, region) => [...(await acc), await list(region)], Promise.resolve<number[]>([]));
  return counts.reduce((sum, count) => sum + count, 0);
}

async function measure(parallel: boolean): Promise<{ median: number; min: number; migs: number }> {
  let migs = await sweep(parallel);
  const times: number[] = [];
  for (let i = 0; i < SWEEPS; i++) {
    const start = performance.now();
    migs = await sweep(parallel);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)] ?? 0, min: times[0] ?? 0, migs };
}

try {
  const sequential = await measure(false);
  const concurrent = await measure(true);
  const format = (label: string, result: { median: number; min: number; migs: number }): string =>
    `${label}: ${result.migs} MIGs in ${REGIONS} regions, median ${result.median.toFixed(1)} ms, best ${result.min.toFixed(1)} ms (${SWEEPS} sweeps)`;
  process.stdout.write(`${format('sweep, one region at a time', sequential)}\n`);
  process.stdout.write(`${format('sweep, all regions concurrently', concurrent)}\n`);
} finally {
  await Promise.all([regionsClient.close(), migsClient.close()]);
  await sim.close();
}
