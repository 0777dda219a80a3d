/**
 * The local stack's worker in a process of its own (worker-process.ts), which a test can SIGKILL and start again:
 * the stack's `external` worker, over the simulator's fleet and clock and this process's workflow bundle.
 *
 *     const stack = await startLocalStack({ binary, worker: childWorker({ activityTiming }) });
 *     await stack.worker.handle.kill(); await stack.worker.handle.start();
 */
import { writeFileSync } from 'node:fs';
import type { ActivityTiming } from '../activities/index.js';
import type { ExternalWorkerOptions } from '../devstack/stack.js';
import { scratchPath, workflowBundlePath } from './workflow-bundle.js';
import { WorkerProcess } from './worker-process.js';

export interface ChildWorkerSpec {
  readonly activityTiming?: Partial<ActivityTiming>;
  readonly stickyQueueTimeoutMs?: number;
}

export function childWorker(spec: ChildWorkerSpec = {}): ExternalWorkerOptions<WorkerProcess> {
  // Bundled while the stack starts its server.
  const bundle = workflowBundlePath();
  return {
    mode: 'external',
    async start({ server, simulator, workerEnv }) {
      const fleetPath = scratchPath(`fleet-${server.port}.json`);
      writeFileSync(fleetPath, JSON.stringify(simulator.fleet));
      const worker = new WorkerProcess({
        env: workerEnv,
        name: `worker-${server.port}`,
        worker: {
          bundlePath: await bundle,
          fleetPath,
          // Activities measure deadlines and ages in the simulator's time, as they would in the world it models.
          simulatorClockUrl: simulator.url,
          ...(spec.activityTiming === undefined ? {} : { activityTiming: spec.activityTiming }),
          ...(spec.stickyQueueTimeoutMs === undefined ? {} : { stickyQueueTimeoutMs: spec.stickyQueueTimeoutMs }),
        },
      });
      try {
        await worker.start();
      } catch (error) {
        await worker.stop();
        throw error;
      }
      return worker;
    },
  };
}
