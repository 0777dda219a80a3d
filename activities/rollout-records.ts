/**
 * What the runner-version check reads of the rollouts it started: a workflow cannot describe or query another
 * workflow, so an activity asks Temporal for the latest run under each id, its stage while it runs and, once it
 * completed, what stopped it.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import {
  RolloutStageSearchAttribute,
  statusQuery,
  type RolloutResult,
  type RolloutStage,
  type RolloutState,
  type StopRequest,
} from '../workflows/rollout-contract.js';
import type { StoppedRollout } from '../workflows/runner-version-check-contract.js';
import type { ActivityRuntime } from './runtime.js';
import type { RolloutActivities, RolloutRecord } from './contract.js';

export function createRolloutRecordActivities(runtime: ActivityRuntime): Pick<RolloutActivities, 'describeRollouts'> {
  return {
    async describeRollouts({ workflowIds }) {
      return describeRollouts((runtime.deps.temporal ?? Context.current().client).workflow, workflowIds);
    },
  };
}

/** The latest run under each id, one after another: a check reads a handful. */
export async function describeRollouts(
  workflows: Pick<Client['workflow'], 'getHandle'>,
  workflowIds: readonly string[],
): Promise<RolloutRecord[]> {
  const records: RolloutRecord[] = [];
  for (const workflowId of workflowIds) records.push(await describeRollout(workflows.getHandle(workflowId)));
  return records;
}

async function describeRollout(handle: WorkflowHandle): Promise<RolloutRecord> {
  const { workflowId } = handle;
  let description;
  try {
    description = await handle.describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return { workflowId, status: 'not-found' };
    throw error;
  }
  switch (description.status.name) {
    case 'RUNNING':
      return { workflowId, status: 'running', ...(await runningFacts(handle, description.typedSearchAttributes)) };
    case 'COMPLETED': {
      const result = (await handle.result()) as RolloutResult | undefined;
      const stopped = result === undefined ? undefined : stoppedRollout(result);
      return { workflowId, status: 'completed', ...(stopped === undefined ? {} : { stopped }) };
    }
    default:
      return { workflowId, status: 'closed', closedAs: description.status.name.toLowerCase() };
  }
}

/**
 * The rollout's own state says whether promotion has started (a gate waiting for promote approval has not); a
 * rollout whose query cannot be answered is judged by its stage search attribute alone.
 */
async function runningFacts(
  handle: WorkflowHandle,
  attributes: Awaited<ReturnType<WorkflowHandle['describe']>>['typedSearchAttributes'],
): Promise<{ stage: string; promotionStarted: boolean; stopping: boolean }> {
  let state: RolloutState;
  try {
    state = await handle.query(statusQuery);
  } catch {
    const stage = attributes.get(RolloutStageSearchAttribute) ?? 'preflight';
    return { stage, promotionStarted: stage === 'promote' || stage === 'converge', stopping: false };
  }
  const promoted = (state.migs ?? []).some(
    (mig) =>
      mig.phase === 'promoted' || mig.phase === 'converged' || (mig.role === 'direct-rest' && mig.phase === 'updated'),
  );
  return {
    stage: state.stage,
    promotionStarted: state.stage === 'converge' || promoted,
    stopping: state.stop !== undefined,
  };
}

const STOPPING_STAGES: readonly RolloutStage[] = ['rolled-back', 'aborted', 'done'];

/** What stopped a rollout that rolled back or was aborted; results recorded before `stop` was kept have less. */
function stoppedRollout(result: RolloutResult): StoppedRollout | undefined {
  if (result.outcome !== 'rolled-back' && result.outcome !== 'aborted') return undefined;
  const stop: StopRequest | undefined = result.stop;
  const stoppedIn = [...(result.stageTimings ?? [])]
    .reverse()
    .find((timing) => !STOPPING_STAGES.includes(timing.stage));
  return {
    outcome: result.outcome,
    finishedAt: result.finishedAt,
    gate: stop?.kind ?? 'unknown',
    ...(stop === undefined ? {} : { by: stop.identity }),
    ...(stoppedIn === undefined ? {} : { stoppedIn: stoppedIn.stage }),
    reason:
      stop?.reason ||
      result.evidence.join('; ') ||
      `the rollout ${result.outcome === 'aborted' ? 'was aborted' : 'rolled back'}`,
  };
}
