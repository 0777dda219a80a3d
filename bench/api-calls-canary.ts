/**
 * GCP API calls to select and canary every canary-policy MIG of the default prod fleet: our activities versus
 * the per-MIG pattern of the original update_instance_groups.py (regions.list, one MIG list per region, then a
 * template get and a patch per MIG). Counts come from the simulator's request counters.
 *
 *   npx tsx bench/api-calls-canary.ts
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Logger } from '@temporalio/common';
import pLimit from 'p-limit';
import { createActivities } from '../activities/index.js';
import { versionTemplates } from '../runner-config/matrix.js';
import { startSimulator, type SimulatorHandle } from '../simulator/index.js';
import { createComputeClients, createGitHubClient } from '../worker/clients.js';

const VERSION = '1111111111-bbb';
const noop = (): void => undefined;
const silent: Logger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };

function inActivity<T>(env: MockActivityEnvironment, fn: () => Promise<T>): Promise<T> {
  return env.run<[], T, () => Promise<T>>(fn);
}

async function prepare(): Promise<SimulatorHandle> {
  const sim = await startSimulator({ speed: 0, jobRates: [{ perHour: 0, meanDurationMinutes: 30 }] });
  for (const ref of versionTemplates(sim.fleet, VERSION)) {
    sim.control.createTemplate({ group: ref.group, type: ref.type, version: VERSION });
  }
  sim.control.resetCounters();
  return sim;
}

function canaryTypes(sim: SimulatorHandle): string {
  return sim.fleet.types
    .filter((type) => type.rolloutPolicy === 'canary')
    .map((type) => type.name)
    .join('|');
}

function computeCalls(sim: SimulatorHandle): { total: number; byEndpoint: Record<string, number> } {
  const byEndpoint: Record<string, number> = {};
  let total = 0;
  for (const [endpoint, counter] of Object.entries(sim.control.counters())) {
    if (!endpoint.startsWith('compute.')) continue;
    byEndpoint[endpoint.slice('compute.'.length)] = counter.requests;
    total += counter.requests;
  }
  return { total, byEndpoint };
}

async function ours(): Promise<{ migs: number; calls: ReturnType<typeof computeCalls> }> {
  const sim = await prepare();
  try {
    const activities = createActivities({
      compute: createComputeClients({ project: sim.fleet.project, apiEndpoint: sim.url }),
      github: createGitHubClient({ baseUrl: sim.url, token: 'bench', throttle: { enabled: false } }),
      fleet: sim.fleet,
      logger: silent,
    });
    const env = (): MockActivityEnvironment => new MockActivityEnvironment({}, { logger: silent });
    // The workflow checks every template once (one filtered list), then selects and canaries.
    const templates = versionTemplates(sim.fleet, VERSION).map((ref) => ref.name);
    await inActivity(env(), () => activities.missingTemplates(templates));
    const migs = await inActivity(env(), () =>
      activities.selectMigs({
        environment: 'prod' as const,
        regions: 'all',
        groups: 'all',
        types: canaryTypes(sim),
        includeInstances: false,
      }),
    );
    const limit = pLimit(8);
    await Promise.all(
      migs.map((mig) =>
        limit(async () => {
          const template = `${sim.fleet.namePrefix}-${mig.ref.group}-${mig.ref.type}-${VERSION}`;
          // The selection's snapshot saves each canary its own read of the MIG.
          const result = await inActivity(env(), () =>
            activities.canaryMig({
              mig,
              template,
              canarySize: 1,
              observed: mig,
            }),
          );
          if (!result.applied) throw new Error(`canary of ${mig.name} was not applied`);
        }),
      ),
    );
    return { migs: migs.length, calls: computeCalls(sim) };
  } finally {
    await sim.close();
  }
}

/** The original tool's calls, made with the same client: nothing batched, nothing waited on. */
async function originalScripts(): Promise<{ migs: number; calls: ReturnType<typeof computeCalls> }> {
  const sim = await prepare();
  try {
    const compute = createComputeClients({ project: sim.fleet.project, apiEndpoint: sim.url });
    const project = sim.fleet.project;
    const [regions] = await compute.regions.list({ project });
    let migCount = 0;
    for (const region of regions) {
      // The original filter used \w+; [a-z0-9]+ matches the same names and needs no escaping.
      const filter = `name eq '${sim.fleet.namePrefix}-[a-z0-9]+-(${canaryTypes(sim)})-${region.name ?? ''}'`;
      const [migs] = await compute.migs.list({ project, region: region.name ?? '', filter });
      for (const mig of migs) {
        migCount++;
        const ref = /^[a-z0-9-]+?-(\w+)-(\w+)-[a-z]+-[a-z0-9]+$/.exec(mig.name ?? '');
        const templateName = `${sim.fleet.namePrefix}-${ref?.[1] ?? ''}-${ref?.[2] ?? ''}-${VERSION}`;
        const [template] = await compute.templates.get({ project, instanceTemplate: templateName });
        const base = mig.versions?.[0];
        await compute.migs.patch({
          project,
          region: region.name ?? '',
          instanceGroupManager: mig.name ?? '',
          instanceGroupManagerResource: {
            versions: [
              { name: 'base', instanceTemplate: base?.instanceTemplate ?? '' },
              { name: 'canary', instanceTemplate: template.selfLink ?? '', targetSize: { fixed: 1 } },
            ],
          },
        });
      }
    }
    return { migs: migCount, calls: computeCalls(sim) };
  } finally {
    await sim.close();
  }
}

const original = await originalScripts();
const engine = await ours();
console.log(`select + canary of the default prod fleet (${engine.migs} MIGs; original pattern found ${original.migs})`);
console.log(`original per-MIG pattern: ${original.calls.total} GCP calls ${JSON.stringify(original.calls.byEndpoint)}`);
console.log(`rollout activities:       ${engine.calls.total} GCP calls ${JSON.stringify(engine.calls.byEndpoint)}`);
