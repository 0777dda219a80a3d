/**
 * The activity factory: every GCP and GitHub effect of a rollout, over injected clients. Activities never read
 * the environment or construct clients (worker/ does), so tests run them on the real clients against the
 * simulator.
 */
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { migNameOf, selectMigRefs } from '../runner-config/matrix.js';
import { compareRunnerVersions } from '../runner-config/runner-versions.js';
import { SelectorError } from '../runner-config/selectors.js';
import type { AutoscalingBounds } from '../runner-config/types.js';
import { FailureType, permanentFailure, toFailure } from './failures.js';
import {
  getMig,
  managedInstances,
  migVersions,
  operationOf,
  resourceName,
  templateUrl,
  toInstanceInfo,
  toSnapshot,
  waitForOperation,
} from './mig-state.js';
import { makeRoomFor } from './canary-room.js';
import { planCanary, planDirect, planPromote, planRollback, type MigState, type UpdatePlan } from './mig-updates.js';
import type { ActivityDeps } from './ports.js';
import { archivePlatform, parseReleaseDigests, versionFromTag } from './release.js';
import { listRunnersByPrefix, migRunnerPrefix, removeRunner } from './runners.js';
import { ActivityRuntime } from './runtime.js';
import { createVersionTemplates, listTemplates } from './templates.js';
import {
  bootloopProblems,
  canaryAbsenceProblem,
  FinishedRunJobs,
  jobFailureProblem,
  observeCanaryVms,
  recreatedVmProblems,
  readTemplateVms,
  tallyJobs,
  versionSlots,
} from './canary-health.js';
import type {
  CanaryHealth,
  CanaryObservations,
  ConvergenceProgress,
  DrainResult,
  MigLocator,
  MigSnapshot,
  MigUpdateResult,
  MigVersion,
  RolloutActivities,
  RunnerInfo,
} from './types.js';

export { FailureType, NON_RETRYABLE_FAILURE_TYPES } from './failures.js';
export type { ActivityDeps, ActivityLogger, ActivityTiming, ComputeClients, GitHubClient } from './ports.js';
export type * from './types.js';

/** Progress a wait heartbeats; a retried attempt continues from it (same deadline, same poll count). */
export interface WaitProgress {
  readonly startedAt: string;
  readonly polls: number;
  readonly observed: number;
  /** What waitForRunners saw of the VMs on the awaited template: a boot loop shows only across many polls. */
  readonly observations?: CanaryObservations;
}

/**
 * New VMs take the new template and old VMs leave only when their runner is done (they delete themselves after a
 * job, or the busy-safe drain removes them idle): GCP's opportunistic update never replaces a VM by itself.
 * https://cloud.google.com/compute/docs/instance-groups/rolling-out-updates-to-managed-instance-groups#type
 */
const BUSY_SAFE_UPDATE_POLICY = { type: 'OPPORTUNISTIC' } as const;

export function createActivities(deps: ActivityDeps): RolloutActivities {
  const runtime = new ActivityRuntime(deps);
  const finishedRunJobs = new FinishedRunJobs();
  const { compute, fleet } = deps;
  const project = fleet.project;

  async function describe(mig: MigLocator, withInstances = true, reads = runtime): Promise<MigSnapshot> {
    const [igm, instances] = await Promise.all([
      getMig(reads, mig),
      withInstances ? managedInstances(reads, mig) : Promise.resolve(undefined),
    ]);
    return toSnapshot(fleet.namePrefix, mig.region, igm, instances);
  }

  /**
   * Plans the change against the MIG's current versions and patches only when the plan says so. The patch
   * carries the fingerprint of the state it was planned on (a concurrent writer makes GCP answer 412) and a
   * requestId tied to this activity and that fingerprint, so a re-sent patch is deduplicated by GCP.
   */
  async function updateVersions(
    mig: MigLocator,
    action: string,
    plan: (state: MigState) => UpdatePlan,
  ): Promise<MigUpdateResult> {
    const state = await describe(mig, false);
    const decided = plan(state);
    if (decided.kind === 'already-applied') {
      runtime.log.info(`${action}: MIG ${mig.name} already in the requested state`, { mig: mig.name });
      return { mig, applied: false, versions: state.versions };
    }
    const what = `${action} MIG ${mig.name} in ${mig.region}`;
    const result = await runtime
      .call(
        what,
        () =>
          compute.migs.patch({
            project,
            region: mig.region,
            instanceGroupManager: mig.name,
            requestId: runtime.attemptRequestId(action, mig.region, mig.name, state.fingerprint),
            instanceGroupManagerResource: {
              fingerprint: state.fingerprint,
              // Said every time: a MIG another tool left PROACTIVE would replace busy VMs and kill their jobs.
              updatePolicy: BUSY_SAFE_UPDATE_POLICY,
              versions: decided.versions.map((version) => ({
                name: version.name,
                instanceTemplate: templateUrl(project, version.instanceTemplate),
                ...(version.targetSize === undefined ? {} : { targetSize: version.targetSize }),
              })),
            },
          }),
        FailureType.MIG_NOT_FOUND,
      )
      .catch((error: unknown) => {
        throw missingTemplateFailure(error, decided.versions, mig) ?? error;
      });
    await waitForOperation(runtime, { region: mig.region }, operationOf(result), what);
    runtime.log.info(`${action}: patched MIG ${mig.name}`, { mig: mig.name, versions: decided.versions });
    return { mig, applied: true, versions: decided.versions };
  }

  /** GCP answers a patch naming a missing template with 400/404 that names it: make that a clear failure. */
  function missingTemplateFailure(error: unknown, versions: readonly MigVersion[], mig: MigLocator): Error | undefined {
    const failure = error as { type?: string; message?: string };
    if (failure.type !== FailureType.INVALID_REQUEST && failure.type !== FailureType.MIG_NOT_FOUND) return undefined;
    const missing = versions.find((version) => failure.message?.includes(version.instanceTemplate) === true);
    if (missing === undefined) return undefined;
    return permanentFailure(
      FailureType.TEMPLATE_NOT_FOUND,
      `instance template ${missing.instanceTemplate} does not exist; create the version's templates first (rollout templates create)`,
      { template: missing.instanceTemplate, mig },
    );
  }

  async function autoscalerName(mig: MigLocator): Promise<string> {
    const igm = await getMig(runtime, mig);
    // The MIG links its autoscaler; gcloud names it after the MIG, which is the fallback.
    return resourceName(igm.status?.autoscaler) || mig.name;
  }

  async function readAutoscaling(mig: MigLocator, name: string): Promise<AutoscalingBounds> {
    const [autoscaler] = await runtime.call(
      `get autoscaler of ${mig.name} in ${mig.region}`,
      () => compute.autoscalers.get({ project, region: mig.region, autoscaler: name }),
      FailureType.MIG_NOT_FOUND,
    );
    return {
      min: autoscaler.autoscalingPolicy?.minNumReplicas ?? 0,
      max: autoscaler.autoscalingPolicy?.maxNumReplicas ?? 0,
    };
  }

  /** Runners of a MIG, each with the template of its VM (runners without a VM in the MIG are dropped). */
  async function runnersWithTemplates(
    reads: ActivityRuntime,
    mig: MigLocator,
  ): Promise<{
    instances: ReturnType<typeof toInstanceInfo>[];
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

  /**
   * Polls `observe` until it reports done. Progress is heartbeated, and a retried attempt keeps the first
   * attempt's start, so `timeoutMinutes` bounds the whole wait rather than each attempt. Observations a poll
   * returns are handed to the next poll, across attempts too.
   */
  async function pollUntil<T>(
    what: string,
    timeoutMinutes: number | undefined,
    observe: (
      previous: CanaryObservations | undefined,
    ) => Promise<{ done: boolean; observed: number; value: T; describe: string; observations?: CanaryObservations }>,
  ): Promise<T> {
    const previous = runtime.previousHeartbeat<WaitProgress>();
    const startedAt = previous?.startedAt ?? runtime.now().toISOString();
    let polls = previous?.polls ?? 0;
    let observations = previous?.observations;
    for (;;) {
      const result = await observe(observations);
      polls++;
      observations = result.observations ?? observations;
      runtime.heartbeat({
        startedAt,
        polls,
        observed: result.observed,
        ...(observations === undefined ? {} : { observations }),
      } satisfies WaitProgress);
      if (result.done) return result.value;
      const waitedMs = runtime.now().getTime() - Date.parse(startedAt);
      if (timeoutMinutes !== undefined && waitedMs >= timeoutMinutes * 60_000) {
        throw permanentFailure(
          FailureType.WAIT_TIMED_OUT,
          `${what}: gave up after ${Math.round(waitedMs / 60_000)} minutes (${polls} polls); last seen: ${result.describe}`,
          { startedAt, polls, observed: result.observed },
        );
      }
      await runtime.sleep(runtime.timing.pollIntervalMs);
    }
  }

  return {
    async loadFleet() {
      return fleet;
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

    async missingTemplates(names) {
      const found = await listTemplates(runtime, names);
      return names.filter((name) => !found.has(name));
    },

    async createTemplates(input) {
      return createVersionTemplates(runtime, input);
    },

    async canaryMig({ mig, template, canarySize }) {
      const result = await updateVersions(mig, 'canary', (state) => planCanary(state, template, canarySize));
      return {
        ...result,
        madeRoom: (await makeRoomFor(runtime, mig, template, canarySize, { remember: true })).replaced,
      };
    },

    async promoteCanary({ mig, template }) {
      return updateVersions(mig, 'promote canary', (state) => planPromote(state, template));
    },

    async rollbackCanary({ mig, canaryTemplate }) {
      return updateVersions(mig, 'roll back canary', (state) => planRollback(state, canaryTemplate));
    },

    async directUpdate({ mig, template }) {
      const result = await updateVersions(mig, 'update', (state) => planDirect(state, template));
      // The rollout verifies a direct update by one VM on the new template; the rest follow in convergence.
      return { ...result, madeRoom: (await makeRoomFor(runtime, mig, template, 1, { remember: true })).replaced };
    },

    async getAutoscaling(mig) {
      return readAutoscaling(mig, await autoscalerName(mig));
    },

    async setAutoscaling({ mig, bounds }) {
      if (!Number.isInteger(bounds.min) || !Number.isInteger(bounds.max) || bounds.min < 0 || bounds.max < bounds.min) {
        throw permanentFailure(
          FailureType.INVALID_REQUEST,
          `autoscaling bounds must be integers with 0 <= min <= max, got min ${bounds.min}, max ${bounds.max}`,
        );
      }
      const name = await autoscalerName(mig);
      const current = await readAutoscaling(mig, name);
      if (current.min === bounds.min && current.max === bounds.max) return current;
      const what = `set autoscaling of ${mig.name} in ${mig.region} to ${bounds.min}..${bounds.max}`;
      const result = await runtime.call(
        what,
        () =>
          compute.autoscalers.patch({
            project,
            region: mig.region,
            autoscaler: name,
            requestId: runtime.requestId('autoscaling', mig.region, mig.name, `${bounds.min}..${bounds.max}`),
            autoscalerResource: {
              name,
              autoscalingPolicy: { minNumReplicas: bounds.min, maxNumReplicas: bounds.max },
            },
          }),
        FailureType.MIG_NOT_FOUND,
      );
      await waitForOperation(runtime, { region: mig.region }, operationOf(result), what);
      return { min: bounds.min, max: bounds.max };
    },

    async listRunners({ namePrefix }) {
      return listRunnersByPrefix(runtime, namePrefix);
    },

    async waitForRunners({ mig, template, runnerVersion, count, timeoutMinutes }) {
      const what = `wait for ${count} runners of ${mig.name} on ${template}`;
      // Each poll makes several reads (MIG, VMs, creation times per zone, runners) for up to an hour: without
      // retries within the attempt, one transient failure among them would fail the attempt.
      const reads = runtime.retryingReads();
      return pollUntil(what, timeoutMinutes, async (previous) => {
        const { instances, runners, online } = await readTemplateVms(reads, mig, template);
        const observations = observeCanaryVms(previous, instances, online, new Set(), runtime.now().toISOString());
        const onTemplate = new Set(instances.map((instance) => instance.name));
        const ready = runners.filter(
          (runner) =>
            runner.online &&
            onTemplate.has(runner.name) &&
            (runnerVersion === undefined || runner.runnerVersion === runnerVersion),
        ).length;
        if (instances.length < count) {
          // An ephemeral VM on the template may have run its job and deleted itself while the MIG, at its target
          // size, kept the old VMs: without room the wait would last until one of them ran a job.
          await makeRoomFor(runtime, mig, template, count, { remember: false });
        }
        if (ready < count) {
          // A template whose VMs crash before registering never brings its runners up: waiting out the timeout
          // would only hold the MIG's worker, and with it the rollback, for nothing. Only the same-VM rule: an
          // ephemeral VM can register, run a short job and delete itself between two polls, so a stream of VMs
          // never seen with a runner is no evidence here (canaryHealth confirms registrations by their jobs).
          const problems = recreatedVmProblems(observations);
          if (problems.length > 0) {
            throw permanentFailure(
              FailureType.BOOT_LOOP,
              `${what}: MIG ${mig.name} in ${mig.region} boot-loops on template ${template}: ${problems.join('; ')}`,
              { mig: mig.name, region: mig.region, template, problems },
            );
          }
        }
        return {
          done: ready >= count,
          observed: ready,
          value: ready,
          describe: `${ready} of ${count} online`,
          observations,
        };
      });
    },

    async waitForMigStable(mig, options = {}) {
      const reads = runtime.retryingReads();
      return pollUntil(`wait for MIG ${mig.name} to become stable`, options.timeoutMinutes, async () => {
        const snapshot = await describe(mig, true, reads);
        const done = snapshot.isStable && snapshot.versionTargetReached;
        const onTarget = Object.values(snapshot.instancesByTemplate).reduce((sum, n) => sum + n, 0);
        return {
          done,
          observed: onTarget,
          value: snapshot,
          describe: `stable=${snapshot.isStable}, versionTargetReached=${snapshot.versionTargetReached}`,
        };
      });
    },

    async drainIdleRunners({ mig, keepTemplate, dryRun = false }) {
      // VMs whose runners an earlier attempt already removed from GitHub: they are idle for good, and without
      // this memory a retry would no longer see them as runners and leave them running.
      const resumed = runtime.previousHeartbeat<{ deregistered: string[] }>()?.deregistered ?? [];
      // Only the listings retry within the attempt: a transient failure among them would otherwise fail a drain
      // before it removed anything. Removals and the deletion are effects, left to the attempt's retry.
      const reads = runtime.retryingReads();
      const igmInstances = await managedInstances(reads, mig);
      const instanceUrl = new Map(igmInstances.map((instance) => [instance.name ?? '', instance.instance ?? '']));
      const instances = igmInstances.map((instance) => toInstanceInfo(instance, undefined));
      const templateOf = new Map(instances.map((info) => [info.name, info.instanceTemplate]));
      const runners = await listRunnersByPrefix(reads, migRunnerPrefix(mig.name));
      const drainable = (runner: RunnerInfo): boolean => {
        const template = templateOf.get(runner.name);
        return runner.online && template !== undefined && (keepTemplate === undefined || template !== keepTemplate);
      };

      const drained: string[] = [];
      const skippedBusy: string[] = [];
      const deregistered = resumed.filter((name) => instanceUrl.has(name));
      for (const runner of runners.filter(drainable)) {
        if (runner.busy) {
          skippedBusy.push(runner.name);
          continue;
        }
        if (dryRun) {
          drained.push(runner.name);
          continue;
        }
        const outcome = await removeRunner(runtime, runner);
        if (outcome === 'busy') {
          skippedBusy.push(runner.name);
          continue;
        }
        drained.push(runner.name);
        deregistered.push(runner.name);
        runtime.heartbeat({ deregistered });
      }
      drained.push(...resumed.filter((name) => instanceUrl.has(name) && !drained.includes(name)));

      const removedStuck: string[] = [];
      const online = new Set(runners.filter((runner) => runner.online).map((runner) => runner.name));
      if (keepTemplate !== undefined) {
        // A VM on another template without an online runner runs no job, whatever its state: booting, stuck,
        // crashing and being recreated by the MIG (a boot-looping canary), or dead with its registration left
        // behind offline (GitHub keeps an ephemeral runner's offline registration for a day). Waiting for it to
        // settle would leave a rollback's bad template in the MIG for as long as the loop lasts.
        for (const instance of instances) {
          // A VM whose template GCP does not report yet cannot be told apart from one on keepTemplate.
          if (
            instance.instanceTemplate !== '' &&
            instance.instanceTemplate !== keepTemplate &&
            instance.currentAction !== 'DELETING' &&
            !online.has(instance.name) &&
            !deregistered.includes(instance.name)
          ) {
            removedStuck.push(instance.name);
          }
        }
      }
      if (removedStuck.length > 0 && !dryRun) {
        // Such a VM may register in the moments since we listed: look once more right before deleting. One that
        // came online is a working runner now, left to the next drain; an offline one is deregistered first, and
        // GitHub's refusal (422) while it runs a job keeps its VM.
        const latest = await listRunnersByPrefix(reads, migRunnerPrefix(mig.name), true);
        const nowOnline = new Set(latest.filter((runner) => runner.online).map((runner) => runner.name));
        removedStuck.splice(0, removedStuck.length, ...removedStuck.filter((name) => !nowOnline.has(name)));
        for (const runner of latest.filter((candidate) => removedStuck.includes(candidate.name))) {
          if ((await removeRunner(runtime, runner)) === 'busy') {
            removedStuck.splice(removedStuck.indexOf(runner.name), 1);
            skippedBusy.push(runner.name);
          }
        }
      }

      const toDelete = [...new Set([...deregistered, ...removedStuck])];
      if (!dryRun && toDelete.length > 0) {
        const what = `delete ${toDelete.length} VMs of ${mig.name} in ${mig.region}`;
        const result = await runtime.call(
          what,
          () =>
            compute.migs.deleteInstances({
              project,
              region: mig.region,
              instanceGroupManager: mig.name,
              requestId: runtime.attemptRequestId('delete-instances', mig.region, mig.name, ...[...toDelete].sort()),
              regionInstanceGroupManagersDeleteInstancesRequestResource: {
                instances: toDelete.map((name) => instanceUrl.get(name) ?? name),
                // A VM that deleted itself meanwhile must not fail the deletion of the others.
                skipInstancesOnValidationError: true,
              },
            }),
          FailureType.MIG_NOT_FOUND,
        );
        await waitForOperation(runtime, { region: mig.region }, operationOf(result), what);
      }
      const summary: DrainResult = { mig, drained, skippedBusy, removedStuck };
      runtime.log.info(`drain ${mig.name}${dryRun ? ' (dry run)' : ''}`, { ...summary });
      return summary;
    },

    async canaryHealth({ mig, canaryTemplate, since, previous }) {
      const started = Date.parse(since);
      if (Number.isNaN(started)) {
        throw permanentFailure(FailureType.INVALID_REQUEST, `canary start "${since}" is not an ISO timestamp`);
      }
      // Dozens of reads per check (zones, runs, jobs of each run): each retries its own transient failures, or
      // at 10% failures per call nearly every attempt would fail on one of them and the check would never finish.
      const reads = runtime.retryingReads();
      const { igm, instances, online } = await readTemplateVms(reads, mig, canaryTemplate);
      const now = runtime.now().getTime();
      const seenAt = new Date(now).toISOString();
      const seen = observeCanaryVms(previous, instances, online, new Set(), seenAt);
      const jobs = await tallyJobs(reads, mig, since, new Set(seen.vms.map((vm) => vm.name)), finishedRunJobs);
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
      // MIG whose old runners are all busy holds the canary back through no fault of the canary's.
      const room =
        instances.length === 0 && expected > 0 && canaryVersion !== undefined
          ? await makeRoomFor(runtime, mig, canaryTemplate, expected, { remember: false })
          : { replaced: [], waitingForBusy: 0 };
      const absence = canaryAbsenceProblem({
        observations,
        canaryVmsNow: instances.length,
        heldBack: room.replaced.length > 0 || room.waitingForBusy > 0,
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
    },

    async convergence({ mig, targetTemplate }) {
      // Checked on every MIG again and again until the rollout converges: one transient failure among its reads
      // should not fail a check.
      const reads = runtime.retryingReads();
      const [snapshot, { instances, runners }] = await Promise.all([
        describe(mig, false, reads),
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

    async latestRunnerRelease({ newerThan }) {
      const { github } = deps;
      const { data: release } = await runtime.call('get the latest runner release', () =>
        github.rest.repos.getLatestRelease({ owner: 'actions', repo: 'runner' }),
      );
      const version = versionFromTag(release.tag_name);
      if (newerThan !== undefined && compareRunnerVersions(version, newerThan) <= 0) return null;
      const digests = parseReleaseDigests(release.body ?? '');
      if (Object.keys(digests).length === 0) {
        throw permanentFailure(
          FailureType.RELEASE_MALFORMED,
          `release ${release.tag_name} lists no SHA-256 digests in its body`,
          {
            tag: release.tag_name,
          },
        );
      }
      const assets: Record<string, string> = {};
      for (const asset of release.assets) {
        const platform = archivePlatform(asset.name, version);
        if (platform !== undefined) assets[platform] = asset.browser_download_url;
      }
      return {
        version,
        publishedAt: release.published_at ?? release.created_at,
        securityRelease: /\bsecurity\b/i.test(`${release.name ?? ''}\n${release.body ?? ''}`),
        digests,
        assets,
      };
    },

    async verifyRunnerArchive({ url, sha256 }) {
      const download = deps.fetch ?? fetch;
      const expected = sha256.toLowerCase().replace(/^sha256:/, '');
      let response: Response;
      try {
        response = await download(url, { redirect: 'follow' });
      } catch (error) {
        throw toFailure(error, `download ${url}`);
      }
      if (!response.ok || response.body === null) {
        const error = Object.assign(new Error(`HTTP ${response.status} ${response.statusText}`), {
          status: response.status,
        });
        throw toFailure(error, `download ${url}`, FailureType.INVALID_REQUEST);
      }
      const hash = createHash('sha256');
      let bytes = 0;
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          hash.update(chunk);
          bytes += chunk.byteLength;
          runtime.heartbeat({ bytes });
        }
      } catch (error) {
        throw toFailure(error, `download ${url}`);
      }
      const actual = hash.digest('hex');
      if (actual !== expected) {
        throw permanentFailure(
          FailureType.DIGEST_MISMATCH,
          `runner archive ${url} has SHA-256 ${actual}, but the release publishes ${expected}`,
          { url, expected, actual, bytes },
        );
      }
      return { bytes };
    },
  };
}
