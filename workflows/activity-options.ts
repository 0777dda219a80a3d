/** Activity options as the workflows use them. */
import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';
import { NON_RETRYABLE_FAILURE_TYPES } from './activity-failure-types.js';

/** GCP rate quotas refill each minute, so backoff tops out there. */
const backoff = { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute' } as const;

const apiRetry: RetryPolicy = {
  ...backoff,
  maximumAttempts: 12,
  nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES],
};

/** Paged GETs. A read that still fails after ~10 minutes of retries is reported instead of blocking the stage. */
export const readOptions: ActivityOptions = { startToCloseTimeout: '2 minutes', retry: apiRetry };

/**
 * A round of canary health checks over several MIGs: reads, but more of them than one paged GET, and a listing
 * held behind GitHub's rate limit can wait; heartbeats tell a lost worker from a slow round.
 */
export const healthRoundOptions: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: apiRetry,
};

/**
 * One MIG patch plus its operation wait. After the attempts run out the failure reaches the operator (the rollout
 * pauses on it) rather than retrying forever against a MIG someone else is changing.
 */
export const mutationOptions: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { ...apiRetry, initialInterval: '1 second', maximumAttempts: 20 },
};

export const drainOptions: ActivityOptions = {
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '1 minute',
  retry: apiRetry,
};

/** Slack past a wait's own deadline before Temporal gives up on the activity (a lost worker, not a slow MIG). */
const WAIT_BACKSTOP_MS = 10 * 60_000;

/**
 * Waiting for runners resumes from its heartbeat after a crash, so attempts are unlimited. The activity enforces
 * the readiness deadline itself (`timeoutMinutes`, counted from its first attempt, failing WAIT_TIMED_OUT);
 * schedule-to-close is the backstop when no worker runs it at all.
 */
export function waitOptions(timeoutMs: number): ActivityOptions {
  return {
    scheduleToCloseTimeout: timeoutMs + WAIT_BACKSTOP_MS,
    startToCloseTimeout: timeoutMs + WAIT_BACKSTOP_MS,
    heartbeatTimeout: '2 minutes',
    // No maximumAttempts means unlimited (the SDK rejects 0).
    retry: { ...backoff, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES] },
  };
}
