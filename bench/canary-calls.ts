/**
 * Canarying every canary-policy prod MIG, side by side on the same simulator with the real compute client:
 * - the pattern of IREE's public update_instance_groups.py
 *   (https://github.com/iree-org/iree/blob/41dcee93c7157955d94973addf6770cecf926849/build_tools/github_actions/runner/gcp/update_instance_groups.py):
 *   regions.list, one MIG list per region, then per MIG, one after another, a template get and a blind patch;
 * - the rollout's activities: one template check for the version, one selection (a filtered list per region),
 *   then `canaryMig` per MIG at the workflow's concurrency, patching with the fingerprint the selection read.
 * Prints GCP calls (in all, per MIG, per endpoint) and wall time of each, for the default fleet and the 1,000-MIG
 * fleet across 40 regions.
 *
 *   bash scripts/bench canary-calls [--fleet default|1000] [--concurrency N]
 */
import { performance } from 'node:perf_hooks';
import { defaultFleet } from '../runner-config/default-fleet.js';
import { versionTemplates } from '../runner-config/matrix.js';
import { templateName } from '../runner-config/naming.js';
import type { FleetDefinition } from '../runner-config/types.js';
import { ENGINE_DEFECT_WORKAROUNDS, startSimulator, type SimulatorHandle } from '../simulator/index.js';
import { createComputeClients } from '../worker/clients.js';
import { DEFAULT_ROLLOUT_TIMING } from '../workflows/rollout-contract.js';
import { createVersionTemplates } from '../test/helpers/e2e-stack.js';
import { FLEET_1000, scaledFleet } from './fleets.js';
import {
  apiCalls,
  benchOptions,
  canaryTypes,
  inActivity,
  seconds,
  simulatorActivities,
  wholeNumber,
  type ApiCalls,
} from './harness.js';
import pLimit from 'p-limit';

const VERSION = '1111111111-bbb';
const FLEETS: Record<string, { readonly label: string; readonly build: () => FleetDefinition }> = {
  default: { label: 'default fleet', build: defaultFleet },
  '1000': { label: '1,000-MIG fleet (40 regions)', build: () => scaledFleet(FLEET_1000) },
};

interface Measured {
  readonly migs: number;
  readonly calls: ApiCalls;
  readonly milliseconds: number;
}

/** A still simulator (no clock, no jobs) with the version's templates, counters reset. */
async function prepare(fleet: FleetDefinition): Promise<SimulatorHandle> {
  const sim = await startSimulator({ fleet, speed: 0, jobRates: [], behaviours: ENGINE_DEFECT_WORKAROUNDS });
  createVersionTemplates(sim, VERSION);
  sim.control.resetCounters();
  return sim;
}

async function ireeScriptPattern(fleet: FleetDefinition): Promise<Measured> {
  const sim = await prepare(fleet);
  try {
    const compute = createComputeClients({ project: fleet.project, apiEndpoint: sim.url });
    const project = fleet.project;
    const nameParts = new RegExp(`^${fleet.namePrefix}-([a-z0-9]+)-([a-z0-9]+)-`);
    const started = performance.now();
    const [regions] = await compute.regions.list({ project });
    let migs = 0;
    for (const region of regions) {
      // IREE's script filters with \w+; [a-z0-9]+ matches the same names and needs no escaping.
      const filter = `name eq '${fleet.namePrefix}-[a-z0-9]+-(${canaryTypes(fleet)})-${region.name ?? ''}'`;
      const [found] = await compute.migs.list({ project, region: region.name ?? '', filter });
      for (const mig of found) {
        migs += 1;
        const [, group = '', type = ''] = nameParts.exec(mig.name ?? '') ?? [];
        const [template] = await compute.templates.get({
          project,
          instanceTemplate: templateName(fleet.namePrefix, group, type, VERSION),
        });
        await compute.migs.patch({
          project,
          region: region.name ?? '',
          instanceGroupManager: mig.name ?? '',
          instanceGroupManagerResource: {
            versions: [
              { name: 'base', instanceTemplate: mig.versions?.[0]?.instanceTemplate ?? '' },
              { name: 'canary', instanceTemplate: template.selfLink ?? '', targetSize: { fixed: 1 } },
            ],
          },
        });
      }
    }
    return { migs, calls: apiCalls(sim, 'compute'), milliseconds: performance.now() - started };
  } finally {
    await sim.close();
  }
}

async function rolloutActivities(fleet: FleetDefinition, concurrency: number): Promise<Measured> {
  const sim = await prepare(fleet);
  try {
    const activities = simulatorActivities(sim, { pollIntervalMs: 100 });
    const started = performance.now();
    await inActivity(() => activities.missingTemplates(versionTemplates(fleet, VERSION).map((ref) => ref.name)));
    const migs = await inActivity(() =>
      activities.selectMigs({
        environment: 'prod',
        regions: 'all',
        groups: 'all',
        types: canaryTypes(fleet),
      }),
    );
    const limit = pLimit(concurrency);
    await Promise.all(
      migs.map((mig) =>
        limit(async () => {
          const template = templateName(fleet.namePrefix, mig.ref.group, mig.ref.type, VERSION);
          const result = await inActivity(() => activities.canaryMig({ mig, template, canarySize: 1 }));
          if (!result.applied) throw new Error(`canary of ${mig.name} was not applied`);
        }),
      ),
    );
    return { migs: migs.length, calls: apiCalls(sim, 'compute'), milliseconds: performance.now() - started };
  } finally {
    await sim.close();
  }
}

const options = benchOptions('scripts/bench canary-calls [--fleet default|1000]… [--concurrency N]', {
  fleet: { type: 'string', multiple: true },
  concurrency: { type: 'string' },
});
const concurrency = wholeNumber('concurrency', options.concurrency, DEFAULT_ROLLOUT_TIMING.maxConcurrency);
const line = (label: string, m: Measured): string =>
  `  ${label}: ${m.migs} MIGs, ${m.calls.total} GCP calls (${(m.calls.total / m.migs).toFixed(2)} per MIG), ` +
  `${seconds(m.milliseconds)}\n    ${JSON.stringify(m.calls.byEndpoint)}`;
// Integer-like keys come first in Object.keys; the default fleet is the smaller one, so it goes first.
for (const name of options.fleet ?? ['default', '1000']) {
  const fleet = FLEETS[name];
  if (fleet === undefined) throw new Error(`unknown fleet "${name}" (known: ${Object.keys(FLEETS).join(', ')})`);
  const iree = await ireeScriptPattern(fleet.build());
  const engine = await rolloutActivities(fleet.build(), concurrency);
  console.log(`canary of every canary-policy prod MIG of the ${fleet.label}, simulator on 127.0.0.1`);
  console.log(line('IREE script: per-MIG sequential list/get/patch', iree));
  console.log(line(`rollout activities (concurrency ${concurrency})`, engine));
}
