/**
 * The canary's health rules: job outcomes on canary VMs against the MIG's base VMs, read from GitHub Actions in the
 * fleet's config repo, and boot loops, read from what successive checks observed of the canary's VMs.
 */
import type { protos } from '@google-cloud/compute';
import pLimit from 'p-limit';
import { zonesOf } from '../runner-config/matrix.js';
import { CANARY_VERSION_NAME } from '../runner-config/naming.js';
import { permanentFailure, FailureType } from './failures.js';
import { getMig, instanceCreationTimes, managedInstances, toInstanceInfo } from './mig-reads.js';
import { listRunnersByPrefix, migRunnerPrefix } from './runners.js';
import type { ActivityRuntime } from './runtime.js';
import type {
  CanaryObservations,
  JobCounts,
  ManagedInstanceInfo,
  MigLocator,
  MigVersion,
  ObservedCanaryVm,
  RunnerInfo,
} from './contract.js';

/**
 * CI jobs also fail for their code's sake (a red presubmit is normal), so only a failure rate clearly above the
 * base VMs' rate over the same period is evidence against the new template: 20 percentage points.
 */
export const JOB_FAILURE_MARGIN = 0.2;
/**
 * With fewer completed canary jobs, one unlucky failure decides the verdict: at a 10% base failure rate, one
 * failure among three jobs happens by chance about a quarter of the time.
 */
export const MIN_CANARY_JOBS = 5;
/** Below this many base jobs the base rate is noise, and there is nothing to compare the canary with. */
export const MIN_BASE_JOBS = 5;
/**
 * Every run costs one jobs call, and GitHub grants an installation 5,000 requests an hour: at this cap a check
 * makes at most 2 list calls and 200 jobs calls, so a dozen canaried MIGs checked every 30 minutes stay within it.
 * A longer soak is judged on its newest 200 finished runs.
 */
export const MAX_RUNS_PER_CHECK = 200;
/**
 * GCP repairs a VM that fails its health check by recreating it under the same name with a new creation time.
 * A canary VM seen with this many creation times and never with a runner keeps crashing before it registers.
 */
export const BOOTLOOP_MIN_LIVES = 3;
/**
 * A MIG that replaces a crashing VM by a new one (new name) shows the loop as a stream of short-lived VMs: more
 * than twice the canary's size of canary VMs without any runner means they do not survive to register.
 */
export const BOOTLOOP_VMS_PER_CANARY_SLOT = 2;
/** Bounds what the caller carries between checks (workflow history): enough for weeks of one-job VMs. */
const MAX_REMEMBERED_VMS = 500;

/**
 * Finished runs whose jobs a worker keeps: a few days of a busy config repo, at roughly 100 bytes a job. Enough
 * that every MIG's check in a round, and the next rounds, share one read of each run.
 */
const MAX_CACHED_RUNS = 20_000;

/** What a check needs of one job: who ran it and how it ended. */
export interface RunJob {
  readonly runnerName: string | null;
  readonly conclusion: string | null;
}

/**
 * The jobs of finished workflow run attempts, shared by every check a worker makes. A completed attempt's jobs
 * never change (a re-run is a new attempt of the same run, with jobs of its own, so it is read anew),
 * so without it a round over N canaried MIGs would list the same runs' jobs N times (one GitHub call per run per
 * MIG: a thousand MIGs would spend an installation's hourly quota in one round). Failed reads are not kept.
 */
export class FinishedRunJobs {
  private readonly runs = new Map<string, Promise<readonly RunJob[]>>();

  constructor(private readonly capacity = MAX_CACHED_RUNS) {}

  /** `attempt` is the run's `run_attempt` as listed: 1, then one more for every re-run. */
  get(runId: number, attempt: number, read: () => Promise<readonly RunJob[]>): Promise<readonly RunJob[]> {
    const key = `${runId}#${attempt}`;
    const kept = this.runs.get(key);
    if (kept !== undefined) {
      // Most recently used last, so eviction drops the runs no check has asked for the longest.
      this.runs.delete(key);
      this.runs.set(key, kept);
      return kept;
    }
    const reading = read();
    this.runs.set(key, reading);
    reading.catch(() => this.runs.delete(key));
    for (const oldest of this.runs.keys()) {
      if (this.runs.size <= this.capacity) break;
      this.runs.delete(oldest);
    }
    return reading;
  }
}

const SUCCEEDED = new Set(['success']);
/** `timed_out` counts: a VM that hangs or loses its network makes jobs time out, not fail. */
const FAILED = new Set(['failure', 'timed_out']);

export interface JobTally {
  readonly canary: JobCounts;
  readonly base: JobCounts;
  /** Finished runs inspected (at most MAX_RUNS_PER_CHECK). */
  readonly runs: number;
  readonly truncated: boolean;
  /** Names of this MIG's VMs that ran any of the jobs (only a registered runner runs jobs). */
  readonly jobRunners: ReadonlySet<string>;
}

/** A run as the health checks read it from the config repo's listing. */
interface ListedRun {
  readonly id: number;
  readonly status: string | null;
  readonly run_attempt?: number;
  readonly created_at: string;
}

/** The config repo's newest runs created since `since` (at most MAX_RUNS_PER_CHECK), newest first. */
export interface RecentRuns {
  readonly since: string;
  readonly runs: readonly ListedRun[];
  /** More runs were created since `since` than the listing kept. */
  readonly truncated: boolean;
}

/** `since` as GitHub's `created` qualifier takes it: whole seconds (dropping the fraction only widens the window). */
function wholeSeconds(since: string): string {
  return new Date(since).toISOString().replace(/\.\d+Z$/, 'Z');
}

function configRepoOf(runtime: ActivityRuntime): { owner: string; repo: string } {
  const { configRepo } = runtime.deps.fleet.github;
  const [owner = '', repo = ''] = configRepo.split('/');
  if (owner === '' || repo === '') {
    throw permanentFailure(
      FailureType.INVALID_REQUEST,
      `the fleet's github.configRepo "${configRepo}" is not of the form owner/repo`,
    );
  }
  return { owner, repo };
}

/** Lists the config repo's runs created since `since`, newest first, at most MAX_RUNS_PER_CHECK of them. */
export async function listRecentRuns(runtime: ActivityRuntime, since: string): Promise<RecentRuns> {
  const { github, fleet } = runtime.deps;
  const { owner, repo } = configRepoOf(runtime);
  let seen = 0;
  let truncated = false;
  const runs = await runtime.call(`list workflow runs of ${fleet.github.configRepo} since ${since}`, () => {
    // A retried listing starts over from the first page.
    seen = 0;
    truncated = false;
    return github.paginate(
      github.rest.actions.listWorkflowRunsForRepo,
      // Every status: a run being re-run is queued or in progress again, yet its earlier attempts' jobs are done.
      { owner, repo, created: `>=${wholeSeconds(since)}`, per_page: 100 },
      (response, done) => {
        seen += response.data.length;
        if (seen >= MAX_RUNS_PER_CHECK) {
          truncated = seen > MAX_RUNS_PER_CHECK || response.headers.link?.includes('rel="next"') === true;
          done();
        }
        return response.data;
      },
    );
  });
  return { since, runs: runs.slice(0, MAX_RUNS_PER_CHECK), truncated };
}

/**
 * The part of a listing since an earlier moment that a listing since `since` would have answered. Runs are listed
 * newest first, so those created since `since` are a prefix of it: the same runs, up to the same cap.
 */
export function recentRunsSince(listed: RecentRuns, since: string): RecentRuns {
  const from = Date.parse(wholeSeconds(since));
  if (from < Date.parse(wholeSeconds(listed.since))) {
    throw new Error(`runs listed since ${listed.since} cannot answer for the earlier ${since}`);
  }
  const runs = listed.runs.filter((run) => Date.parse(run.created_at) >= from);
  return { since, runs, truncated: listed.truncated && runs.length === listed.runs.length };
}

/**
 * Counts finished jobs since `recent.since` on this MIG's VMs: on `canaryVms` (by runner name, which is the VM
 * name) and on its other VMs, over the runs of `recent`, each run's jobs read once per worker
 * (`finishedRunJobs`).
 */
export async function tallyJobs(
  runtime: ActivityRuntime,
  mig: MigLocator,
  recent: RecentRuns,
  canaryVms: ReadonlySet<string>,
  finishedRunJobs: FinishedRunJobs,
): Promise<JobTally> {
  const { github, fleet } = runtime.deps;
  const { owner, repo } = configRepoOf(runtime);
  // A first attempt still running has no finished job to count yet; a re-run in progress has its earlier ones.
  const inspected = recent.runs.filter((run) => run.status === 'completed' || (run.run_attempt ?? 1) > 1);
  const limit = pLimit(runtime.timing.concurrency);
  const jobsPerRun = await Promise.all(
    inspected.map((run) => {
      const read = (): Promise<readonly RunJob[]> =>
        limit(async () => {
          // Every attempt's jobs: a job that failed on a canary and was re-run elsewhere still failed on the canary.
          // https://docs.github.com/en/rest/actions/workflow-jobs#list-jobs-for-a-workflow-run (`filter`)
          const jobs = await runtime.call(`list jobs of workflow run ${run.id} in ${fleet.github.configRepo}`, () =>
            github.paginate(github.rest.actions.listJobsForWorkflowRun, {
              owner,
              repo,
              run_id: run.id,
              filter: 'all',
              per_page: 100,
            }),
          );
          return jobs.map((job) => ({ runnerName: job.runner_name, conclusion: job.conclusion }));
        });
      // Only a finished attempt's jobs are final.
      return run.status === 'completed' ? finishedRunJobs.get(run.id, run.run_attempt ?? 1, read) : read();
    }),
  );
  const prefix = migRunnerPrefix(mig.name);
  const canary = { succeeded: 0, failed: 0 };
  const base = { succeeded: 0, failed: 0 };
  const jobRunners = new Set<string>();
  for (const job of jobsPerRun.flat()) {
    const runner = job.runnerName ?? '';
    if (!runner.startsWith(prefix)) continue;
    jobRunners.add(runner);
    if (job.conclusion === null) continue;
    const counts = canaryVms.has(runner) ? canary : base;
    if (SUCCEEDED.has(job.conclusion)) counts.succeeded++;
    else if (FAILED.has(job.conclusion)) counts.failed++;
  }
  return { canary, base, runs: inspected.length, truncated: recent.truncated, jobRunners };
}

function rate(counts: JobCounts): number {
  return counts.failed / (counts.succeeded + counts.failed);
}

function percent(counts: JobCounts): string {
  return `${counts.failed} of ${counts.succeeded + counts.failed} (${Math.round(rate(counts) * 100)}%)`;
}

/** The failure-rate gate: evidence when the canary fails clearly more often than the base, on enough jobs. */
export function jobFailureProblem(tally: JobTally, since: string): string | undefined {
  const canaryJobs = tally.canary.succeeded + tally.canary.failed;
  const baseJobs = tally.base.succeeded + tally.base.failed;
  if (canaryJobs < MIN_CANARY_JOBS || baseJobs < MIN_BASE_JOBS) return undefined;
  if (rate(tally.canary) <= rate(tally.base) + JOB_FAILURE_MARGIN) return undefined;
  const window = tally.truncated ? ` (newest ${tally.runs} runs)` : '';
  return (
    `canary jobs failed ${percent(tally.canary)} vs ${percent(tally.base)} on base VMs since ${since}${window}; ` +
    `allowed: the base rate + ${Math.round(JOB_FAILURE_MARGIN * 100)} points`
  );
}

/** What one read of a MIG shows of the VMs on one template, with the MIG's runners. */
export interface TemplateVms {
  readonly igm: protos.google.cloud.compute.v1.IInstanceGroupManager;
  /** The MIG's VMs on the template, with their creation times. */
  readonly instances: readonly ManagedInstanceInfo[];
  /** Every runner of the MIG on GitHub, on any template. */
  readonly runners: readonly RunnerInfo[];
  /** Names of the MIG's runners that are online. */
  readonly online: ReadonlySet<string>;
}

/**
 * Reads the MIG, its VMs on `template` with their creation times (which only the instances API knows) and its
 * runners: what the boot-loop rule observes.
 */
export async function readTemplateVms(
  runtime: ActivityRuntime,
  mig: MigLocator,
  template: string,
  /** The creation times of the MIG's VMs when a read over its region already has them. */
  creationTimes?: ReadonlyMap<string, string>,
): Promise<TemplateVms> {
  const [igm, igmInstances, runners, createdAt] = await Promise.all([
    getMig(runtime, mig),
    managedInstances(runtime, mig),
    listRunnersByPrefix(runtime, migRunnerPrefix(mig.name)),
    creationTimes ?? instanceCreationTimes(runtime, mig, zonesOf(runtime.deps.fleet, mig.region)),
  ]);
  const instances = igmInstances
    .map((instance) => toInstanceInfo(instance, createdAt.get(instance.name ?? '')))
    .filter((instance) => instance.instanceTemplate === template);
  const online = new Set(runners.filter((runner) => runner.online).map((runner) => runner.name));
  return { igm, instances, runners, online };
}

/**
 * How many VMs the MIG keeps on a version: a canary version has a fixed size, any other version (a direct update)
 * holds the whole group. 0 without a version.
 */
export function versionSlots(version: MigVersion | undefined, migTargetSize: number): number {
  if (version === undefined) return 0;
  return version.name === CANARY_VERSION_NAME ? (version.targetSize?.fixed ?? 0) : migTargetSize;
}

/**
 * Adds this check's canary VMs, seen at `seenAt`, to what earlier checks saw. Each VM keeps its distinct creation
 * times (a repair shows up as a new one), whether it was ever seen with an online runner or ran a job, and when it
 * was last seen.
 */
export function observeCanaryVms(
  previous: CanaryObservations | undefined,
  instances: readonly ManagedInstanceInfo[],
  online: ReadonlySet<string>,
  ranJobs: ReadonlySet<string>,
  seenAt: string,
): CanaryObservations {
  const vms = new Map<string, ObservedCanaryVm>((previous?.vms ?? []).map((vm) => [vm.name, vm]));
  for (const instance of instances) {
    const known = vms.get(instance.name);
    const lives = known?.lives ?? [];
    const created = instance.createdAt;
    vms.set(instance.name, {
      name: instance.name,
      lives:
        created === '' || lives.includes(created)
          ? lives
          : // Beyond the threshold more lives add nothing to the verdict, only to history.
            [...lives, created].slice(-(BOOTLOOP_MIN_LIVES + 1)),
      registered: (known?.registered ?? false) || online.has(instance.name),
      lastSeen: seenAt,
    });
  }
  for (const name of ranJobs) {
    const known = vms.get(name);
    if (known !== undefined && !known.registered) vms.set(name, { ...known, registered: true });
  }
  return { vms: [...vms.values()].slice(-MAX_REMEMBERED_VMS) };
}

/**
 * The boot-loop rule, over everything observed since the canary started (so it holds at any moment of the loop,
 * not only while a VM is being recreated): a canary VM seen with BOOTLOOP_MIN_LIVES creation times that never had
 * a runner, or more than BOOTLOOP_VMS_PER_CANARY_SLOT × canary size canary VMs none of which ever had a runner.
 */
export function bootloopProblems(observations: CanaryObservations, canarySize: number): string[] {
  const problems = recreatedVmProblems(observations);
  const neverRegistered = observations.vms.filter((vm) => !vm.registered);
  if (
    problems.length === 0 &&
    canarySize > 0 &&
    neverRegistered.length === observations.vms.length &&
    neverRegistered.length > BOOTLOOP_VMS_PER_CANARY_SLOT * canarySize
  ) {
    problems.push(
      `${neverRegistered.length} canary VMs came and went for ${canarySize} canary slot(s) and none registered a runner: ${neverRegistered
        .map((vm) => vm.name)
        .join(', ')}`,
    );
  }
  return problems;
}

/**
 * The same-VM half of the boot-loop rule: a VM seen with BOOTLOOP_MIN_LIVES creation times that never had a
 * runner. Only the MIG's repairs recreate a VM under its name (ephemeral VMs leave through deleteInstances and
 * come back under new names), so this holds however briefly each life lasted.
 */
export function recreatedVmProblems(observations: CanaryObservations): string[] {
  return observations.vms
    .filter((vm) => !vm.registered && vm.lives.length >= BOOTLOOP_MIN_LIVES)
    .map(
      (vm) =>
        `canary VM ${vm.name} boot-loops: it was created at least ${vm.lives.length} times and never registered a runner (creation times seen: ${vm.lives.join(', ')})`,
    );
}

/** When any canary VM was last seen: the newest `lastSeen` (or, for older observations, creation time). */
function lastCanaryVmSeen(observations: CanaryObservations): number | undefined {
  const times = observations.vms
    .map((vm) => Date.parse(vm.lastSeen ?? vm.lives.at(-1) ?? ''))
    .filter((time) => !Number.isNaN(time));
  return times.length === 0 ? undefined : Math.max(...times);
}

/**
 * The missing-canary rule. Ephemeral canary VMs delete themselves after each job and the MIG brings them back as it
 * scales out, so a moment without any is normal. It is evidence only while the MIG wants `expected` (> 0) canary
 * VMs and none has been seen for longer than a VM takes to boot and register (`graceMs`), counted from the canary's
 * start or from the last canary VM the checks saw. Nor is it evidence while the canary's VM is on its way (room was
 * just made for it) or held back by old VMs that are all running jobs.
 */
export function canaryAbsenceProblem(input: {
  readonly observations: CanaryObservations;
  readonly canaryVmsNow: number;
  readonly heldBack: boolean;
  readonly expected: number;
  readonly since: number;
  readonly now: number;
  readonly graceMs: number;
}): string | undefined {
  if (input.expected === 0 || input.canaryVmsNow > 0 || input.heldBack) return undefined;
  const lastSeen = lastCanaryVmSeen(input.observations);
  const absentSince = Math.max(input.since, lastSeen ?? input.since);
  const minutes = Math.round((input.now - absentSince) / 60_000);
  if (input.now - absentSince <= input.graceMs) return undefined;
  const wanted = `the MIG wants ${input.expected} canary VM(s)`;
  return lastSeen === undefined || lastSeen < input.since
    ? `no VM has run the canary template in the ${minutes} minutes since the canary started; ${wanted}`
    : `no VM has run the canary template for ${minutes} minutes (one was last seen at ${new Date(lastSeen).toISOString()}); ${wanted}`;
}
