/**
 * The pool controller's view of its pool's jobs, built from `workflow_job` events, in bounded memory whatever
 * the number of events: it is workflow state, carried across continue-as-new and returned by queries.
 *
 * GitHub promises neither delivery nor order (a job's `completed` can arrive before its `in_progress`, and a
 * delivery can be redelivered by hand), so events are applied by job id in the one direction a job moves:
 * queued → in_progress → completed. An event for a job already further along changes nothing, and recently
 * completed jobs are remembered so a late event cannot bring one back.
 *
 * Bounds: at most {@link LIVE_JOB_LIMIT} live jobs are tracked one by one; queued jobs beyond that are only
 * counted, and running jobs push queued ones out of the table (a pool never has that many runners). A pool's size is clamped to its max long before that, so the count alone decides nothing the
 * individual jobs would. The count is exact while every event arrives once; beyond the limit a lost or repeated
 * event of an untracked job can skew it, which the periodic reconciliation against GitHub's job list corrects.
 * At most {@link FINISHED_JOB_LIMIT} completed job ids are remembered, oldest forgotten first.
 *
 * Pure and deterministic: no I/O, no clock.
 */
import type { PoolJobEvent } from './pool-contract.js';

/** Live jobs tracked one by one; a pool of 40 VMs runs at most 40 of them. */
export const LIVE_JOB_LIMIT = 1000;
/** Completed job ids remembered against late and repeated events. */
export const FINISHED_JOB_LIMIT = 1000;

export interface TrackedJob {
  readonly id: number;
  readonly runId: number;
  readonly status: 'queued' | 'in_progress';
  readonly runnerName?: string;
}

/** Plain data of a {@link PoolJobs}, for workflow input and query results. */
export interface PoolJobsSnapshot {
  /** Oldest first. */
  readonly live: readonly TrackedJob[];
  /** Completed job ids, oldest first. */
  readonly finished: readonly number[];
  readonly untrackedQueued: number;
}

export interface PoolJobCounts {
  /** Jobs waiting for a runner, tracked and untracked. */
  readonly queued: number;
  /** Jobs running on a runner. */
  readonly busy: number;
  /** Jobs tracked one by one (at most {@link LIVE_JOB_LIMIT}). */
  readonly tracked: number;
}

/**
 * What applying an event did: `applied` changed a tracked job, `counted` changed the count of untracked queued
 * jobs, `ignored` changed nothing (a repeated event, or one for a job already further along).
 */
export type JobEventOutcome = 'applied' | 'counted' | 'ignored';

export class PoolJobs {
  /** Insertion order is age order: the first entry is the oldest. */
  private readonly live = new Map<number, TrackedJob>();
  private readonly finished = new Set<number>();
  private untrackedQueued = 0;

  constructor(snapshot?: PoolJobsSnapshot) {
    for (const job of snapshot?.live ?? []) this.live.set(job.id, job);
    for (const id of snapshot?.finished ?? []) this.finished.add(id);
    this.untrackedQueued = snapshot?.untrackedQueued ?? 0;
  }

  apply(event: PoolJobEvent): JobEventOutcome {
    if (this.finished.has(event.jobId)) return 'ignored';
    const known = this.live.get(event.jobId);
    switch (event.action) {
      case 'queued':
        if (known !== undefined) return 'ignored';
        if (this.live.size >= LIVE_JOB_LIMIT) {
          this.untrackedQueued += 1;
          return 'counted';
        }
        this.live.set(event.jobId, { id: event.jobId, runId: event.runId, status: 'queued' });
        return 'applied';
      case 'in_progress': {
        const runnerName = event.runnerName ?? undefined;
        if (known?.status === 'in_progress' && known.runnerName === runnerName) return 'ignored';
        if (known === undefined) {
          // Its queued event was lost, or it was one of the untracked queued jobs.
          if (this.untrackedQueued > 0) this.untrackedQueued -= 1;
          // A running job is always tracked: busy runners must be known one by one.
          if (this.live.size >= LIVE_JOB_LIMIT) this.makeRoom();
        }
        this.live.set(event.jobId, {
          id: event.jobId,
          runId: event.runId,
          status: 'in_progress',
          ...(runnerName === undefined ? {} : { runnerName }),
        });
        return 'applied';
      }
      case 'completed': {
        // A job cancelled while queued completes without running: untracked, it was one of the counted ones.
        const counted = known === undefined && this.untrackedQueued > 0;
        if (counted) this.untrackedQueued -= 1;
        this.live.delete(event.jobId);
        this.finished.add(event.jobId);
        if (this.finished.size > FINISHED_JOB_LIMIT) this.finished.delete(this.oldest(this.finished));
        return counted ? 'counted' : 'applied';
      }
    }
  }

  counts(): PoolJobCounts {
    let busy = 0;
    for (const job of this.live.values()) if (job.status === 'in_progress') busy += 1;
    return { queued: this.live.size - busy + this.untrackedQueued, busy, tracked: this.live.size };
  }

  /** The jobs tracked one by one, oldest first. */
  tracked(): TrackedJob[] {
    return [...this.live.values()];
  }

  /**
   * Forgets tracked jobs whose later events were lost: the reconciliation found them neither waiting nor running.
   * They are not remembered as finished, so a late event of one still applies. Returns how many were tracked.
   */
  forget(ids: Iterable<number>): number {
    let forgotten = 0;
    for (const id of ids) if (this.live.delete(id)) forgotten += 1;
    return forgotten;
  }

  snapshot(): PoolJobsSnapshot {
    return { live: [...this.live.values()], finished: [...this.finished], untrackedQueued: this.untrackedQueued };
  }

  /**
   * Frees one entry: the oldest queued job becomes a counted one; with none queued, the oldest running job is
   * dropped, as no pool has that many runners and its `completed` event must have been lost.
   */
  private makeRoom(): void {
    for (const job of this.live.values()) {
      if (job.status !== 'queued') continue;
      this.live.delete(job.id);
      this.untrackedQueued += 1;
      return;
    }
    this.live.delete(this.oldest(this.live));
  }

  private oldest(entries: ReadonlySet<number> | ReadonlyMap<number, unknown>): number {
    const [first] = entries.keys();
    if (first === undefined) throw new Error('the oldest entry of an empty collection');
    return first;
  }
}
