/**
 * What tests and benchmarks start a local stack (devstack/) with and read of it: the fleet and simulator they ask
 * for, and the server, a client on it, the simulator, its fleet and the task queue once it runs.
 */
import type { Client } from '@temporalio/client';
import type { ActivityTiming } from '../activities/index.js';
import type { DevServer } from '../devstack/dev-server.js';
import type { LocalStack } from '../devstack/stack.js';
import type { FleetDefinition } from '../runner-config/types.js';
import type { SimulatorHandle, SimulatorOptions } from '../simulator/index.js';

export interface StackPartsOptions {
  readonly fleet?: FleetDefinition;
  readonly simulator?: Omit<SimulatorOptions, 'fleet' | 'port'>;
  readonly activityTiming?: Partial<ActivityTiming>;
}

export interface StackParts {
  readonly server: DevServer;
  readonly client: Client;
  readonly simulator: SimulatorHandle;
  readonly fleet: FleetDefinition;
  readonly taskQueue: string;
}

/** The simulator options of the stack: the ones asked for, over the fleet asked for (the default fleet if none). */
export function simulatorOptions(options: StackPartsOptions): SimulatorOptions {
  return { ...options.simulator, ...(options.fleet === undefined ? {} : { fleet: options.fleet }) };
}

export function stackParts(stack: LocalStack): StackParts {
  return {
    server: stack.server,
    client: stack.server.client,
    simulator: stack.simulator,
    fleet: stack.fleet,
    taskQueue: stack.taskQueue,
  };
}
