/**
 * What every activity shares: the injected deps with defaults filled in, the Temporal activity context
 * (heartbeats, cancellation-aware sleep, ids for request ids), and error translation around client calls.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType, toFailure } from './failures.js';
import { DEFAULT_TIMING, type ActivityDeps, type ActivityLogger, type ActivityTiming } from './ports.js';
import { deterministicUuid } from './request-id.js';
import { RunnerSnapshot } from './runner-snapshot.js';

/**
 * Retries of one transient call within an attempt, for activities that fan out into many calls: at 10% failures
 * per call, four tries fail together once in 10,000 calls, so a check of a few hundred calls nearly always
 * completes, where without them nearly every attempt of such a check would fail on one of its calls.
 */
export const CALL_RETRIES = 3;
/**
 * The longest Retry-After waited out within an attempt. A longer one fails the attempt with the wait as its next
 * retry delay, so Temporal waits instead of the attempt eating its start-to-close timeout (2 minutes for reads).
 */
export const MAX_CALL_RETRY_WAIT_MS = 10_000;

/** Failures a repeated call can fix; a stale fingerprint needs a fresh read first, which only the caller can do. */
const RETRIED_IN_ATTEMPT = new Set<string>([FailureType.UNAVAILABLE, FailureType.RATE_LIMITED]);

/** What each running activity last heartbeated, so a wait it did not start itself can repeat it. */
const lastHeartbeat = new WeakMap<Context, unknown>();

export class ActivityRuntime {
  readonly timing: ActivityTiming;
  readonly project: string;

  constructor(
    readonly deps: ActivityDeps,
    private readonly callRetries = 0,
    /** One per worker's activities: every MIG's runner reads share it. */
    readonly runnerSnapshot = new RunnerSnapshot(),
  ) {
    this.timing = { ...DEFAULT_TIMING, ...deps.timing };
    this.project = deps.fleet.project;
  }

  /**
   * This runtime, but each call retries transient failures (5xx, network errors, rate limits) up to CALL_RETRIES
   * times with exponential backoff, honouring Retry-After up to MAX_CALL_RETRY_WAIT_MS. Only for reads: a
   * re-sent read has no effect to duplicate.
   */
  retryingReads(): ActivityRuntime {
    return new ActivityRuntime(this.deps, CALL_RETRIES, this.runnerSnapshot);
  }

  now(): Date {
    return this.deps.clock?.() ?? new Date();
  }

  get log(): ActivityLogger {
    return this.deps.logger ?? Context.current().log;
  }

  /**
   * The GCP requestId for one effect of this activity: the same for every retry of this activity, distinct per
   * MIG and per observed state, so GCP deduplicates exactly the re-sends of one intended change.
   */
  requestId(...parts: readonly string[]): string {
    const info = Context.current().info;
    const execution = info.workflowExecution;
    // The run id because per-MIG worker ids repeat across rollouts of the same MIG, and activity ids are sequence
    // numbers that restart with every run (continue-as-new included). Workflow id + activity id alone therefore
    // repeat between two rollouts issuing the same change (the same autoscaling bounds), and GCP drops the second
    // as a duplicate without applying it. A retry keeps its run id and activity id, a new run never has either.
    return deterministicUuid(execution?.workflowId ?? '', execution?.runId ?? '', info.activityId, ...parts);
  }

  /**
   * A requestId that changes with every attempt, for an effect a fresh read guards on its own (a fingerprint, a
   * list of instances, a name that exists once). GCP answers a repeated requestId with the first operation for at
   * least an hour, so a retry of an operation that failed must not repeat its id: it would only get the failure
   * back. A retry after a lost answer reads again first and finds the change made, or it is refused (412, 409).
   */
  attemptRequestId(...parts: readonly string[]): string {
    return this.requestId(`attempt-${Context.current().info.attempt}`, ...parts);
  }

  heartbeat(details?: unknown): void {
    const context = Context.current();
    lastHeartbeat.set(context, details);
    context.heartbeat(details);
  }

  /**
   * Runs a call that may block for minutes, heartbeating `details` throughout, and gives up on it as soon as the
   * activity is cancelled (the call itself cannot be aborted; its answer is then ignored).
   */
  async heartbeating<T>(details: unknown, run: () => Promise<T>): Promise<T> {
    const context = Context.current();
    lastHeartbeat.set(context, details);
    context.heartbeat(details);
    const timer = setInterval(() => context.heartbeat(details), this.timing.heartbeatEveryMs);
    try {
      return await Promise.race([run(), context.cancelled]);
    } finally {
      clearInterval(timer);
    }
  }

  /**
   * Runs a call that may wait its turn in a client's queue, heartbeating meanwhile what the activity last
   * heartbeated (an earlier attempt's details until this one has its own: a heartbeat replaces the details the
   * next attempt resumes from). GitHub's writes go one a second per worker, so a runner deletion can wait behind
   * every other MIG's for longer than a heartbeat timeout.
   */
  keepingAlive<T>(run: () => Promise<T>): Promise<T> {
    const context = Context.current();
    return this.heartbeating(
      lastHeartbeat.has(context) ? lastHeartbeat.get(context) : context.info.heartbeatDetails,
      run,
    );
  }

  /** Details of the last heartbeat of an earlier attempt, or undefined on the first attempt. */
  previousHeartbeat<T>(): T | undefined {
    return Context.current().info.heartbeatDetails as T | undefined;
  }

  /** Rejects with a CancelledFailure when the activity is cancelled. */
  async sleep(ms: number): Promise<void> {
    await Context.current().sleep(ms);
  }

  /**
   * Runs one client call and turns its error into a typed failure naming `what` was attempted. Under
   * {@link retryingReads}, transient failures are retried first.
   */
  async call<T>(what: string, run: () => Promise<T>, notFound?: FailureType): Promise<T> {
    for (let retry = 0; ; retry++) {
      try {
        return await run();
      } catch (error) {
        const failure = toFailure(error, what, notFound);
        const delayMs = this.retryDelayMs(failure, retry);
        if (delayMs === undefined) throw failure;
        this.log.info(`${what}: retrying in ${delayMs} ms after a transient failure`, { error: failure.message });
        await this.sleep(delayMs);
      }
    }
  }

  /** How long to wait before retrying a failed call within this attempt, or undefined to fail the attempt. */
  private retryDelayMs(failure: Error, retry: number): number | undefined {
    if (retry >= this.callRetries || !(failure instanceof ApplicationFailure)) return undefined;
    if (failure.nonRetryable || !RETRIED_IN_ATTEMPT.has(failure.type ?? '')) return undefined;
    // Duration's string form comes from a types package lint cannot resolve; toFailure sets milliseconds.
    const hinted = failure.nextRetryDelay as unknown;
    if (hinted == null) return this.timing.callRetryDelayMs * 2 ** retry;
    return typeof hinted === 'number' && hinted <= MAX_CALL_RETRY_WAIT_MS ? hinted : undefined;
  }
}
