/**
 * How long a full fleet sweep takes against the simulator: regions.list, then one
 * regionInstanceGroupManagers.list per region, with the real compute client, over the 1,000-MIG fleet in
 * 40 regions, one region at a time and all at once. Shows whether the simulator limits fleet-scale runs.
 *
 *   bash scripts/bench simulator-sweep
 */
import { performance } from 'node:perf_hooks';
import { startSimulator } from '../simulator/index.js';
import { createComputeClients } from '../worker/clients.js';
import { FLEET_1000, scaledFleet } from './fleets.js';

const SWEEPS = 7;

const fleet = scaledFleet(FLEET_1000);
const sim = await startSimulator({ fleet, speed: 0, seed: 1, jobRates: [] });
const compute = createComputeClients({ project: fleet.project, apiEndpoint: sim.url });

async function sweep(parallel: boolean): Promise<number> {
  const [regions] = await compute.regions.list({ project: fleet.project });
  const list = async (region: string): Promise<number> => {
    const [migs] = await compute.migs.list({ project: fleet.project, region });
    return migs.length;
  };
  const names = regions.map((region) => region.name ?? '');
  let counts: number[];
  if (parallel) counts = await Promise.all(names.map(list));
  else {
    counts = [];
    for (const name of names) counts.push(await list(name));
  }
  return counts.reduce((sum, count) => sum + count, 0);
}

async function measure(parallel: boolean): Promise<{ median: number; best: number; migs: number }> {
  let migs = await sweep(parallel);
  const times: number[] = [];
  for (let i = 0; i < SWEEPS; i++) {
    const start = performance.now();
    migs = await sweep(parallel);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)] ?? 0, best: times[0] ?? 0, migs };
}

try {
  for (const [label, parallel] of [
    ['one region at a time', false],
    ['all regions concurrently', true],
  ] as const) {
    const result = await measure(parallel);
    console.log(
      `sweep, ${label}: ${result.migs} MIGs in ${FLEET_1000.regions} regions, median ${result.median.toFixed(1)} ms, ` +
        `best ${result.best.toFixed(1)} ms (${SWEEPS} sweeps)`,
    );
  }
} finally {
  await sim.close();
}
