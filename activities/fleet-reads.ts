/** What the fleet holds: its definition, the MIGs a selection names, and runners by name. */
import pLimit from 'p-limit';
import { migNameOf, selectMigRefs } from '../runner-config/matrix.js';
import { SelectorError } from '../runner-config/selectors.js';
import { FailureType, permanentFailure } from './failures.js';
import { managedInstances, toSnapshot } from './mig-reads.js';
import { listRunnersByPrefix } from './runners.js';
import type { ActivityRuntime } from './runtime.js';
import type { RolloutActivities } from './contract.js';

export function createFleetReadActivities(
  runtime: ActivityRuntime,
): Pick<RolloutActivities, 'loadFleet' | 'workerActivitySlots' | 'selectMigs' | 'listRunners'> {
  const { compute, fleet } = runtime.deps;
  const project = runtime.project;
  return {
    async loadFleet() {
      return fleet;
    },

    async workerActivitySlots() {
      return runtime.deps.activitySlots ?? null;
    },

    async selectMigs(selection) {
      let refs;
      try {
        refs = selectMigRefs(fleet, selection);
      } catch (error) {
        if (error instanceof SelectorError) throw permanentFailure(FailureType.INVALID_REQUEST, error.message);
        throw error;
      }
      if (refs.length === 0) return [];
      // Regions are resolved once; MIGs can only be listed per region, so one filtered list call per region
      // names exactly the MIGs the selectors chose there.
      const [regions] = await runtime.call('list regions', () =>
        compute.regions.list({
          project,
          // The literal is an RE2 pattern matched against the whole name, quoted as IREE's public
          // update_instance_groups.py quotes its MIG filter (https://github.com/iree-org/iree/blob/41dcee93c7157955d94973addf6770cecf926849/build_tools/github_actions/runner/gcp/update_instance_groups.py).
          ...(selection.regions === 'all' ? {} : { filter: `name eq '${selection.regions}'` }),
        }),
      );
      const available = new Set(regions.map((region) => region.name ?? ''));
      const namesByRegion = new Map<string, string[]>();
      for (const ref of refs) {
        if (!available.has(ref.region)) continue;
        namesByRegion.set(ref.region, [...(namesByRegion.get(ref.region) ?? []), migNameOf(fleet, ref)]);
      }
      const limit = pLimit(runtime.timing.concurrency);
      const perRegion = await Promise.all(
        [...namesByRegion].map(([region, names]) =>
          limit(async () => {
            const [igms] = await runtime.call(`list MIGs in ${region}`, () =>
              compute.migs.list({ project, region, filter: `name eq '(${names.join('|')})'` }),
            );
            return igms.map((igm) => ({ region, igm }));
          }),
        ),
      );
      const found = perRegion.flat().sort((a, b) => (a.igm.name ?? '').localeCompare(b.igm.name ?? ''));
      return Promise.all(
        found.map(({ region, igm }) =>
          limit(async () =>
            toSnapshot(
              fleet.namePrefix,
              region,
              igm,
              await managedInstances(runtime, { region, name: igm.name ?? '' }),
            ),
          ),
        ),
      );
    },

    async listRunners({ namePrefix }) {
      return listRunnersByPrefix(runtime, namePrefix);
    },
  };
}
