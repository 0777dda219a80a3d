import {
  ROLLOUT_WORKFLOW_TYPE,
  RolloutStageSearchAttribute,
  RolloutVersionSearchAttribute,
} from '../../workflows/rollout-contract.js';
import type { CommandContext } from '../context.js';
import { table } from '../output.js';

export interface ListOptions {
  readonly limit: number;
  readonly runningOnly: boolean;
}

export interface RolloutListEntry {
  readonly workflowId: string;
  readonly version?: string;
  readonly stage?: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, … */
  readonly execution: string;
  readonly startedAt: string;
  readonly closedAt?: string;
}

/** Rollouts from the visibility store; stage and version come from the search attributes. */
export async function list(ctx: CommandContext, options: ListOptions): Promise<RolloutListEntry[]> {
  const running = options.runningOnly ? ` AND ExecutionStatus = 'Running'` : '';
  // SQL visibility (the dev server) has no ORDER BY; its default order already lists running rollouts first.
  const query = `WorkflowType = '${ROLLOUT_WORKFLOW_TYPE}'${running}`;
  const entries: RolloutListEntry[] = [];
  for await (const execution of ctx.client.workflow.list({ query, pageSize: options.limit })) {
    const version = execution.typedSearchAttributes.get(RolloutVersionSearchAttribute);
    const stage = execution.typedSearchAttributes.get(RolloutStageSearchAttribute);
    entries.push({
      workflowId: execution.workflowId,
      ...(version === undefined ? {} : { version }),
      ...(stage === undefined ? {} : { stage }),
      execution: execution.status.name,
      startedAt: execution.startTime.toISOString(),
      ...(execution.closeTime === undefined ? {} : { closedAt: execution.closeTime.toISOString() }),
    });
    if (entries.length >= options.limit) break;
  }
  ctx.output.result(entries, (all) =>
    all.length === 0
      ? 'no rollouts'
      : table([
          ['ID', 'VERSION', 'STAGE', 'STATUS', 'STARTED'],
          ...all.map((entry) => [
            entry.workflowId,
            entry.version ?? '',
            entry.stage ?? '',
            entry.execution.toLowerCase(),
            entry.startedAt,
          ]),
        ]),
  );
  return entries;
}
