/**
 * The receiver as it runs for a fleet: deliveries placed in the fleet's pools and signalled to their controllers
 * through Temporal. `rollout webhooks` runs it on its own; the local stack runs it beside the simulator.
 */
import type { WorkflowClient } from '@temporalio/client';
import { fleetPools } from '../runner-config/pools.js';
import type { FleetDefinition } from '../runner-config/types.js';
import type { ReceiverLogEntry } from './deliveries.js';
import { temporalPoolSignals } from './pool-signals.js';
import { startWebhookReceiver, type WebhookReceiver } from './receiver.js';

export interface PoolWebhookReceiverOptions {
  readonly port: number;
  /** Default: every interface. */
  readonly host?: string;
  readonly secret: string;
  /** The fleet whose pools jobs are placed in. */
  readonly fleet: FleetDefinition;
  /** Project of the pool controllers' workflow ids. */
  readonly project: string;
  /** Where a controller that is not running yet is started. */
  readonly taskQueue: string;
  readonly client: Pick<WorkflowClient, 'signalWithStart'>;
  readonly log: (entry: ReceiverLogEntry) => void;
}

export function startPoolWebhookReceiver(options: PoolWebhookReceiverOptions): Promise<WebhookReceiver> {
  return startWebhookReceiver({
    port: options.port,
    ...(options.host === undefined ? {} : { host: options.host }),
    secret: options.secret,
    pools: fleetPools(options.fleet),
    sink: temporalPoolSignals(options.client, { project: options.project, taskQueue: options.taskQueue }),
    log: options.log,
  });
}
