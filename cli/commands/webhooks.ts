import { once } from 'node:events';
import type { FleetDefinition } from '../../runner-config/types.js';
import type { ReceiverLogEntry } from '../../webhooks/deliveries.js';
import { startPoolWebhookReceiver } from '../../webhooks/pool-receiver.js';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { workerFleet } from '../fleet-flag.js';

export interface WebhooksFlags {
  readonly port: number;
  readonly host?: string;
  readonly fleet?: string;
}

export interface WebhooksOptions {
  readonly port: number;
  readonly host?: string;
  /** The fleet whose pools jobs are placed in. */
  readonly fleet: FleetDefinition;
  /** Project of the pool controllers' workflow ids. */
  readonly project: string;
  readonly secret: string;
}

/**
 * The options from flags and environment, checked before Temporal is contacted: the secret, and the fleet as the
 * worker reads it (`--fleet`, else `ROLLOUT_FLEET_FILE`, else the built-in one; `GCP_PROJECT` retargets it).
 */
export async function webhooksOptions(
  flags: WebhooksFlags,
  env: Readonly<Record<string, string | undefined>>,
): Promise<WebhooksOptions> {
  const secret = env['GITHUB_WEBHOOK_SECRET'];
  if (secret === undefined || secret.trim() === '') {
    throw new UsageError('GITHUB_WEBHOOK_SECRET must hold the secret of the GitHub webhook');
  }
  const { fleet, project } = await workerFleet(flags.fleet, env);
  return {
    port: flags.port,
    ...(flags.host === undefined ? {} : { host: flags.host }),
    fleet,
    project,
    secret,
  };
}

/** Receives GitHub's webhook deliveries and signals each workflow_job event to its pool's controller until Ctrl-C. */
export async function webhooks(ctx: CommandContext, options: WebhooksOptions): Promise<void> {
  const log = ({ event, message, data }: ReceiverLogEntry): void => ctx.output.event(event, data, message);
  const receiver = await startPoolWebhookReceiver({
    port: options.port,
    ...(options.host === undefined ? {} : { host: options.host }),
    secret: options.secret,
    fleet: options.fleet,
    project: options.project,
    taskQueue: ctx.temporal.taskQueue,
    client: ctx.client.workflow,
    log,
  }).catch((error: unknown) => {
    if ((error as { code?: unknown }).code === 'EADDRINUSE')
      throw new UsageError(`port ${options.port} is already in use`);
    throw error;
  });
  try {
    ctx.output.event('listening', { url: receiver.url }, `receiving webhooks on ${receiver.url}`);
    if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
  } finally {
    await receiver.close();
    ctx.output.event('stopped', { counts: receiver.counts }, `stopped; deliveries: ${JSON.stringify(receiver.counts)}`);
  }
}
