import { Client, Connection } from '@temporalio/client';
import type { TemporalConfig } from '../config/temporal.js';
import { temporalConnectionOptions } from '../config/temporal-connection.js';
import { UnreachableError } from './errors.js';
import type { Output } from './output.js';

/** What every command that talks to Temporal receives. */
export interface CommandContext {
  readonly client: Client;
  readonly temporal: TemporalConfig;
  readonly output: Output;
  /** Aborted on Ctrl-C: long-running commands (`status --watch`) stop cleanly. */
  readonly signal: AbortSignal;
}

/** A short connect deadline: an operator with the wrong address should hear so in seconds, not minutes. */
const CONNECT_TIMEOUT = '5 seconds';

export interface ConnectedClient {
  readonly client: Client;
  readonly close: () => Promise<void>;
}

export async function connectClient(temporal: TemporalConfig): Promise<ConnectedClient> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...temporalConnectionOptions(temporal), connectTimeout: CONNECT_TIMEOUT });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UnreachableError(
      `cannot reach Temporal at ${temporal.address} (${reason}); is the server running? (set TEMPORAL_ADDRESS, or start one with \`rollout dev\`)`,
      { cause: error },
    );
  }
  return {
    client: new Client({ connection, namespace: temporal.namespace }),
    close: () => connection.close(),
  };
}

/** Link to a workflow in the Temporal Web UI. */
export function workflowUrl(temporal: TemporalConfig, workflowId: string): string {
  return `${temporal.uiUrl}/namespaces/${encodeURIComponent(temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
