/**
 * GitHub's side of the work: jobs arrive on each pool (environment/group/type) as a Poisson process or on demand,
 * wait in the pool's queue until a runner that is not on a deprecated version is idle, run, and end in success or
 * failure (or are cancelled: left in the queue too long, or killed with their VM). A finished ephemeral runner
 * leaves GitHub and its VM deletes itself; some failed runs are re-run.
 */
import { scalesOnCpu } from './cpu-autoscaler.js';
import { ModelError } from './errors.js';
import type { FleetEventHandlers, RerunOf } from './fleet-events.js';
import type { FleetStore } from './fleet-store.js';
import type { JobCounts, JobPool, SimInstance, SimJob, SimMig, SimRunner } from './fleet-types.js';
import { rerunDelayMs } from './github-runs.js';
import type { InstanceLifecycle } from './instance-lifecycle.js';
import { jobRateFor, type JobRateRule } from './options.js';
import { Random } from './random.js';

const HOUR_MS = 3600 * 1000;
const RECENT_JOBS_KEPT = 5000;

/** What the job scheduler asks of the MIGs. */
export interface JobSchedulerMigs {
  /** Demand on the MIG changed: its autoscaler should look again. */
  scheduleAutoscale(mig: SimMig): void;
  /** The VM of a runner that finished its job asks its MIG to delete it (ExecStopPost delete_self). */
  selfDelete(instance: SimInstance): void;
}

export class JobScheduler {
  /** Arrival gaps, runner choice and durations. */
  private readonly jobRandom: Random;
  private readonly outcomeRandom: Random;
  private readonly rerunRandom: Random;

  /** What each of the scheduler's events does when its time comes. */
  readonly handlers: FleetEventHandlers<'arrival' | 'finishJob' | 'selfDelete' | 'rerun'> = {
    arrival: ({ pool, chain }) => {
      if (pool.arrivalChain !== chain) return;
      if (this.acceptsArrival(pool)) {
        for (let job = 0; job < pool.jobsPerArrival; job++) this.arrive(pool, pool.meanDurationMs);
      }
      this.scheduleArrival(pool, chain);
    },
    finishJob: ({ job, runner }) => {
      if (job.conclusion === undefined) this.finishJob(job, runner);
    },
    selfDelete: ({ instance, life }) => {
      if (this.lifecycle.current(instance, life)) this.migs.selfDelete(instance);
    },
    rerun: ({ pool, of }) => {
      this.arrive(pool, of.meanDurationMs, of);
    },
  };

  constructor(
    private readonly store: FleetStore,
    private readonly lifecycle: InstanceLifecycle,
    private readonly migs: JobSchedulerMigs,
    private jobRates: readonly JobRateRule[],
  ) {
    this.jobRandom = new Random(store.seed, 'jobs');
    this.outcomeRandom = new Random(store.seed, 'outcomes');
    this.rerunRandom = new Random(store.seed, 'reruns');
  }

  get rates(): readonly JobRateRule[] {
    return this.jobRates;
  }

  setJobRates(rules: readonly JobRateRule[]): void {
    this.jobRates = rules;
    this.startArrivals();
  }

  /** Starts every pool's arrivals afresh, at the rate the rules give it. */
  startArrivals(): void {
    for (const pool of this.store.pools.values()) this.applyRate(pool);
  }

  /** Queues jobs on a pool right now (they start at once on idle runners, else wait for the autoscaler). */
  submitJobs(poolKey: string, count: number, meanDurationMinutes?: number): SimJob[] {
    const pool = this.store.pools.get(poolKey);
    if (pool === undefined)
      throw new ModelError('notFound', `no job pool "${poolKey}" (pools are <environment>/<group>/<type>)`);
    const jobs: SimJob[] = [];
    for (let i = 0; i < count; i++) {
      jobs.push(
        this.arrive(pool, meanDurationMinutes === undefined ? pool.meanDurationMs : meanDurationMinutes * 60_000),
      );
    }
    return jobs;
  }

  private applyRate(pool: JobPool): void {
    const rate = jobRateFor(this.jobRates, pool);
    pool.perHour = rate.perHour;
    pool.meanDurationMs = rate.meanDurationMinutes * 60_000;
    pool.hourly = rate.hourly;
    pool.jobsPerArrival = rate.jobsPerArrival;
    pool.arrivalChain++;
    if (pool.perHour > 0) this.scheduleArrival(pool, pool.arrivalChain);
  }

  /**
   * Arrivals are drawn at the day's peak rate and each is kept with the ratio of its hour's rate to the peak
   * (thinning), which gives a Poisson process whose rate follows the hour. A flat rate keeps every arrival and
   * draws nothing, so seeded runs without a day shape are as before.
   */
  private acceptsArrival(pool: JobPool): boolean {
    if (pool.hourly === undefined) return true;
    const hour = new Date(this.store.now()).getUTCHours();
    return this.jobRandom.next() * peakOf(pool.hourly) < (pool.hourly[hour] ?? 0);
  }

  private scheduleArrival(pool: JobPool, chain: number): void {
    const peakPerHour = pool.perHour * (pool.hourly === undefined ? 1 : peakOf(pool.hourly));
    if (!(peakPerHour > 0)) return;
    const gap = this.jobRandom.exponential(HOUR_MS / peakPerHour);
    this.store.schedule(this.store.now() + Math.max(1, Math.round(gap)), { kind: 'arrival', pool, chain });
  }

  private arrive(pool: JobPool, meanDurationMs: number, rerunOf?: RerunOf): SimJob {
    const id = this.store.newJobId();
    const job: SimJob = {
      id,
      runId: rerunOf?.runId ?? id,
      attempt: rerunOf === undefined ? 1 : rerunOf.attempt + 1,
      pool: pool.key,
      queuedAt: this.store.now(),
      meanDurationMs,
    };
    this.store.jobListener?.('queued', job);
    const candidates = [...pool.idle].filter((runner) => !this.isRunnerDeprecated(runner));
    const runner = candidates[this.jobRandom.int(candidates.length)];
    if (runner !== undefined) {
      this.startJob(job, runner);
    } else {
      this.dropExpiredJobs(pool);
      pool.queue.push(job);
      for (const mig of pool.migs) this.migs.scheduleAutoscale(mig);
    }
    return job;
  }

  private dropExpiredJobs(pool: JobPool): void {
    const cutoff = this.store.now() - this.store.timings.queueTimeoutSeconds * 1000;
    while (pool.queue.length > 0 && (pool.queue[0]?.queuedAt ?? Infinity) < cutoff) {
      const job = pool.queue.shift();
      if (job === undefined) break;
      job.conclusion = 'cancelled';
      job.completedAt = this.store.now();
      this.rememberJob(job);
      this.store.jobListener?.('completed', job);
    }
  }

  runnerAvailable(runner: SimRunner): void {
    const pool = runner.instance.mig.pool;
    this.dropExpiredJobs(pool);
    const job = this.isRunnerDeprecated(runner) ? undefined : pool.queue.shift();
    if (job !== undefined) this.startJob(job, runner);
    else pool.idle.add(runner);
  }

  private startJob(job: SimJob, runner: SimRunner): void {
    runner.instance.mig.pool.idle.delete(runner);
    runner.busy = true;
    this.store.presence.busyChanged(runner, this.store.now());
    runner.job = job;
    job.startedAt = this.store.now();
    job.runnerId = runner.id;
    job.runnerName = runner.name;
    job.template = runner.template;
    job.mig = runner.instance.mig.name;
    this.store.jobListener?.('in_progress', job);
    // A VM that starts working raises the CPU a CPU autoscaler watches; the queue-driven one saw the job queue.
    if (scalesOnCpu(this.store.fleet, runner.instance.mig.ref, this.store.behaviours.cpuAutoscaler)) {
      this.migs.scheduleAutoscale(runner.instance.mig);
    }
    const duration = job.meanDurationMs * (0.5 + this.jobRandom.next());
    this.store.schedule(this.store.now() + Math.max(1000, Math.round(duration)), { kind: 'finishJob', job, runner });
  }

  /** The ephemeral runner exits after its one job, leaves GitHub, and its VM asks the MIG to delete it. */
  private finishJob(job: SimJob, runner: SimRunner): void {
    const failureRate = this.store.faults.jobFailureRate(runner.template);
    job.conclusion = failureRate > 0 && this.outcomeRandom.next() < failureRate ? 'failure' : 'success';
    job.completedAt = this.store.now();
    this.rememberJob(job);
    this.store.jobListener?.('completed', job);
    if (job.conclusion === 'failure' && this.store.behaviours.reruns) this.maybeRerun(job);
    runner.busy = false;
    this.store.presence.busyChanged(runner, this.store.now());
    runner.job = undefined;
    this.lifecycle.removeRunner(runner);
    const instance = runner.instance;
    const life = instance.incarnation;
    this.store.schedule(this.store.now() + this.store.timings.selfDeleteSeconds * 1000, {
      kind: 'selfDelete',
      instance,
      life,
    });
  }

  private maybeRerun(job: SimJob): void {
    const delayMs = rerunDelayMs(this.rerunRandom);
    const pool = this.store.pools.get(job.pool);
    if (delayMs === undefined || pool === undefined) return;
    const of = { runId: job.runId, attempt: job.attempt, meanDurationMs: job.meanDurationMs };
    this.store.schedule(this.store.now() + delayMs, { kind: 'rerun', pool, of });
  }

  killJob(job: SimJob, runner: SimRunner, reason: string): void {
    job.conclusion = 'cancelled';
    job.killedBy = reason;
    job.completedAt = this.store.now();
    runner.busy = false;
    this.store.presence.busyChanged(runner, this.store.now());
    runner.job = undefined;
    this.rememberJob(job);
    this.store.killedJobs.push(job);
    this.store.jobListener?.('completed', job);
  }

  private rememberJob(job: SimJob): void {
    if (job.template !== undefined) {
      const counts = this.jobCounts(job.template);
      if (job.conclusion === 'success') counts.succeeded++;
      else if (job.conclusion === 'failure') counts.failed++;
      else counts.cancelled++;
    }
    this.store.recentJobs.push(job);
    if (this.store.recentJobs.length > RECENT_JOBS_KEPT)
      this.store.recentJobs.splice(0, this.store.recentJobs.length - RECENT_JOBS_KEPT);
  }

  private isRunnerDeprecated(runner: SimRunner): boolean {
    return this.store.releases.isDeprecated(runner.version, this.store.now());
  }

  private jobCounts(template: string): JobCounts {
    let counts = this.store.jobCountsByTemplate.get(template);
    if (counts === undefined) {
      counts = { succeeded: 0, failed: 0, cancelled: 0 };
      this.store.jobCountsByTemplate.set(template, counts);
    }
    return counts;
  }
}

function peakOf(hourly: readonly number[]): number {
  return Math.max(0, ...hourly);
}
