/**
 * The entry of a worker process that {@link WorkerProcess} starts: configured from the environment like
 * `rollout worker` (loadWorkerConfig, the production composition), over a prebundled workflow bundle so that it
 * polls a couple of seconds after it is told to. It loads everything ahead, prints the standby line and waits
 * for `run` on stdin; it prints the ready line once it polls.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { ActivityTiming } from '../activities/index.js';
import { defaultFleet } from '../runner-config/default-fleet.js';
import type { FleetDefinition } from '../runner-config/types.js';
import { composeWorker, type WorkerComposition } from '../worker/compose.js';
import { loadWorkerConfig } from '../worker/config.js';
import { SimulatorClockMirror } from './simulator-clock.js';

/** Non-secret options of one worker process; credentials travel in the environment as they do in production. */
export interface ChildWorkerOptions {
  /** Reported to the server: pending activities name the worker that last ran them. */
  readonly identity: string;
  /** A workflow bundle written by `workflowBundlePath`. */
  readonly bundlePath: string;
  /** A JSON FleetDefinition; the default fleet when omitted. */
  readonly fleetPath?: string;
  readonly activityTiming?: Partial<ActivityTiming>;
  /** Follow the simulator's clock (at this URL) instead of the wall clock, as activities against it should. */
  readonly simulatorClockUrl?: string;
  readonly stickyQueueTimeoutMs?: number;
}

/**
 * A worker the stack may kill at any moment: rate limits are Temporal's to retry (an in-process wait would only
 * hide them), and a stop does not wait for long API calls to finish.
 */
export const DISPOSABLE_WORKER: Pick<WorkerComposition, 'github' | 'shutdownGraceTimeMs'> = {
  github: { throttle: { enabled: true, maxRateLimitWaitSeconds: 1 }, retries: 1 },
  shutdownGraceTimeMs: 2000,
};

export const CHILD_WORKER_OPTIONS_VARIABLE = 'ROLLOUT_STACK_WORKER';
/** Printed on stdout once the worker is created and waits for `run` on stdin. */
export const CHILD_WORKER_STANDBY_LINE = 'stack-worker standby';
/** Printed on stdout once the worker polls its task queue. */
export const CHILD_WORKER_READY_LINE = 'stack-worker ready';

async function main(): Promise<void> {
  const raw = process.env[CHILD_WORKER_OPTIONS_VARIABLE];
  if (raw === undefined) throw new Error(`${CHILD_WORKER_OPTIONS_VARIABLE} is not set`);
  const options = JSON.parse(raw) as ChildWorkerOptions;
  // The parent holds our stdin: when it goes away (even killed), so does this worker.
  const lines = createInterface({ input: process.stdin });
  const exitWithParent = (): never => process.exit(1);
  lines.once('close', exitWithParent);
  // The iterator buffers a `run` that arrives before we are ready to read it.
  const commands = lines[Symbol.asyncIterator]();
  const config = loadWorkerConfig(process.env);
  Runtime.install({ logger: new DefaultLogger(config.logLevel), shutdownSignals: ['SIGTERM', 'SIGINT'] });
  const fleet: FleetDefinition =
    options.fleetPath === undefined
      ? defaultFleet()
      : (JSON.parse(readFileSync(options.fleetPath, 'utf8')) as FleetDefinition);
  const mirror =
    options.simulatorClockUrl === undefined ? undefined : await SimulatorClockMirror.start(options.simulatorClockUrl);
  // Everything up to polling is done ahead: the parent keeps this process as a standby until it sends `run`.
  const { worker, close } = await composeWorker(config, {
    ...DISPOSABLE_WORKER,
    fleet,
    identity: options.identity,
    workflowBundlePath: options.bundlePath,
    ...(options.activityTiming === undefined ? {} : { activityTiming: options.activityTiming }),
    ...(mirror === undefined ? {} : { clock: () => mirror.now() }),
    ...(options.stickyQueueTimeoutMs === undefined ? {} : { stickyQueueTimeoutMs: options.stickyQueueTimeoutMs }),
  });
  process.stdout.write(`${CHILD_WORKER_STANDBY_LINE}\n`);
  const command = (await commands.next()).value as string | undefined;
  if (command !== 'run') throw new Error(`expected "run" on stdin, got "${command ?? ''}"`);
  const running = worker.run();
  process.stdout.write(`${CHILD_WORKER_READY_LINE}\n`);
  try {
    await running;
  } finally {
    mirror?.stop();
    await close();
    lines.off('close', exitWithParent);
    lines.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
