/**
 * Pools: the unit the job-queue autoscaler sizes. A pool is the MIGs of one runner group and one runner type in
 * one environment, across all of the environment's regions (`prod/presubmit/gpu`).
 *
 * Why this cut: the pools partition the fleet's MIGs, so each MIG has exactly one pool and so one controller
 * sizing it. A pool spans regions because a job names no region unless it asks for a zone: the same job can run
 * in any region's MIG, so per-region pools would leave nearly every job matching several. A pool per distinct
 * label request would overlap (`[self-hosted, gpu]` and `[self-hosted, gpu, environment=prod]` share MIGs), and
 * two controllers would size the same MIG. Which pool a job belongs to is decided by label matching alone
 * (label-matching.ts): a job belongs to a pool when every MIG its labels match is in that pool.
 *
 * Pure: safe in workflows and the webhook receiver alike.
 */
import { matchingRunners, runnerLabelSets, type RunnerLabelSet } from './label-matching.js';
import { ENVIRONMENTS, type Environment, type FleetDefinition, type PoolPolicy } from './types.js';

/** What names a pool; a MIG's `MigRef` is one. */
export interface PoolKey {
  readonly environment: Environment;
  readonly group: string;
  readonly type: string;
}

export interface Pool {
  /** `<environment>/<group>/<type>`. */
  readonly id: string;
  readonly key: PoolKey;
  /** The pool's MIGs, one per region, with the labels their runners report. */
  readonly migs: readonly RunnerLabelSet[];
  /** The fleet file's entry for the pool, or `off` when it has none. */
  readonly policy: PoolPolicy;
}

/** Where a job's labels place it. */
export type JobPlacement =
  | { readonly kind: 'pool'; readonly pool: Pool; readonly migs: readonly RunnerLabelSet[] }
  /** No MIG of the fleet has every label: a GitHub-hosted job, or one for a runner the fleet does not have. */
  | { readonly kind: 'unmatched' }
  /**
   * MIGs of several pools match, so GitHub hands the job to whichever of them is idle first; counting it in one
   * pool would be a guess and counting it in each would scale them all out. The fleet's known problem of labels
   * that do not pin a group or an environment; `rollout check-workflows` finds such jobs at review time.
   */
  | { readonly kind: 'ambiguous'; readonly pools: readonly string[] };

export function poolIdOf(key: PoolKey): string {
  return `${key.environment}/${key.group}/${key.type}`;
}

/** Every pool of the fleet (each group × type in each environment), with its MIGs and its policy. */
export function fleetPools(fleet: FleetDefinition): Pool[] {
  const sets = runnerLabelSets(fleet);
  const policies = fleet.pools ?? [];
  return ENVIRONMENTS.flatMap((environment) =>
    fleet.groups.flatMap((group) =>
      fleet.types.map((type): Pool => {
        const key: PoolKey = { environment, group: group.name, type: type.name };
        const id = poolIdOf(key);
        return {
          id,
          key,
          migs: sets.filter((set) => poolIdOf(set.ref) === id),
          policy: policies.find((policy) => poolIdOf(policy) === id) ?? { ...key, mode: 'off' },
        };
      }),
    ),
  );
}

/** The pool a job with these `runs-on` labels (as the `workflow_job` payload lists them) belongs to. */
export function poolOfJob(pools: readonly Pool[], labels: readonly string[]): JobPlacement {
  const matches = matchingRunners(
    pools.flatMap((pool) => pool.migs),
    { labels },
  );
  const ids = [...new Set(matches.map((set) => poolIdOf(set.ref)))];
  const [only] = ids;
  if (only === undefined) return { kind: 'unmatched' };
  if (ids.length > 1) return { kind: 'ambiguous', pools: ids.sort() };
  const pool = pools.find((candidate) => candidate.id === only);
  if (pool === undefined) throw new Error(`pool ${only} of a matching MIG is not among the pools`);
  return { kind: 'pool', pool, migs: matches };
}
