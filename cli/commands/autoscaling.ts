import { randomUUID } from 'node:crypto';
import {
  OPERATION_WORKFLOWS,
  operationWorkflowId,
  type SetAutoscalingInput,
  type SetAutoscalingResult,
} from '../../workflows/operations-contract.js';
import type { CommandContext } from '../context.js';
import { runOperation } from '../operations.js';
import { table } from '../output.js';

export async function autoscaling(ctx: CommandContext, input: SetAutoscalingInput): Promise<SetAutoscalingResult> {
  const result = await runOperation<SetAutoscalingInput, SetAutoscalingResult>(
    ctx,
    OPERATION_WORKFLOWS.setAutoscaling,
    input,
    operationWorkflowId('autoscaling', randomUUID().slice(0, 8)),
  );
  ctx.output.result(result, ({ migs }) =>
    table([
      ['MIG', 'BEFORE', 'AFTER'],
      ...migs.map(({ mig, before, after }) => [mig.name, `${before.min}..${before.max}`, `${after.min}..${after.max}`]),
    ]),
  );
  return result;
}
