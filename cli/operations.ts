import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TemporalConfig } from '../config/temporal.js';
import type { CommandContext } from './context.js';
import { CliError, EXIT_CODES } from './errors.js';

/** The part of the workflow service that tells who polls a task queue (tests pass a fake). */
export interface TaskQueueService {
  describeTaskQueue(request: {
    namespace: string;
    taskQueue: { name: string };
  }): Promise<{ pollers?: readonly unknown[] | null }>;
}

type TaskQueueTarget = Pick<TemporalConfig, 'namespace' | 'taskQueue'>;

/** Whether the server lists a worker polling the task queue. */
async function hasPoller(service: TaskQueueService, { namespace, taskQueue }: TaskQueueTarget): Promise<boolean> {
  const response = await service.describeTaskQueue({
    namespace,
    // The task queue type defaults to workflow tasks: a worker that polls those is one that can run ours.
    taskQueue: { name: taskQueue },
  });
  return (response.pollers ?? []).length > 0;
}

/**
 * Fails fast when no worker polls the task queue: otherwise a started workflow would wait silently, and the
 * operator would stare at a command that never returns.
 */
export async function requireWorker(ctx: CommandContext): Promise<void> {
  const { taskQueue, namespace } = ctx.temporal;
  if (!(await hasPoller(ctx.client.workflowService, ctx.temporal))) {
    throw new CliError(
      `no worker is polling task queue "${taskQueue}" in namespace "${namespace}"; start one with \`rollout worker\` (or \`rollout dev\`)`,
      EXIT_CODES.unreachable,
    );
  }
}

export interface PollerWaitOptions {
  /** Give up after this long. */
  readonly timeoutMs: number;
  /** Between two looks at the task queue. */
  readonly intervalMs?: number;
}

/**
 * Waits until the server lists a poller on the task queue. A worker polls as soon as it runs, but the server
 * lists it a moment later; a command sent in between would be told no worker is polling.
 */
export async function waitForPoller(
  service: TaskQueueService,
  target: TaskQueueTarget,
  options: PollerWaitOptions,
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (!(await hasPoller(service, target))) {
    if (Date.now() >= deadline) {
      throw new CliError(
        `the worker started, but after ${Math.round(options.timeoutMs / 1000)} s the server still lists no poller on task queue "${target.taskQueue}" in namespace "${target.namespace}"`,
        EXIT_CODES.failure,
      );
    }
    await sleep(options.intervalMs ?? 250);
  }
}

/** One-shot operations are short; if one has not finished in this time something is stuck, not slow. */
const OPERATION_TIMEOUT = '30 minutes';

/**
 * Runs a short workflow to completion and returns its result. `workflowId` defaults to a fresh id; a fixed id
 * attaches to a run that is already in progress instead of starting a second one.
 */
export async function runOperation<Input, Result>(
  ctx: CommandContext,
  workflowType: string,
  input: Input,
  workflowId = `ops-${workflowType}-${randomUUID().slice(0, 8)}`,
): Promise<Result> {
  await requireWorker(ctx);
  return ctx.client.workflow.execute<(input: Input) => Promise<Result>>(workflowType, {
    taskQueue: ctx.temporal.taskQueue,
    workflowId,
    args: [input],
    workflowExecutionTimeout: OPERATION_TIMEOUT,
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
}
