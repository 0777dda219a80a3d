/**
 * The checks a rollout repeats on a MIG while it waits: its canary's health (the rules are in canary-health.ts),
 * and its convergence onto the target template.
 */
import {
  bootloopProblems,
  canaryAbsenceProblem,
  FinishedRunJobs,
  jobFailureProblem,
  listRecentRuns,
  observeCanaryVms,
  readTemplateVms,
  recentRunsSince,
  tallyJobs,
  type RecentRuns,
  versionSlots,
} from './canary-health.js';
import { makeRoomFor } from './canary-room.js';
import pLimit from 'p-limit';
import { FailureType, permanentFailure, redact } from './failures.js';
import { zonesOf } from '../runner-config/matrix.js';
import { describeMig, managedInstances, migVersions, regionCreationTimes, toInstanceInfo } from './mig-reads.js';
import { listRunnersByPrefix, migRunnerPrefix } from './runners.js';
import type { ActivityRuntime } from './runtime.js';
import type {
  CanaryHealth,
  CanaryHealthOutcome,
  CanaryHealthRequest,
  ConvergenceProgress,
  ManagedInstanceInfo,
  MigLocator,
  RolloutActivities,
  RunnerInfo,
} from './contract.js';

export function createRolloutCheckActivities(
  runtime: ActivityRuntime,
): Pick<RolloutActivities, 'canaryHealth' | 'canaryHealthRound' | 'convergence'> {
  const finishedRunJobs = new FinishedRunJobs();
  return {
    async canaryHealth(request) {
      // Dozens of reads per check (zones, runs, jobs of each run): each retries its own transient failures, or
      // at 10% failures per call nearly every attempt would fail on one of them and the check would never finish.
      return checkCanary(runtime.retryingReads(), runtime, request, finishedRunJobs);
    },

    async canaryHealthRound({ checks }) {
      for (const check of checks) canaryStart(check.since);
      const reads = runtime.retryingReads();
      return runtime.heartbeating({ canaries: checks.length }, async () => {
        if (checks.length === 0) return [];
        // Every canary's runs are a prefix of the runs since the earliest start: one listing serves the round.
        const earliest = checks.reduce(
          (first, check) => (Date.parse(check.since) < Date.parse(first) ? check.since : first),
          checks[0]!.since,
        );
        const runs = await listRecentRuns(reads, earliest);
        // And one list per zone gives the creation times of every canaried MIG's VMs in a region.
        const regions = [...new Set(checks.map((check) => check.mig.region))];
        const creationTimes = new Map(
          await Promise.all(
            regions.map(async (region) => {
              const migs = checks.filter((check) => check.mig.region === region).map((check) => check.mig.name);
              const zones = zonesOf(runtime.deps.fleet, region);
              return [region, await regionCreationTimes(reads, region, migs, zones)] as const;
            }),
          ),
        );
        const limit = pLimit(runtime.timing.concurrency);
        return Promise.all(
          checks.map((check) =>
            limit(async (): Promise<CanaryHealthOutcome> => {
              const shared = { runs, creationTimes: creationTimes.get(check.mig.region)! };
              try {
                return { mig: check.mig, health: await checkCanary(reads, runtime, check, finishedRunJobs, shared) };
              } catch (error) {
                return { mig: check.mig, failure: redact(error instanceof Error ? error.message : String(error)) };
              }
            }),
          ),
        );
      });
    },

    async convergence({ mig, targetTemplate }) {
      // Checked on every MIG again and again until the rollout converges: one transient failure among its reads
      // should not fail a check.
      const reads = runtime.retryingReads();
      const [snapshot, { instances, runners }] = await Promise.all([
        describeMig(reads, mig, { withInstances: false }),
        runnersWithTemplates(reads, mig),
      ]);
      const onlineRunners = runners.filter((runner) => runner.online);
      const progress: ConvergenceProgress = {
        mig,
        targetTemplate,
        instancesOnTarget: instances.filter((instance) => instance.instanceTemplate === targetTemplate).length,
        instancesTotal: instances.length,
        runnersOnTarget: onlineRunners.filter((runner) => runner.template === targetTemplate).length,
        runnersOld: onlineRunners.filter((runner) => runner.template !== targetTemplate).length,
        versionTargetReached: snapshot.versionTargetReached,
        isStable: snapshot.isStable,
      };
      return progress;
    },
  };
}

/** When the canary started, refusing what is not a timestamp: every count of the check is from it. */
function canaryStart(since: string): number {
  const started = Date.parse(since);
  if (Number.isNaN(started)) {
    throw permanentFailure(FailureType.INVALID_REQUEST, `canary start "${since}" is not an ISO timestamp`);
  }
  return started;
}

/**
 * One canary's health check. `reads` retries each read's transient failures. `shared`, what a round read for all
 * its canaries (the config repo's runs since no later than this canary's start, the creation times of the VMs of
 * its region), saves this check its own reads.
 */
async function checkCanary(
  reads: ActivityRuntime,
  runtime: ActivityRuntime,
  { mig, canaryTemplate, since, previous }: CanaryHealthRequest,
  finishedRunJobs: FinishedRunJobs,
  shared?: { readonly runs: RecentRuns; readonly creationTimes: ReadonlyMap<string, string> },
): Promise<CanaryHealth> {
  const started = canaryStart(since);
  const { igm, instances, online } = await readTemplateVms(reads, mig, canaryTemplate, shared?.creationTimes);
  const now = runtime.now().getTime();
  const seenAt = new Date(now).toISOString();
  const seen = observeCanaryVms(previous, instances, online, new Set(), seenAt);
  const recent = shared === undefined ? await listRecentRuns(reads, since) : recentRunsSince(shared.runs, since);
  const jobs = await tallyJobs(reads, mig, recent, new Set(seen.vms.map((vm) => vm.name)), finishedRunJobs);
  const observations = observeCanaryVms(seen, [], new Set(), jobs.jobRunners, seenAt);
  const registered = new Set(observations.vms.filter((vm) => vm.registered).map((vm) => vm.name));

  const grace = runtime.timing.registrationGraceMs;
  const problems: string[] = [];
  const versions = migVersions(igm);
  const canaryVersion = versions.find((version) => version.instanceTemplate === canaryTemplate);
  if (canaryVersion === undefined) {
    problems.push(`MIG has no version on ${canaryTemplate} (versions: ${versions.map((v) => v.name).join(', ')})`);
  }
  const canarySize = versionSlots(canaryVersion, igm.targetSize ?? 0);
  const recreating = instances.filter((instance) => instance.currentAction === 'RECREATING');
  for (const instance of recreating) {
    problems.push(`canary VM ${instance.name} is being recreated (repair after a failure)`);
  }
  problems.push(...bootloopProblems(observations, canarySize));
  for (const instance of instances) {
    const age = now - Date.parse(instance.createdAt);
    const leaving = instance.currentAction === 'RECREATING' || instance.currentAction === 'DELETING';
    if (!registered.has(instance.name) && !leaving && age > grace) {
      problems.push(
        `canary VM ${instance.name} has no online runner ${Math.round(age / 60_000)} minutes after it was created`,
      );
    }
  }
  // A MIG scaled in below the canary's size keeps fewer canary VMs, none at size 0.
  const expected = Math.min(canarySize, igm.targetSize ?? 0);
  // A canary VM that ran its job and deleted itself leaves no slot when the MIG stays at its size with old
  // VMs: the canary would be missing until one of them ran a job. Room made now is a canary on its way, and a
  // MIG whose old runners are all busy holds the canary back through no fault of the canary's, and so does a
  // MIG below its autoscaler's min, whose next VM is the canary's.
  const room =
    instances.length === 0 && expected > 0 && canaryVersion !== undefined
      ? await makeRoomFor(runtime, mig, canaryTemplate, expected, { remember: false })
      : { replaced: [], waitingForBusy: 0, coming: 0 };
  const absence = canaryAbsenceProblem({
    observations,
    canaryVmsNow: instances.length,
    heldBack: room.replaced.length > 0 || room.waitingForBusy > 0 || room.coming > 0,
    expected,
    since: started,
    now,
    graceMs: grace,
  });
  if (absence !== undefined) problems.push(absence);
  const jobProblem = jobFailureProblem(jobs, since);
  if (jobProblem !== undefined) problems.push(jobProblem);
  const result: CanaryHealth = {
    mig,
    healthy: problems.length === 0,
    problems,
    canaryInstances: instances.length,
    canaryRunnersOnline: instances.filter((instance) => online.has(instance.name)).length,
    canaryRecreations:
      observations.vms.reduce((sum, vm) => sum + Math.max(0, vm.lives.length - 1), 0) + recreating.length,
    canaryJobs: jobs.canary,
    baseJobs: jobs.base,
    observations,
  };
  return result;
}

/** Runners of a MIG, each with the template of its VM (runners without a VM in the MIG are dropped). */
async function runnersWithTemplates(
  reads: ActivityRuntime,
  mig: MigLocator,
): Promise<{
  instances: ManagedInstanceInfo[];
  runners: Array<RunnerInfo & { template: string }>;
}> {
  const [instances, runners] = await Promise.all([
    managedInstances(reads, mig),
    listRunnersByPrefix(reads, migRunnerPrefix(mig.name)),
  ]);
  const infos = instances.map((instance) => toInstanceInfo(instance, undefined));
  const templateOf = new Map(infos.map((info) => [info.name, info.instanceTemplate]));
  return {
    instances: infos,
    runners: runners.flatMap((runner) => {
      const template = templateOf.get(runner.name);
      return template === undefined ? [] : [{ ...runner, template }];
    }),
  };
}
