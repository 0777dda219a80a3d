import { WithStartWorkflowOperation } from '@temporalio/client';
import { fleetPools, type Pool } from '../../runner-config/pools.js';
import { describeSettings } from '../../workflows/pool-details.js';
import {
  POOL_CONTROLLER_WORKFLOW_TYPE,
  poolSettingsUpdate,
  poolWorkflowId,
  type PoolControllerWorkflow,
  type PoolSettingsAck,
  type PoolSettingsChange,
} from '../../workflows/pool-contract.js';
import { settingsProblem } from '../../workflows/pool-settings.js';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import type { WorkerFleet } from '../fleet-flag.js';
import { requireWorker } from '../operations.js';
import { controllerRuns } from './pools.js';

export interface PoolsSetOptions {
  readonly project: string;
  readonly pool: Pool;
  readonly change: PoolSettingsChange;
}

export interface PoolsSetResult extends PoolSettingsAck {
  readonly workflowId: string;
}

/**
 * The options, checked before Temporal is contacted: the pool is one of the fleet's, and the change passes every
 * rule that needs only the change and the fleet file (the controller's validator checks the rest).
 */
export function poolsSetOptions(fleet: WorkerFleet, poolId: string, change: PoolSettingsChange): PoolsSetOptions {
  const all = fleetPools(fleet.fleet);
  const pool = all.find((candidate) => candidate.id === poolId);
  if (pool === undefined) {
    throw new UsageError(`unknown pool "${poolId}"; the fleet's pools: ${all.map((known) => known.id).join(', ')}`);
  }
  const problem = settingsProblem(pool.id, change, { fleet: pool.policy });
  if (problem !== undefined) throw new UsageError(problem);
  return { project: fleet.project, pool, change };
}

/**
 * Sends the change to the pool's controller as an update, starting the controller when none runs
 * (update-with-start), so a setting is never lost for want of a running controller.
 */
export async function poolsSet(ctx: CommandContext, options: PoolsSetOptions): Promise<PoolsSetResult> {
  const { pool, change, project } = options;
  const workflowId = poolWorkflowId(project, pool.id);
  if (!(await controllerRuns(ctx, workflowId))) {
    // A controller started now has set nothing yet: every rule can be checked here, before anything starts.
    const problem = settingsProblem(pool.id, change, { current: {}, fleet: pool.policy });
    if (problem !== undefined) throw new UsageError(problem);
  }
  await requireWorker(ctx);
  const startWorkflowOperation = new WithStartWorkflowOperation<PoolControllerWorkflow>(POOL_CONTROLLER_WORKFLOW_TYPE, {
    workflowId,
    taskQueue: ctx.temporal.taskQueue,
    args: [{ project, pool: pool.id }],
    // A controller that runs (the webhook receiver may have just started it) takes the update as it is.
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  const ack = await ctx.client.workflow.executeUpdateWithStart(poolSettingsUpdate, {
    args: [change],
    startWorkflowOperation,
  });
  const result: PoolsSetResult = { workflowId, ...ack };
  ctx.output.result(result, render);
  return result;
}

function render(result: PoolsSetResult): string {
  const described = describeSettings(result.settings);
  const set =
    described === '' ? "nothing set at run time: the fleet file's policy applies" : `set at run time: ${described}`;
  if (result.mode === undefined) {
    return `pool ${result.pool}: ${set}; its controller started and applies it from its first decision`;
  }
  const inQueue = result.mode === 'queue' && result.min !== undefined && result.max !== undefined;
  const bounds = inQueue ? `, bounds ${result.min}..${result.max}` : '';
  return `pool ${result.pool}: mode ${result.mode}${bounds} (${set})`;
}
