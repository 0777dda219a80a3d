/**
 * The local stack (devstack/) as the benchmarks run it: a headless dev server, the simulator, and a worker in
 * a process of its own (its memory is measured) that follows the simulator's clock; SDK logs only for errors.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { resolveTemporalCli } from '../cli/temporal-binary.js';
import { startLocalStack } from '../devstack/stack.js';
import { SIMULATOR_ACTIVITY_TIMING } from '../devstack/timing.js';
import { simulatorOptions, stackParts, type StackParts, type StackPartsOptions } from '../testbed/stack-parts.js';
import { childWorker } from '../testbed/stack-worker.js';
import type { WorkerProcess } from '../testbed/worker-process.js';

export type BenchStackOptions = StackPartsOptions;

export interface BenchStack extends StackParts {
  readonly worker: WorkerProcess;
  close(): Promise<void>;
}

export async function startBenchStack(options: BenchStackOptions = {}): Promise<BenchStack> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const stack = await startLocalStack({
    binary: resolveTemporalCli(),
    server: { logLevel: 'error' },
    simulator: simulatorOptions(options),
    worker: childWorker({ activityTiming: options.activityTiming ?? SIMULATOR_ACTIVITY_TIMING }),
  });
  return {
    ...stackParts(stack),
    worker: stack.worker.handle,
    close: () => stack.stop(),
  };
}
