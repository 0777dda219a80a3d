import { randomUUID } from 'node:crypto';
import {
  OPERATION_WORKFLOWS,
  operationWorkflowId,
  type DrainIdleInput,
  type DrainIdleResult,
} from '../../workflows/operations-contract.js';
import type { CommandContext } from '../context.js';
import { runOperation } from '../operations.js';
import { table } from '../output.js';

export async function drainIdle(ctx: CommandContext, input: DrainIdleInput): Promise<DrainIdleResult> {
  const result = await runOperation<DrainIdleInput, DrainIdleResult>(
    ctx,
    OPERATION_WORKFLOWS.drainIdle,
    input,
    operationWorkflowId('drain-idle', randomUUID().slice(0, 8)),
  );
  ctx.output.result(result, ({ dryRun, migs }) =>
    [
      dryRun
        ? 'dry run: nothing was removed'
        : `drained ${migs.reduce((sum, mig) => sum + mig.drained.length, 0)} idle runners`,
      table([
        ['MIG', dryRun ? 'WOULD DRAIN' : 'DRAINED', 'BUSY (KEPT)', 'STUCK REMOVED'],
        ...migs.map((mig) => [
          mig.mig.name,
          String(mig.drained.length),
          String(mig.skippedBusy.length),
          String(mig.removedStuck.length),
        ]),
      ]),
    ].join('\n'),
  );
  return result;
}
