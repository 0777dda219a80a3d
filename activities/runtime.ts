/**
 * What every activity shares: the injected deps with defaults filled in, the Temporal activity context
 * (heartbeats, cancellation-aware sleep, ids for request ids), and error translation around client calls.
 */
import { Context } from '@temporalio/activity';
import { toFailure, type FailureType } from './failures.js';
import { DEFAULT_TIMING, type ActivityDeps, type ActivityLogger, type ActivityTiming } from './ports.js';
import { deterministicUuid } from './request-id.js';

export class ActivityRuntime {
  readonly timing: ActivityTiming;
  readonly project: string;

  constructor(readonly deps: ActivityDeps) {
    this.timing = { ...DEFAULT_TIMING, ...deps.timing };
    this.project = deps.fleet.project;
  }

  now(): Date {
    return this.deps.clock?.() ?? new Date();
  }

  get log(): ActivityLogger {
    return this.deps.logger ?? Context.current().log;
  }

  /**
   * The GCP requestId for one effect of this activity. Stable across retries of the same activity (same
   * workflow, same activity id), distinct per MIG and per observed state, so GCP deduplicates exactly the
   * re-sends of one intended change.
   */
  requestId(...parts: readonly string[]): string {
    const info = Context.current().info;
    return deterministicUuid(info.workflowExecution?.workflowId ?? info.activityId, info.activityId, ...parts);
  }

  heartbeat(details?: unknown): void {
    Context.current().heartbeat(details);
  }

  /** Details of the last heartbeat of an earlier attempt, or undefined on the first attempt. */
  previousHeartbeat<T>(): T | undefined {
    return Context.current().info.heartbeatDetails as T | undefined;
  }

  /** Rejects with a CancelledFailure when the activity is cancelled. */
  async sleep(ms: number): Promise<void> {
    await Context.current().sleep(ms);
  }

  /** Runs one client call and turns its error into a typed failure naming `what` was attempted. */
  async call<T>(what: string, run: () => Promise<T>, notFound?: FailureType): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw toFailure(error, what, notFound);
    }
  }
}
