/**
 * Where the receiver sends job events: the pool controller of the job's pool, by signal-with-start, so the
 * receiver needs to know nothing about which controllers run. Signal-with-start signals the workflow with that id
 * if one is running and starts it (with the signal as its first message) if not:
 * https://docs.temporal.io/sending-messages#signal-with-start
 */
import type { WorkflowClient } from '@temporalio/client';
import {
  POOL_CONTROLLER_WORKFLOW_TYPE,
  poolJobSignal,
  poolWorkflowId,
  type PoolControllerWorkflow,
  type PoolJobEvent,
} from '../workflows/pool-contract.js';

export interface PoolSignalSink {
  /** Delivers one job event to the controller of `pool`, starting the controller when none runs. */
  signal(pool: string, event: PoolJobEvent): Promise<void>;
}

export interface TemporalPoolSignalsOptions {
  readonly project: string;
  readonly taskQueue: string;
}

export function temporalPoolSignals(
  client: Pick<WorkflowClient, 'signalWithStart'>,
  options: TemporalPoolSignalsOptions,
): PoolSignalSink {
  return {
    async signal(pool, event) {
      await client.signalWithStart<PoolControllerWorkflow, [PoolJobEvent]>(POOL_CONTROLLER_WORKFLOW_TYPE, {
        workflowId: poolWorkflowId(options.project, pool),
        taskQueue: options.taskQueue,
        args: [{ project: options.project, pool }],
        signal: poolJobSignal,
        signalArgs: [event],
      });
    },
  };
}
