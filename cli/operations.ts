import { randomUUID } from 'node:crypto';
import type { CommandContext } from './context.js';
import { CliError, EXIT_CODES } from './errors.js';

/**
 * Fails fast when no worker polls the task queue: otherwise a started workflow would wait silently, and the
 * operator would stare at a command that never returns.
 */
export async function requireWorker(ctx: CommandContext): Promise<void> {
  const { taskQueue, namespace } = ctx.temporal;
  const response = await ctx.client.workflowService.describeTaskQueue({
    namespace,
    // The task queue type defaults to workflow tasks: a worker that polls those is one that can run ours.
    taskQueue: { name: taskQueue },
  });
  if ((response.pollers ?? []).length === 0) {
    throw new CliError(
      `no worker is polling task queue "${taskQueue}" in namespace "${namespace}"; start one with \`rollout worker\` (or \`rollout dev\`)`,
      EXIT_CODES.unreachable,
    );
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
