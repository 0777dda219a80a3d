import { statusQuery, type ApprovalStage } from '../../workflows/rollout-contract.js';
import {
  abortUpdate,
  approveUpdate,
  pauseUpdate,
  resumeUpdate,
  rollbackUpdate,
  type ControlAck,
} from '../../workflows/rollout-controls-contract.js';
import type { CommandContext } from '../context.js';
import { RejectedError } from '../errors.js';
import { requireWorker } from '../operations.js';
import { assertRollout } from './status.js';

export type ControlAction = 'approve' | 'pause' | 'resume' | 'abort' | 'rollback';

export interface ControlOptions {
  readonly action: ControlAction;
  readonly id: string;
  readonly identity: string;
  readonly reason?: string;
  /** `approve` only: the gate to approve; the pending one when omitted. */
  readonly stage?: ApprovalStage;
}

export interface ControlResult extends ControlAck {
  readonly workflowId: string;
  readonly action: ControlAction;
}

/**
 * Sends an operator control as an update, so the operator hears at once whether the rollout accepted it or
 * why its validator refused.
 */
export async function control(ctx: CommandContext, options: ControlOptions): Promise<ControlResult> {
  const handle = ctx.client.workflow.getHandle(options.id);
  const description = await handle.describe();
  assertRollout(options.id, description);
  if (description.status.name !== 'RUNNING') {
    throw new RejectedError(`rollout ${options.id} has already finished (${description.status.name.toLowerCase()})`);
  }
  await requireWorker(ctx);
  const request = { identity: options.identity, ...(options.reason === undefined ? {} : { reason: options.reason }) };
  let ack: ControlAck;
  switch (options.action) {
    case 'approve': {
      const stage = options.stage ?? (await pendingStage(ctx, options.id));
      ack = await handle.executeUpdate(approveUpdate, { args: [{ ...request, stage }] });
      break;
    }
    case 'pause':
      ack = await handle.executeUpdate(pauseUpdate, { args: [request] });
      break;
    case 'resume':
      ack = await handle.executeUpdate(resumeUpdate, { args: [request] });
      break;
    case 'abort':
      ack = await handle.executeUpdate(abortUpdate, {
        args: [{ identity: options.identity, reason: options.reason ?? 'no reason given' }],
      });
      break;
    case 'rollback':
      ack = await handle.executeUpdate(rollbackUpdate, { args: [request] });
      break;
  }
  const result: ControlResult = { workflowId: options.id, action: options.action, ...ack };
  ctx.output.result(
    result,
    () => `${options.action}: ${ack.message} (stage ${ack.stage}${ack.paused ? ', paused' : ''})`,
  );
  return result;
}

async function pendingStage(ctx: CommandContext, workflowId: string): Promise<ApprovalStage> {
  const state = await ctx.client.workflow.getHandle(workflowId).query(statusQuery);
  if (state.gate === undefined) {
    throw new RejectedError(`rollout ${workflowId} is not waiting for an approval (stage ${state.stage})`);
  }
  return state.gate.kind === 'test-approval' ? 'test' : 'promote';
}
