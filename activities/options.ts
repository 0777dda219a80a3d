/**
 * Recommended options per activity kind. Pure data over @temporalio/common only, so workflow code can use it.
 * Every activity is idempotent, which is why the attempt counts can be generous: a retry never changes the result.
 */
import type { ActivityOptions, RetryPolicy } from '@temporalio/common';
import { NON_RETRYABLE_FAILURE_TYPES } from './failures.js';

const nonRetryableErrorTypes = [...NON_RETRYABLE_FAILURE_TYPES];

/**
 * GCP rate quotas refill at the next whole minute, so backoff tops out at one minute: a longer pause only slows
 * the rollout, a shorter one spends the refilled quota on retries.
 */
const apiRetry: RetryPolicy = {
  initialInterval: '2 seconds',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  maximumAttempts: 12,
  nonRetryableErrorTypes,
};

export const activityOptions = {
  /** selectMigs, describeMig, listManagedInstances, missingTemplates, getAutoscaling, listRunners, canaryHealth,
   * convergence, latestRunnerRelease, loadFleet: a few paged GETs, bounded parallelism; two minutes is generous. */
  read: {
    startToCloseTimeout: '2 minutes',
    retry: apiRetry,
  },
  /**
   * canaryMig, promoteCanary, rollbackCanary, directUpdate, setAutoscaling: a read, one patch and the wait for
   * its operation (GCE's operation wait blocks up to two minutes per call). They heartbeat while waiting so a
   * lost worker is noticed within the heartbeat timeout instead of the start-to-close timeout. 412 (stale
   * fingerprint) retries quickly because the next attempt re-reads the MIG.
   */
  mutation: {
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '1 minute',
    retry: { ...apiRetry, initialInterval: '1 second', maximumAttempts: 20 },
  },
  /** createTemplates: one insert plus a global operation wait per template of the version (8 by default). */
  templates: {
    startToCloseTimeout: '20 minutes',
    heartbeatTimeout: '2 minutes',
    retry: apiRetry,
  },
  /**
   * drainIdleRunners: GitHub deletes are throttled to one write per second by the client, then one MIG
   * deleteInstances per batch. Heartbeats after each runner so cancellation reaches it between runners.
   */
  drain: {
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '1 minute',
    retry: apiRetry,
  },
  /**
   * waitForRunners, waitForMigStable: poll until the condition holds, which takes as long as VMs take to boot
   * and register (minutes) or an opportunistic rollout takes to converge (hours). The heartbeat carries the
   * progress, so a retry after a worker crash resumes instead of starting over; unlimited attempts because the
   * workflow bounds the wait with its own timer and cancels the activity.
   */
  wait: {
    startToCloseTimeout: '12 hours',
    heartbeatTimeout: '2 minutes',
    retry: { ...apiRetry, maximumAttempts: 0 },
  },
  /** verifyRunnerArchive: streams a ~200 MB archive; heartbeats per chunk so a stalled download is retried. */
  download: {
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '1 minute',
    retry: { ...apiRetry, maximumAttempts: 5 },
  },
} as const satisfies Record<string, ActivityOptions>;
