import {
  ROLLOUT_WORKFLOW_TYPE,
  RolloutStageSearchAttribute,
  RolloutVersionSearchAttribute,
} from '../../workflows/rollout-contract.js';
import {
  RUNNER_VERSION_CHECK_MEMO_KEY,
  RUNNER_VERSION_CHECK_WORKFLOW_TYPE,
  type RunnerVersionCheckMemo,
} from '../../workflows/runner-version-check-contract.js';
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

/** An escalation that is still pending: the latest runner-version check raised it. */
export interface AttentionItem {
  readonly source: typeof RUNNER_VERSION_CHECK_WORKFLOW_TYPE;
  /** The check that raised it. */
  readonly workflowId: string;
  readonly raisedAt: string;
  /** Severity and message, e.g. `critical: fleet not converged on runner 2.330.1: …`. */
  readonly escalation: string;
  readonly newestRelease?: string;
  readonly deadline?: string;
  /** The rollout of the release, when the check started or found one. */
  readonly rolloutId?: string;
}

export interface ListResult {
  readonly rollouts: readonly RolloutListEntry[];
  /** Shown whether or not rollouts exist: an unconverged fleet may have no rollout running. */
  readonly needsAttention: readonly AttentionItem[];
}

/** Rollouts from the visibility store (stage and version from search attributes), then pending escalations. */
export async function list(ctx: CommandContext, options: ListOptions): Promise<ListResult> {
  const result: ListResult = { rollouts: await rollouts(ctx, options), needsAttention: await pendingEscalations(ctx) };
  ctx.output.result(result, render);
  return result;
}

async function rollouts(ctx: CommandContext, options: ListOptions): Promise<RolloutListEntry[]> {
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
  return entries;
}

/**
 * The escalation of the latest completed runner-version check, from the memo it leaves. Every check repeats
 * the escalation while the fleet is behind, so an older check's escalation is settled by a newer check without one.
 */
async function pendingEscalations(ctx: CommandContext): Promise<AttentionItem[]> {
  // Closed executions come newest first in the default visibility order.
  const query = `WorkflowType = '${RUNNER_VERSION_CHECK_WORKFLOW_TYPE}' AND ExecutionStatus = 'Completed'`;
  for await (const execution of ctx.client.workflow.list({ query, pageSize: 1 })) {
    const memo = execution.memo?.[RUNNER_VERSION_CHECK_MEMO_KEY] as RunnerVersionCheckMemo | undefined;
    if (memo?.escalation === undefined) return [];
    return [
      {
        source: RUNNER_VERSION_CHECK_WORKFLOW_TYPE,
        workflowId: execution.workflowId,
        raisedAt: (execution.closeTime ?? execution.startTime).toISOString(),
        escalation: memo.escalation,
        ...(memo.newestRelease === undefined ? {} : { newestRelease: memo.newestRelease }),
        ...(memo.deadline === undefined ? {} : { deadline: memo.deadline }),
        ...(memo.rolloutId === undefined ? {} : { rolloutId: memo.rolloutId }),
      },
    ];
  }
  return [];
}

function render({ rollouts, needsAttention }: ListResult): string {
  const lines = [
    rollouts.length === 0
      ? 'no rollouts'
      : table([
          ['ID', 'VERSION', 'STAGE', 'STATUS', 'STARTED'],
          ...rollouts.map((entry) => [
            entry.workflowId,
            entry.version ?? '',
            entry.stage ?? '',
            entry.execution.toLowerCase(),
            entry.startedAt,
          ]),
        ]),
  ];
  if (needsAttention.length > 0) {
    lines.push('', 'needs attention:');
    for (const item of needsAttention) {
      const rollout = item.rolloutId === undefined ? '' : `; rollout ${item.rolloutId}`;
      lines.push(`  ${item.escalation}`, `    raised by ${item.workflowId} at ${item.raisedAt}${rollout}`);
    }
  }
  return lines.join('\n');
}
