/** A rollout started on a local stack directly through its client, the way `rollout start` starts one. */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { FleetDefinition } from '../runner-config/types.js';
import {
  ROLLOUT_WORKFLOW_TYPE,
  RolloutVersionSearchAttribute,
  rolloutWorkflowId,
  type RolloutInput,
  type RolloutResult,
} from '../workflows/rollout-contract.js';

export type RolloutHandle = WorkflowHandle<(input: RolloutInput) => Promise<RolloutResult>>;

export interface RolloutTarget {
  readonly client: Client;
  readonly taskQueue: string;
  readonly fleet: FleetDefinition;
}

/** The workflow id from project and version, and the version search attribute, as `rollout start` sets them. */
export async function startRollout(target: RolloutTarget, input: RolloutInput): Promise<RolloutHandle> {
  return target.client.workflow.start<(input: RolloutInput) => Promise<RolloutResult>>(ROLLOUT_WORKFLOW_TYPE, {
    taskQueue: target.taskQueue,
    workflowId: rolloutWorkflowId(target.fleet.project, input.version),
    args: [input],
    typedSearchAttributes: [{ key: RolloutVersionSearchAttribute, value: input.version }],
  });
}
