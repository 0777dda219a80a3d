/**
 * The pool controller's effects: what its pool's MIGs and runners hold, GitHub's queued jobs of the pool, raising
 * a MIG's target size, and removing named idle runners by the busy-safe drain.
 *
 * One writer per MIG: a rollout claims a MIG by running its per-MIG worker under `migWorkflowId` for the whole
 * rollout (workflows/rollout-preflight.ts), so a MIG is held exactly while that workflow id has a running
 * execution. A workflow cannot describe another, so these activities ask Temporal; the write activities ask again
 * right before writing, which narrows the window between the controller's read and its write to one call.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import pLimit from 'p-limit';
import { migNameOf } from '../runner-config/matrix.js';
import { fleetPools, poolOfJob, type Pool } from '../runner-config/pools.js';
import type { ObservedVm } from '../workflows/pool-decision.js';
import { migWorkflowId } from '../workflows/rollout-contract.js';
import { linkedAutoscaler, patchAutoscalerMode } from './autoscaling.js';
import { createDrainActivities } from './drain.js';
import { FailureType, permanentFailure } from './failures.js';
import { getMig, managedInstances, operationOf, waitForOperation } from './mig-reads.js';
import { listRunnersByPrefix, migRunnerPrefix } from './runners.js';
import type { ActivityRuntime } from './runtime.js';
import type { MigLocator, PoolActivities, PoolMigObservation, QueuedJob } from './contract.js';

/** Queued runs read per reconciliation: a burst past this is seen by its webhooks, and by the next reads. */
const MAX_QUEUED_RUNS = 100;

export function createPoolSizingActivities(runtime: ActivityRuntime): PoolActivities {
  const { compute, fleet } = runtime.deps;
  const drains = createDrainActivities(runtime);

  function poolNamed(id: string): Pool {
    const pool = fleetPools(fleet).find((candidate) => candidate.id === id);
    if (pool === undefined) throw permanentFailure(FailureType.INVALID_REQUEST, `the fleet has no pool ${id}`);
    return pool;
  }

  async function held(mig: MigLocator): Promise<boolean> {
    const workflows = (runtime.deps.temporal ?? Context.current().client).workflow;
    try {
      const description = await workflows.getHandle(migWorkflowId(runtime.project, mig.name)).describe();
      return description.status.name === 'RUNNING';
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    }
  }

  async function observeMig(reads: ActivityRuntime, mig: MigLocator): Promise<PoolMigObservation> {
    const [igm, instances, runners, isHeld] = await Promise.all([
      getMig(reads, mig),
      managedInstances(reads, mig),
      listRunnersByPrefix(reads, migRunnerPrefix(mig.name)),
      held(mig),
    ]);
    const autoscaler = await linkedAutoscaler(reads, mig, igm);
    const byName = new Map(runners.map((runner) => [runner.name, runner]));
    const at = runtime.now().getTime();
    const vms = instances
      // A VM being deleted serves no job and is no longer in the target size.
      .filter((instance) => instance.currentAction !== 'DELETING')
      .map((instance): ObservedVm => {
        const name = instance.name ?? '';
        const runner = byName.get(name);
        if (runner === undefined || !runner.online) return { name, runner: { state: 'none' } };
        // GitHub tells no idle time; the observation's time keeps the order stable (by name) among idle ones.
        return { name, runner: runner.busy ? { state: 'busy' } : { state: 'idle', idleSince: at } };
      });
    return {
      ...mig,
      targetSize: igm.targetSize ?? 0,
      vms,
      held: isHeld,
      ...(autoscaler === undefined ? {} : { autoscalerMode: autoscaler.mode }),
    };
  }

  /**
   * Jobs of the config repo waiting for a runner of this pool: the queued runs, then each run's jobs
   * (https://docs.github.com/en/rest/actions/workflow-runs#list-workflow-runs-for-a-repository `status=queued`,
   * https://docs.github.com/en/rest/actions/workflow-jobs#list-jobs-for-a-workflow-run).
   */
  async function queuedJobs(reads: ActivityRuntime, pool: Pool): Promise<{ jobs: QueuedJob[]; complete: boolean }> {
    const { github } = runtime.deps;
    const [owner = '', repo = ''] = fleet.github.configRepo.split('/');
    if (owner === '' || repo === '') {
      throw permanentFailure(
        FailureType.INVALID_REQUEST,
        `the fleet's github.configRepo "${fleet.github.configRepo}" is not of the form owner/repo`,
      );
    }
    let complete = true;
    const runs = await reads.call(`list queued workflow runs of ${fleet.github.configRepo}`, () =>
      github.paginate(
        github.rest.actions.listWorkflowRunsForRepo,
        { owner, repo, status: 'queued', per_page: MAX_QUEUED_RUNS },
        (response, done) => {
          complete = response.headers.link?.includes('rel="next"') !== true;
          done();
          return response.data;
        },
      ),
    );
    const pools = fleetPools(fleet);
    const limit = pLimit(runtime.timing.concurrency);
    const perRun = await Promise.all(
      runs.map((run) =>
        limit(async () => {
          const jobs = await reads.call(`list jobs of workflow run ${run.id} in ${fleet.github.configRepo}`, () =>
            github.paginate(github.rest.actions.listJobsForWorkflowRun, { owner, repo, run_id: run.id, per_page: 100 }),
          );
          return jobs.flatMap((job): QueuedJob[] => {
            if (job.status !== 'queued') return [];
            const placement = poolOfJob(pools, job.labels);
            if (placement.kind !== 'pool' || placement.pool.id !== pool.id) return [];
            return [{ id: job.id, runId: job.run_id, labels: job.labels }];
          });
        }),
      ),
    );
    return { jobs: perRun.flat(), complete };
  }

  return {
    async observePool({ pool: id, withQueuedJobs }) {
      const pool = poolNamed(id);
      const reads = runtime.retryingReads();
      const limit = pLimit(runtime.timing.concurrency);
      const migs = await Promise.all(
        pool.migs.map((set) =>
          limit(() => observeMig(reads, { region: set.ref.region, name: migNameOf(fleet, set.ref) })),
        ),
      );
      const at = runtime.now().getTime();
      const { policy } = pool;
      if (!withQueuedJobs) return { migs, policy, at };
      const queued = await queuedJobs(reads, pool);
      return { migs, queuedJobs: queued.jobs, queuedJobsComplete: queued.complete, policy, at };
    },

    async raisePoolMig({ mig, from, to }) {
      if (!Number.isInteger(to) || to <= from) {
        throw permanentFailure(
          FailureType.INVALID_REQUEST,
          `a pool MIG's target size is only ever raised: asked for ${from} -> ${to} on ${mig.name}`,
        );
      }
      if (await held(mig)) return { mig, outcome: 'held', targetSize: from };
      const igm = await getMig(runtime, mig);
      const current = igm.targetSize ?? 0;
      // Moved meanwhile (a retry after the raise, or another change): a raise from a stale size could lower it.
      if (current !== from) return { mig, outcome: 'unchanged', targetSize: current };
      // GCP answers 412 to a resize of an autoscaled MIG, which retrying never changes; the controller turns the
      // autoscaler off first, and a person who turned it back on gets it turned off at the next decision.
      const autoscaler = await linkedAutoscaler(runtime, mig, igm);
      if (autoscaler !== undefined && autoscaler.mode !== 'OFF') {
        throw permanentFailure(
          FailureType.INVALID_REQUEST,
          `cannot raise the target size of ${mig.name} in ${mig.region}: its autoscaler ${autoscaler.name} is in mode ${autoscaler.mode}, and GCP resizes an autoscaled MIG only in mode OFF`,
        );
      }
      const what = `raise the target size of ${mig.name} in ${mig.region} from ${from} to ${to}`;
      const result = await runtime.call(
        what,
        () =>
          compute.migs.resize({
            project: runtime.project,
            region: mig.region,
            instanceGroupManager: mig.name,
            size: to,
            requestId: runtime.requestId('pool-resize', mig.region, mig.name, String(from), String(to)),
          }),
        FailureType.MIG_NOT_FOUND,
      );
      await waitForOperation(runtime, { region: mig.region }, operationOf(result), what);
      runtime.log.info(what);
      return { mig, outcome: 'raised', targetSize: to };
    },

    async setPoolAutoscalerMode({ mig, mode }) {
      if (!['ON', 'ONLY_SCALE_OUT', 'OFF'].includes(mode)) {
        throw permanentFailure(
          FailureType.INVALID_REQUEST,
          `an autoscaler mode is ON, ONLY_SCALE_OUT or OFF, not "${mode}" (asked for ${mig.name})`,
        );
      }
      // Taking a MIG over needs it free of rollouts; giving its autoscaler its mode back never waits for one.
      if (mode === 'OFF' && (await held(mig))) return { mig, outcome: 'held' };
      const autoscaler = await linkedAutoscaler(runtime, mig, await getMig(runtime, mig));
      if (autoscaler === undefined) return { mig, outcome: 'none' };
      if (autoscaler.mode === mode) return { mig, outcome: 'unchanged', previous: autoscaler.mode };
      await patchAutoscalerMode(runtime, mig, autoscaler.name, mode);
      runtime.log.info(`set the autoscaler mode of ${mig.name} from ${autoscaler.mode} to ${mode}`);
      return { mig, outcome: 'set', previous: autoscaler.mode };
    },

    async removePoolRunners({ mig, runners }) {
      if (await held(mig)) return { mig, drained: [], skippedBusy: [], removedStuck: [], held: true };
      return { ...(await drains.drainIdleRunners({ mig, only: runners })), held: false };
    },
  };
}
