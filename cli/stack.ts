/**
 * The local stack (devstack/) as `rollout dev` and `rollout demo` run it: the Temporal dev server with its Web
 * UI, the simulator, a worker in this process at the simulator's speed and, if asked for, the webhook receiver
 * the simulator delivers its `workflow_job` events to. With a state directory, Temporal's database and the
 * simulator's world both live there (dev-state.ts), so a restart continues the same fleet. Here the ports and
 * the directory are checked before anything starts, and failures get their exit codes.
 */
import { randomBytes } from 'node:crypto';
import { SIMULATOR_CREDENTIALS } from '../devstack/simulator.js';
import { StackError } from '../devstack/errors.js';
import { freePortWithUi, UI_PORT_OFFSET } from '../devstack/ports.js';
import { startLocalStack, type LocalStack, type WorkerOf } from '../devstack/stack.js';
import { timingAtSpeed } from '../devstack/timing.js';
import { defaultFleet } from '../runner-config/default-fleet.js';
import { SnapshotError } from '../simulator/index.js';
import type { WorkerConfig } from '../worker/config.js';
import { installWorkerRuntime } from '../worker/main.js';
import { assertPortFree, clearState, lockStateDir, statePaths } from './dev-state.js';
import { CliError, EXIT_CODES, UsageError } from './errors.js';
import { waitForPoller } from './operations.js';
import type { Output } from './output.js';
import { resolveTemporalCli } from './temporal-binary.js';

export interface StackOptions {
  /**
   * Directory for the Temporal database and the simulator's snapshot, locked while the stack runs; both live in
   * memory when omitted.
   */
  readonly stateDir?: string;
  /** Deletes both from the state directory first. */
  readonly fresh?: boolean;
  /** Temporal frontend port (0 = a free one); the Web UI listens on port + 1000. */
  readonly port: number;
  readonly simPort: number;
  /** Simulated seconds per real second; the engine's default intervals shrink by the same factor. */
  readonly speed: number;
  readonly taskQueue: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Runs the webhook receiver on a free port of 127.0.0.1, with `GITHUB_WEBHOOK_SECRET` or else a random secret
   * of this run, and has the simulator deliver its job events there. Off when omitted.
   */
  readonly webhooks?: boolean;
}

export interface Stack {
  readonly temporalAddress: string;
  readonly uiUrl: string;
  readonly simulatorUrl: string;
  /** The worker's configuration (Temporal address, task queue, simulator endpoints). */
  readonly workerConfig: WorkerConfig;
  /** Settles when the worker stops; rejects if it fails. */
  readonly worker: Promise<void>;
  /** Stops the worker, the server and the simulator (which saves its world), in that order. */
  stop(): Promise<void>;
}

/** The server lists a new worker's poller within a second or two; past this the worker is not reaching it. */
const POLLER_VISIBLE_TIMEOUT_MS = 30_000;

export async function startStack(output: Output, options: StackOptions): Promise<Stack> {
  // Read first: a bad fleet file is reported before anything starts.
  const fleet = defaultFleet();
  const binary = resolveTemporalCli(options.env);
  const port = options.port === 0 ? await freePortWithUi() : options.port;
  // Another stack's ports, or its state directory, stop this one before it starts or changes anything.
  await assertPortFree(port, 'Temporal', '--port');
  await assertPortFree(port + UI_PORT_OFFSET, 'the Web UI', '--port');
  if (options.simPort !== 0) await assertPortFree(options.simPort, 'the simulator', '--sim-port');
  const stateDir = options.stateDir;
  const unlock = stateDir === undefined ? undefined : lockStateDir(stateDir);
  let stack: LocalStack<WorkerOf<{ mode: 'in-process' }>> | undefined;
  const stop = async (): Promise<void> => {
    try {
      await stack?.stop();
    } finally {
      unlock?.();
    }
  };
  try {
    if (stateDir !== undefined && options.fresh === true) clearState(stateDir);
    const paths = stateDir === undefined ? undefined : statePaths(stateDir);
    const timing = timingAtSpeed(options.speed);
    stack = await startLocalStack({
      binary,
      server: { port, ui: true, ...(paths === undefined ? {} : { dbFilename: paths.temporalDb }) },
      simulator: {
        port: options.simPort,
        fleet,
        speed: options.speed,
        ...(paths === undefined ? {} : { snapshotFile: paths.simulatorSnapshot }),
      },
      taskQueue: options.taskQueue,
      env: options.env,
      credentials: SIMULATOR_CREDENTIALS,
      ...(options.webhooks === true
        ? {
            webhooks: {
              secret: webhookSecret(options.env),
              log: ({ event, message, data }) => output.event(event, data, message),
            },
          }
        : {}),
      worker: {
        mode: 'in-process',
        fleet,
        rolloutTiming: timing.rollout,
        activityTiming: timing.activities,
        installRuntime: installWorkerRuntime,
      },
      onServing: ({ server, simulator, webhooks }) => {
        output.event('temporal', { address: server.address }, `Temporal:  ${server.address}`);
        output.event('ui', { url: server.uiUrl }, `Web UI:    ${server.uiUrl ?? ''}`);
        const restored = simulator.restored ? ` (its world restored from ${paths?.simulatorSnapshot ?? ''})` : '';
        output.event(
          'simulator',
          { url: simulator.url, restored: simulator.restored },
          `Simulator: ${simulator.url}${restored}`,
        );
        if (webhooks !== undefined) output.event('webhooks', { url: webhooks.url }, `Webhooks:  ${webhooks.url}`);
      },
    }).catch(cliFailure);
    const worker = stack.worker.done;
    // Ready only once the server lists the worker: a command sent earlier would be told no worker is polling.
    await Promise.race([
      waitForPoller(
        stack.server.connection.workflowService,
        { namespace: 'default', taskQueue: options.taskQueue },
        { timeoutMs: POLLER_VISIBLE_TIMEOUT_MS },
      ),
      worker.then(() => {
        throw new CliError('the worker stopped as it started', EXIT_CODES.failure);
      }),
    ]);
    output.event('worker', { taskQueue: options.taskQueue }, `Worker ready on task queue ${options.taskQueue}`);
    return {
      temporalAddress: stack.server.address,
      uiUrl: stack.server.uiUrl ?? '',
      simulatorUrl: stack.simulator.url,
      workerConfig: stack.worker.config,
      worker,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The shell's secret, so a delivery can be replayed by hand with it; otherwise one nobody else knows, as only the
 * stack's own simulator is meant to deliver.
 */
function webhookSecret(env: Readonly<Record<string, string | undefined>>): string {
  const configured = env['GITHUB_WEBHOOK_SECRET'];
  return configured === undefined || configured.trim() === '' ? randomBytes(32).toString('hex') : configured;
}

/** What the stack reports when a part does not start, as the operator sees it. */
function cliFailure(error: unknown): never {
  if (error instanceof SnapshotError) {
    throw new UsageError(`${error.message}; start over with rollout dev --fresh`, { cause: error });
  }
  if (error instanceof StackError) throw new CliError(error.message, EXIT_CODES.failure, { cause: error });
  throw error;
}
