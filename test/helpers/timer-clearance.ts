/**
 * Sending a signal or an update to a workflow on the time-skipping test server without stranding it.
 *
 * Between skips the test server's clock runs at real pace. When a timer fires while a workflow task is with the
 * worker and that task cancels the timer (a `condition` whose timeout lost the race to the signal), the server
 * refuses the completion with "invalid history builder state for action" and never times the task out or sends
 * it again: the run hangs until the test file's timeout (temporalio/sdk-java#2606 and #3088; the real server
 * drops the buffered fire instead). A signal sent while a timer is about to fire starts exactly such a task, so
 * these helpers first let every timer due within {@link GUARD_MS} fire, in that run and in the runs its task
 * signals in turn, and wait for their tasks to finish.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { isGrpcServiceError, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';

/** Longer than a workflow task takes on a loaded two-core machine. */
const GUARD_MS = 5_000;
const SETTLE_POLL_MS = 20;
/** The history call answers a run that never started with the bare gRPC status. */
const GRPC_NOT_FOUND = 5;
/** A run with a timer shorter than the guard keeps one due forever: past this many skips the signal goes anyway. */
const MAX_SKIPS = 10;

const EventType = proto.temporal.api.enums.v1.EventType;
type IHistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;
const CLOSING_EVENTS: ReadonlySet<number> = new Set([
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
]);

/** Signals and updates that first clear the runs of {@link others} (and the one they go to) of imminent timers. */
export interface TimerClearance {
  signal<Args extends unknown[]>(handle: WorkflowHandle, signal: SignalDefinition<Args>, ...args: Args): Promise<void>;
  update<Ret, Arg>(handle: WorkflowHandle, update: UpdateDefinition<Ret, [Arg]>, arg: Arg): Promise<Ret>;
}

/** `others` lists the runs a signal's task may reach in turn (a rollout signals its per-MIG workers). */
export function timerClearance(env: TestWorkflowEnvironment, others: () => readonly WorkflowHandle[]): TimerClearance {
  return {
    signal: async (handle, signal, ...args) => {
      await clearOfTimers(env, [handle, ...others()]);
      await handle.signal(signal, ...args);
    },
    update: async (handle, update, arg) => {
      await clearOfTimers(env, [handle, ...others()]);
      return handle.executeUpdate(update, { args: [arg] });
    },
  };
}

/** Returns once no open run has a workflow task outstanding or a timer due within {@link GUARD_MS}. */
async function clearOfTimers(env: TestWorkflowEnvironment, handles: readonly WorkflowHandle[]): Promise<void> {
  for (let skips = 0; ;) {
    const histories = await Promise.all(handles.map(openRunHistory));
    const nowMs = await env.currentTimeMs();
    const soon = histories.flatMap((history) => openTimerDueTimes(history).filter((dueMs) => dueMs - nowMs < GUARD_MS));
    if (soon.length > 0 && skips < MAX_SKIPS) {
      skips++;
      await env.sleep(Math.max(1, Math.max(...soon) - nowMs + 1));
    } else if (histories.some(workflowTaskOutstanding)) {
      await delay(SETTLE_POLL_MS);
    } else {
      return;
    }
  }
}

/** The latest run's events while it is open; none once it has closed or if it never started. */
async function openRunHistory(handle: WorkflowHandle): Promise<readonly IHistoryEvent[]> {
  try {
    const events = (await handle.fetchHistory()).events ?? [];
    const last = events.at(-1)?.eventType;
    return last !== undefined && last !== null && CLOSING_EVENTS.has(last) ? [] : events;
  } catch (error) {
    const notFound = isGrpcServiceError(error) && Number(error.code) === GRPC_NOT_FOUND;
    if (notFound || error instanceof WorkflowNotFoundError) return [];
    throw error;
  }
}

function openTimerDueTimes(history: readonly IHistoryEvent[]): number[] {
  const open = new Map<string, number>();
  for (const event of history) {
    if (event.eventType === EventType.EVENT_TYPE_TIMER_STARTED) {
      const attributes = event.timerStartedEventAttributes;
      const timeout = attributes?.startToFireTimeout;
      if (attributes?.timerId == null || timeout == null) continue;
      open.set(attributes.timerId, millis(event.eventTime) + millis(timeout));
    } else if (event.eventType === EventType.EVENT_TYPE_TIMER_FIRED) {
      open.delete(event.timerFiredEventAttributes?.timerId ?? '');
    } else if (event.eventType === EventType.EVENT_TYPE_TIMER_CANCELED) {
      open.delete(event.timerCanceledEventAttributes?.timerId ?? '');
    }
  }
  return [...open.values()];
}

function workflowTaskOutstanding(history: readonly IHistoryEvent[]): boolean {
  let outstanding = 0;
  for (const event of history) {
    switch (event.eventType) {
      case EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
        outstanding++;
        break;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
      case EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
      case EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
        outstanding = Math.max(0, outstanding - 1);
        break;
      default:
    }
  }
  return outstanding > 0;
}

function millis(time: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (time == null) return 0;
  return Number(time.seconds ?? 0) * 1000 + Math.floor((time.nanos ?? 0) / 1e6);
}
