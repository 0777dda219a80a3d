/**
 * The local stack (devstack/) as end-to-end and reliability tests use it: a headless dev server (optionally on
 * a SQLite file, restartable on it), the simulator, and a worker through the production composition, either a
 * child process that can be SIGKILLed and restarted (testbed/) or in this process; quiet unless
 * ROLLOUT_TEST_LOG_LEVEL asks for logs. Also the readings of the simulator's state that tests compare.
 *
 *     const stack = await startE2eStack({ worker: 'child', dbFilename });
 *     ...; await stack.worker.kill(); await stack.worker.start(); await stack.server.restart();
 *     await stack.close();
 */
import type { ActivityTiming } from '../../activities/index.js';
import { startLocalStack } from '../../devstack/stack.js';
import { SIMULATOR_ACTIVITY_TIMING } from '../../devstack/timing.js';
import type { MutationLogEntry, SimulatorHandle } from '../../simulator/index.js';
import { simulatorOptions, stackParts, type StackParts, type StackPartsOptions } from '../../testbed/stack-parts.js';
import { childWorker } from '../../testbed/stack-worker.js';
import { workflowBundlePath } from '../../testbed/workflow-bundle.js';
import { DISPOSABLE_WORKER } from '../../testbed/worker-child.js';
import type { WorkerProcess } from '../../testbed/worker-process.js';
import { installQuietRuntime, temporalBinaries } from './temporal.js';

export interface E2eStackOptions extends StackPartsOptions {
  /** SQLite file for the dev server (see `scratchPath`). */
  readonly dbFilename?: string;
  readonly workflowTaskTimeout?: string;
  /** `child` (default): a killable process; `in-process`: a Worker in this process; `none`. */
  readonly worker?: 'child' | 'in-process' | 'none';
  /** Worker credentials, e.g. a GitHub App instead of the default simulator token. */
  readonly workerEnv?: Readonly<Record<string, string>>;
  readonly stickyQueueTimeoutMs?: number;
  readonly taskQueue?: string;
}

export interface E2eStack extends StackParts {
  /** The child-process worker (`worker: 'child'`); throws for the other modes. */
  readonly worker: WorkerProcess;
  /** The environment the worker was configured from (addresses and credentials). */
  readonly workerEnv: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

export async function startE2eStack(options: E2eStackOptions = {}): Promise<E2eStack> {
  installQuietRuntime();
  const mode = options.worker ?? 'child';
  const activityTiming = options.activityTiming ?? SIMULATOR_ACTIVITY_TIMING;
  const sticky =
    options.stickyQueueTimeoutMs === undefined ? {} : { stickyQueueTimeoutMs: options.stickyQueueTimeoutMs };
  const stack = await startLocalStack({
    binary: temporalBinaries().cli,
    server: {
      logLevel: 'error',
      ...(options.dbFilename === undefined ? {} : { dbFilename: options.dbFilename }),
      ...(options.workflowTaskTimeout === undefined ? {} : { workflowTaskTimeout: options.workflowTaskTimeout }),
    },
    simulator: simulatorOptions(options),
    env: { ROLLOUT_LOG_LEVEL: process.env['ROLLOUT_TEST_LOG_LEVEL'] },
    ...(options.workerEnv === undefined ? {} : { credentials: options.workerEnv }),
    ...(options.taskQueue === undefined ? {} : { taskQueue: options.taskQueue }),
    worker:
      mode === 'child'
        ? childWorker({ activityTiming, ...sticky })
        : mode === 'in-process'
          ? {
              mode,
              activityTiming,
              followSimulatorClock: true,
              workflowBundlePath: workflowBundlePath(),
              composition: { ...DISPOSABLE_WORKER, ...sticky },
            }
          : { mode },
  });
  const worker = stack.worker;
  return {
    ...stackParts(stack),
    get worker(): WorkerProcess {
      if (worker.mode !== 'external') throw new Error(`this stack runs its worker ${mode}`);
      return worker.handle;
    },
    workerEnv: stack.workerEnv,
    // Teardown must not fail a test whose assertions passed.
    close: () => stack.stop().catch(() => undefined),
  };
}

/**
 * The default fleet with busy prod pools (canary VMs appear when a base VM finishes its job, and old VMs leave
 * the same way) at a simulated minute per second, the worker in this process.
 */
export function startBusyFleetStack(): Promise<E2eStack> {
  return startE2eStack({
    worker: 'in-process',
    simulator: BUSY_FLEET_SIMULATOR,
    activityTiming: BUSY_FLEET_ACTIVITY_TIMING,
  });
}

/** Busy prod pools at a simulated minute per second (see {@link startBusyFleetStack}). */
export const BUSY_FLEET_SIMULATOR: NonNullable<StackPartsOptions['simulator']> = {
  speed: 60,
  jobRates: [
    { environment: 'prod', perHour: 40, meanDurationMinutes: 10 },
    { environment: 'testing', perHour: 0, meanDurationMinutes: 10 },
  ],
};

/**
 * The worker follows the simulator's clock while workflow time is real: the registration grace would compare the
 * two, so it is left to the boot-loop rule (creation times alone).
 */
export const BUSY_FLEET_ACTIVITY_TIMING: Partial<ActivityTiming> = {
  ...SIMULATOR_ACTIVITY_TIMING,
  registrationGraceMs: 7 * 24 * 3600_000,
};

/**
 * Per MIG: its versions (`name=template`, comma-separated) and the templates of live instances that no version
 * names (VMs a rollout still has to replace). Sizes and instance counts are left out: they follow job arrivals.
 */
export interface MigOutcome {
  readonly versions: string;
  readonly strayTemplates: readonly string[];
}

export function fleetOutcome(simulator: SimulatorHandle): Record<string, MigOutcome> {
  const outcome: Record<string, MigOutcome> = {};
  for (const mig of simulator.control.state().migs) {
    const named = new Set(mig.versions.map((version) => version.template));
    outcome[mig.name] = {
      versions: mig.versions.map((version) => `${version.name}=${version.template}`).join(','),
      strayTemplates: Object.keys(mig.instancesByTemplate)
        .filter((template) => !named.has(template))
        .sort(),
    };
  }
  return outcome;
}

/** Read-only calls that the APIs define as POST, which the simulator therefore logs with the mutations. */
const READS_SENT_AS_POST = new Set(['compute.regionInstanceGroupManagers.listManagedInstances']);

/** Requests that could have changed the fleet (after `since`), from the simulator's mutation log. */
export function fleetChanges(simulator: SimulatorHandle, since = 0): MutationLogEntry[] {
  return simulator.control.mutations({ since }).filter((entry) => !READS_SENT_AS_POST.has(entry.endpoint));
}

/** The sequence number of the latest logged mutation (0 before any): a `since` for later reads of the log. */
export function lastMutationSeq(simulator: SimulatorHandle): number {
  return simulator.control.mutations().at(-1)?.seq ?? 0;
}

/** Effective MIG version patches per MIG name, from the simulator's mutation log (after `since`). */
export function effectivePatchesByMig(simulator: SimulatorHandle, since = 0): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const entry of simulator.control.mutations({ since, endpoint: 'compute.regionInstanceGroupManagers.patch' })) {
    if (!entry.effective) continue;
    const mig = /instanceGroupManagers\/([^/?]+)/.exec(entry.path)?.[1] ?? entry.path;
    counts[mig] = (counts[mig] ?? 0) + 1;
  }
  return counts;
}

/** Jobs that died because the engine deleted or recreated the VM running them (a busy runner killed). */
export function jobsKilledByTheEngine(simulator: SimulatorHandle): string[] {
  return simulator.control
    .jobs()
    .killed.filter((job) => job.killedBy === 'deleteInstances' || job.killedBy === 'applyUpdatesToInstances')
    .map((job) => `job ${job.id} on ${job.runnerName ?? '?'} (${job.mig ?? '?'}) killed by ${job.killedBy ?? '?'}`);
}
