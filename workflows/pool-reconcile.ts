/**
 * The periodic reconciliation of the pool controller's job view against what GitHub and the MIGs report, for the
 * webhooks GitHub did not deliver. Pure and deterministic: the workflow passes the jobs it tracked before the
 * observation began, so a job whose event arrived while the activity read is never taken for a lost one.
 */
import type { PoolObservation } from '../activities/contract.js';
import type { PoolJobs, TrackedJob } from './pool-jobs.js';

export interface Reconciliation {
  /** Queued jobs GitHub lists that no webhook announced: now tracked. */
  readonly missed: number;
  /** Tracked jobs GitHub no longer lists as waiting and no VM of the pool runs: their later events were lost. */
  readonly forgotten: number;
}

export function reconcileJobs(
  jobs: PoolJobs,
  trackedBefore: readonly TrackedJob[],
  observation: PoolObservation,
): Reconciliation {
  const listed = observation.queuedJobs;
  if (listed === undefined) return { missed: 0, forgotten: 0 };
  let missed = 0;
  for (const job of listed) {
    const outcome = jobs.apply({
      action: 'queued',
      jobId: job.id,
      runId: job.runId,
      labels: job.labels,
      runnerName: null,
      deliveryId: 'reconciliation',
    });
    if (outcome !== 'ignored') missed += 1;
  }
  const stillQueued = new Set(listed.map((job) => job.id));
  const busyRunners = new Set(
    observation.migs.flatMap((mig) => mig.vms.filter((vm) => vm.runner.state === 'busy').map((vm) => vm.name)),
  );
  const lost = trackedBefore.filter((job) =>
    job.status === 'queued'
      ? // A list cut short proves nothing about the jobs it left out.
        observation.queuedJobsComplete !== false && !stillQueued.has(job.id)
      : job.runnerName !== undefined && !busyRunners.has(job.runnerName),
  );
  // Only those still as they were before the reading: an event that moved one meanwhile is newer than the reading.
  const current = new Map(jobs.tracked().map((job) => [job.id, job]));
  const unchanged = lost.filter((job) => {
    const now = current.get(job.id);
    return now !== undefined && now.status === job.status && now.runnerName === job.runnerName;
  });
  return { missed, forgotten: jobs.forget(unchanged.map((job) => job.id)) };
}
