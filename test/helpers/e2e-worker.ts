/**
 * A rollout worker for end-to-end tests, built like worker/main.ts (configuration from the environment through
 * `loadWorkerConfig`, the production client factories, `createActivities`) but over a prebundled workflow bundle,
 * so that a worker process restarts in a couple of seconds. Run as a child process by e2e-stack.ts (options in
 * ROLLOUT_E2E_WORKER, credentials in the usual variables), or in-process through {@link createE2eWorker}.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities, type ActivityTiming } from '../../activities/index.js';
import { defaultFleet } from '../../runner-config/default-fleet.js';
import type { FleetDefinition } from '../../runner-config/types.js';
import { createComputeClients, createGitHubClient } from '../../worker/clients.js';
import { loadWorkerConfig } from '../../worker/config.js';
import { temporalConnectionOptions } from '../../worker/temporal-connection.js';

/** Non-secret options of one worker; credentials travel in the environment as they do in production. */
export interface E2eWorkerOptions {
  /** Reported to the server: pending activities name the worker that last ran them. */
  readonly identity: string;
  /** A workflow bundle written by `bundleWorkflowCode` (see `workflowBundlePath` in e2e-stack.ts). */
  readonly bundlePath: string;
  /** A JSON FleetDefinition; the default fleet when omitted. */
  readonly fleetPath?: string;
  readonly activityTiming?: Partial<ActivityTiming>;
  /** Follow the simulator's clock (at this URL) instead of the wall clock, as activities against it should. */
  readonly simulatorClockUrl?: string;
  /** A killed worker's sticky workflows move to another worker after this long (SDK default 10 s). */
  readonly stickyQueueTimeoutMs?: number;
  readonly maxCachedWorkflows?: number;
}

export const E2E_WORKER_OPTIONS_VARIABLE = 'ROLLOUT_E2E_WORKER';
/** Printed on stdout once the worker is created and waits for `run` on stdin. */
export const E2E_WORKER_STANDBY_LINE = 'e2e-worker standby';
/** Printed on stdout once the worker polls its task queue. */
export const E2E_WORKER_READY_LINE = 'e2e-worker ready';

export interface E2eWorker {
  readonly worker: Worker;
  readonly close: () => Promise<void>;
}

/** Builds a worker from `env` (TEMPORAL_ADDRESS, ROLLOUT_TASK_QUEUE, COMPUTE_API_ENDPOINT, GITHUB_*). */
export async function createE2eWorker(
  options: E2eWorkerOptions,
  env: Readonly<Record<string, string | undefined>>,
  clock?: () => Date,
): Promise<E2eWorker> {
  const config = loadWorkerConfig(env);
  const fleet: FleetDefinition =
    options.fleetPath === undefined
      ? defaultFleet()
      : (JSON.parse(readFileSync(options.fleetPath, 'utf8')) as FleetDefinition);
  const mirror =
    options.simulatorClockUrl === undefined ? undefined : await SimulatorClockMirror.start(options.simulatorClockUrl);
  const activities = createActivities({
    fleet,
    compute: createComputeClients(config.gcp),
    // Rate limits are Temporal's to retry: an in-process wait would only hide them from the test.
    github: createGitHubClient({
      ...config.github,
      throttle: { enabled: true, maxRateLimitWaitSeconds: 1 },
      retries: 1,
    }),
    ...(options.activityTiming === undefined ? {} : { timing: options.activityTiming }),
    ...(clock !== undefined ? { clock } : mirror === undefined ? {} : { clock: () => mirror.now() }),
  });
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      identity: options.identity,
      workflowBundle: { codePath: options.bundlePath },
      activities,
      stickyQueueScheduleToStartTimeout: options.stickyQueueTimeoutMs ?? 10_000,
      ...(options.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: options.maxCachedWorkflows }),
      shutdownGraceTime: '2 seconds',
    });
    return {
      worker,
      close: async () => {
        mirror?.stop();
        await connection.close();
      },
    };
  } catch (error) {
    mirror?.stop();
    await connection.close();
    throw error;
  }
}

/**
 * The simulator's clock, readable synchronously: refreshed from `/_sim/clock` a few times a second and
 * extrapolated with its speed in between (explicit clock advances show up at the next refresh).
 */
class SimulatorClockMirror {
  private simMs = 0;
  private realMs = 0;
  private speed = 1;
  private readonly timer: NodeJS.Timeout;

  private constructor(private readonly url: string) {
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), 100);
    this.timer.unref();
  }

  static async start(url: string): Promise<SimulatorClockMirror> {
    const mirror = new SimulatorClockMirror(url);
    await mirror.refresh();
    return mirror;
  }

  now(): Date {
    return new Date(this.simMs + (Date.now() - this.realMs) * this.speed);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async refresh(): Promise<void> {
    const response = await fetch(`${this.url}/_sim/clock`);
    const clock = (await response.json()) as { now: string; speed: number };
    this.simMs = Date.parse(clock.now);
    this.realMs = Date.now();
    this.speed = clock.speed;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const raw = process.env[E2E_WORKER_OPTIONS_VARIABLE];
  if (raw === undefined) throw new Error(`${E2E_WORKER_OPTIONS_VARIABLE} is not set`);
  const options = JSON.parse(raw) as E2eWorkerOptions;
  // The parent holds our stdin: when it goes away (even killed), so does this worker.
  const lines = createInterface({ input: process.stdin });
  const exitWithParent = (): never => process.exit(1);
  lines.once('close', exitWithParent);
  // The iterator buffers a `run` that arrives before we are ready to read it.
  const commands = lines[Symbol.asyncIterator]();
  Runtime.install({
    logger: new DefaultLogger((process.env['ROLLOUT_TEST_LOG_LEVEL'] as 'INFO' | undefined) ?? 'WARN'),
    shutdownSignals: ['SIGTERM', 'SIGINT'],
  });
  // Everything up to polling is done ahead: the parent keeps this process as a standby until it sends `run`.
  const { worker, close } = await createE2eWorker(options, process.env);
  process.stdout.write(`${E2E_WORKER_STANDBY_LINE}\n`);
  const command = (await commands.next()).value as string | undefined;
  if (command !== 'run') throw new Error(`expected "run" on stdin, got "${command ?? ''}"`);
  const running = worker.run();
  process.stdout.write(`${E2E_WORKER_READY_LINE}\n`);
  try {
    await running;
  } finally {
    await close();
    lines.off('close', exitWithParent);
    lines.close();
  }
}
