import { WorkflowNotFoundError } from '@temporalio/client';
import pLimit from 'p-limit';
import { fleetPools, type Pool } from '../../runner-config/pools.js';
import type { PoolMode } from '../../runner-config/types.js';
import { describeSettings } from '../../workflows/pool-details.js';
import {
  poolStateQuery,
  poolWorkflowId,
  type PoolControllerState,
  type PoolSettings,
} from '../../workflows/pool-contract.js';
import type { CommandContext } from '../context.js';
import type { WorkerFleet } from '../fleet-flag.js';
import { requireWorker } from '../operations.js';
import { table } from '../output.js';

/**
 * One pool of the fleet as `rollout pools` shows it. Every field is always present (null when unknown), so a
 * script reads the same keys whether or not the pool's controller runs.
 */
export interface PoolLine {
  /** `<environment>/<group>/<type>`. */
  readonly pool: string;
  readonly workflowId: string;
  /** Whether the pool's controller runs; when it does not, only the fleet file's mode is known. */
  readonly running: boolean;
  /** The mode in force: the controller's, or the fleet file's when no controller runs. */
  readonly mode: PoolMode;
  readonly desired: number | null;
  readonly current: number | null;
  readonly busy: number | null;
  readonly idle: number | null;
  readonly queued: number | null;
  readonly min: number | null;
  readonly max: number | null;
  /** What `rollout pools set` changed over the fleet file; empty when nothing was (or no controller runs). */
  readonly settings: PoolSettings;
  readonly lastAction: string | null;
  readonly problem: string | null;
}

/** Controllers described at once: a fleet has a few dozen pools, and each look is one short call. */
const DESCRIBE_CONCURRENCY = 8;

/** Every pool of the fleet, in the fleet's order, with its controller's figures where one runs. */
export async function pools(ctx: CommandContext, options: WorkerFleet): Promise<PoolLine[]> {
  const limit = pLimit(DESCRIBE_CONCURRENCY);
  const controllers = await Promise.all(
    fleetPools(options.fleet).map((pool) =>
      limit(async () => {
        const workflowId = poolWorkflowId(options.project, pool.id);
        return { pool, workflowId, running: await controllerRuns(ctx, workflowId) };
      }),
    ),
  );
  // Only the running controllers are asked for their state, and a query needs a worker to answer it.
  if (controllers.some(({ running }) => running)) await requireWorker(ctx);
  const lines = await Promise.all(
    controllers.map(({ pool, workflowId, running }) =>
      limit(async () =>
        running
          ? lineOf(workflowId, await ctx.client.workflow.getHandle(workflowId).query(poolStateQuery))
          : notRunning(pool, workflowId),
      ),
    ),
  );
  ctx.output.result(lines, render);
  return lines;
}

/** Whether the workflow with this id has a running execution (describe is consistent; a list is not at once). */
export async function controllerRuns(ctx: CommandContext, workflowId: string): Promise<boolean> {
  try {
    return (await ctx.client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

function lineOf(workflowId: string, state: PoolControllerState): PoolLine {
  return {
    pool: state.pool,
    workflowId,
    running: true,
    mode: state.mode,
    desired: state.desired ?? null,
    current: state.current ?? null,
    busy: state.busy ?? null,
    idle: state.idle ?? null,
    queued: state.jobs.queued,
    min: state.min ?? null,
    max: state.max ?? null,
    settings: state.settings,
    lastAction: state.lastAction ?? null,
    problem: state.problem ?? null,
  };
}

function notRunning(pool: Pool, workflowId: string): PoolLine {
  return {
    pool: pool.id,
    workflowId,
    running: false,
    mode: pool.policy.mode,
    desired: null,
    current: null,
    busy: null,
    idle: null,
    queued: null,
    min: null,
    max: null,
    settings: {},
    lastAction: null,
    problem: null,
  };
}

function render(lines: readonly PoolLine[]): string {
  if (lines.length === 0) return 'the fleet has no pools';
  const figure = (value: number | null): string => (value === null ? '-' : String(value));
  return table([
    ['POOL', 'MODE', 'DESIRED', 'CURRENT', 'BUSY', 'IDLE', 'QUEUED', 'MIN', 'MAX', 'NOTE'],
    ...lines.map((line) => [
      line.pool,
      line.mode,
      figure(line.desired),
      figure(line.current),
      figure(line.busy),
      figure(line.idle),
      figure(line.queued),
      figure(line.min),
      figure(line.max),
      noteOf(line),
    ]),
  ]);
}

function noteOf(line: PoolLine): string {
  if (!line.running) return 'controller not running (mode from the fleet file)';
  const settings = describeSettings(line.settings);
  return [settings === '' ? '' : `set: ${settings}`, line.problem ?? ''].filter((part) => part !== '').join('; ');
}
