/**
 * The whole local stack: the simulator serving both cloud APIs, a Temporal CLI dev server, and a rollout worker
 * pointed at both, in this process, started by the caller once both serve, or none. Optionally the webhook
 * receiver, to which the simulator delivers its `workflow_job` events, so the pool controllers hear of jobs as
 * they would from GitHub.
 * `rollout dev` and `rollout demo` run it with a worker in-process; tests and benchmarks with any of the three.
 *
 *     const stack = await startLocalStack({ binary, worker: { mode: 'in-process' } });
 *     ...; await stack.stop();
 */
import type { ActivityTiming } from '../activities/index.js';
import type { FleetDefinition } from '../runner-config/types.js';
import type { SimulatorHandle, SimulatorOptions } from '../simulator/index.js';
import type { ReceiverLogEntry } from '../webhooks/deliveries.js';
import { startPoolWebhookReceiver } from '../webhooks/pool-receiver.js';
import type { WebhookReceiver } from '../webhooks/receiver.js';
import type { WorkerComposition } from '../worker/compose.js';
import { loadWorkerConfig, type WorkerConfig } from '../worker/config.js';
import { runWorker } from '../worker/main.js';
import type { RolloutTiming } from '../workflows/rollout-contract.js';
import { DevServer, type DevServerOptions } from './dev-server.js';
import { StackError } from './errors.js';
import { SIMULATOR_CREDENTIALS, simulatorEndpoints, startStackSimulator } from './simulator.js';

type Env = Readonly<Record<string, string | undefined>>;

/** A worker of the caller's, which the stack stops first. */
export interface StoppableWorker {
  stop(): Promise<void>;
}

/** What a worker of the stack is pointed at, once Temporal and the simulator serve. */
export interface StackContext {
  readonly server: DevServer;
  readonly simulator: SimulatorHandle;
  /** The environment a worker of this stack is configured from (addresses and credentials). */
  readonly workerEnv: Readonly<Record<string, string>>;
}

export interface InProcessWorkerOptions {
  readonly mode: 'in-process';
  /** The worker's fleet definition; the simulator's when omitted. */
  readonly fleet?: FleetDefinition;
  readonly activityTiming?: Partial<ActivityTiming>;
  /** The worker's defaults for rollouts that set no intervals of their own. */
  readonly rolloutTiming?: Partial<RolloutTiming>;
  /** Activities read the simulator's clock instead of the wall clock. */
  readonly followSimulatorClock?: boolean;
  /** A workflow bundle file (or one still being written while the stack starts) instead of bundling anew. */
  readonly workflowBundlePath?: string | Promise<string>;
  readonly composition?: Pick<WorkerComposition, 'github' | 'shutdownGraceTimeMs' | 'stickyQueueTimeoutMs'>;
  /** Installs the process-wide Temporal runtime once the worker's configuration is known. */
  readonly installRuntime?: (config: WorkerConfig) => void;
}

/** A worker the caller starts, e.g. in a process of its own; the stack waits for it and stops it. */
export interface ExternalWorkerOptions<W extends StoppableWorker> {
  readonly mode: 'external';
  start(context: StackContext): Promise<W>;
}

/** The stack's webhook receiver, on a free port of 127.0.0.1. */
export interface StackWebhooksOptions {
  /** Signs the simulator's deliveries and verifies them in the receiver. */
  readonly secret: string;
  /** Deliveries the receiver refuses or cannot signal; none by default. */
  readonly log?: (entry: ReceiverLogEntry) => void;
}

export type StackWorkerOptions =
  InProcessWorkerOptions | ExternalWorkerOptions<StoppableWorker> | { readonly mode: 'none' };

export interface LocalStackOptions {
  /** The Temporal CLI binary. */
  readonly binary: string;
  readonly server?: Omit<DevServerOptions, 'binary'>;
  /** The simulator's fleet, world and speed; the default fleet when it names none. */
  readonly simulator?: SimulatorOptions;
  /** `stack-<port>` when omitted. */
  readonly taskQueue?: string;
  /** Base of the worker's environment (the shell's, for `rollout dev`); the stack's addresses override it. */
  readonly env?: Env;
  /** The worker's GitHub credentials; the simulator's token (and no GitHub App) by default. */
  readonly credentials?: Env;
  readonly worker: StackWorkerOptions;
  /** Runs the webhook receiver and points the simulator's deliveries at it; neither when omitted. */
  readonly webhooks?: StackWebhooksOptions;
  /** Called once Temporal, the simulator and the receiver (if asked for) serve, before the worker starts. */
  readonly onServing?: (parts: ServingParts) => void;
}

export interface ServingParts {
  readonly server: DevServer;
  readonly simulator: SimulatorHandle;
  readonly webhooks?: WebhookReceiver;
}

export type StackWorker =
  | {
      readonly mode: 'in-process';
      readonly config: WorkerConfig;
      /** Settles when the worker stops; rejects if it fails. */
      readonly done: Promise<void>;
    }
  | { readonly mode: 'external'; readonly handle: StoppableWorker }
  | { readonly mode: 'none' };

/** The running worker of the mode `options.worker` asked for (an external one as its `start` returned it). */
export type WorkerOf<O extends StackWorkerOptions> =
  O extends ExternalWorkerOptions<infer W>
    ? { readonly mode: 'external'; readonly handle: W }
    : Extract<StackWorker, { readonly mode: O['mode'] }>;

export interface LocalStack<W extends StackWorker = StackWorker> {
  readonly server: DevServer;
  readonly simulator: SimulatorHandle;
  /** The simulator's fleet definition. */
  readonly fleet: FleetDefinition;
  readonly taskQueue: string;
  /** The environment a worker of this stack is configured from (addresses and credentials). */
  readonly workerEnv: Readonly<Record<string, string>>;
  readonly worker: W;
  /** Stops the worker, the server and the simulator (which saves its world), in that order. */
  stop(): Promise<void>;
}

export async function startLocalStack<O extends StackWorkerOptions>(
  options: LocalStackOptions & { readonly worker: O },
): Promise<LocalStack<WorkerOf<O>>> {
  const stopping: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    let failure: Error | undefined;
    for (const step of stopping.reverse()) {
      await step().catch((error: unknown) => {
        failure ??= error instanceof Error ? error : new Error(String(error));
      });
    }
    stopping.length = 0;
    if (failure !== undefined) throw failure;
  };
  try {
    // The simulator first: a snapshot it cannot read stops the stack before Temporal starts.
    const simulator = await startStackSimulator(options.simulator);
    stopping.push(() => simulator.close());
    const server = await DevServer.start({ ...options.server, binary: options.binary });
    stopping.push(() => server.close());
    const taskQueue = options.taskQueue ?? `stack-${server.port}`;
    const workerEnv = definedOnly({
      ...options.env,
      ROLLOUT_LOG_LEVEL: options.env?.['ROLLOUT_LOG_LEVEL'] ?? 'WARN',
      // The stack hands its own fleet to the worker.
      ROLLOUT_FLEET_FILE: undefined,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: 'default',
      ...(server.uiUrl === undefined ? {} : { TEMPORAL_UI_URL: server.uiUrl }),
      ROLLOUT_TASK_QUEUE: taskQueue,
      ...simulatorEndpoints(simulator.url),
      ...(options.credentials ?? SIMULATOR_CREDENTIALS),
    });
    const spec = options.worker;
    const fleet = (spec.mode === 'in-process' ? spec.fleet : undefined) ?? simulator.fleet;
    const webhooks =
      options.webhooks === undefined
        ? undefined
        : await startReceiver(options.webhooks, { server, simulator, fleet, workerEnv, taskQueue }, stopping);
    options.onServing?.({ server, simulator, ...(webhooks === undefined ? {} : { webhooks }) });

    const context = { simulator, server, workerEnv };
    const worker: StackWorker =
      spec.mode === 'in-process'
        ? await startInProcess(spec, context, stopping)
        : spec.mode === 'external'
          ? await startExternal(spec, context, stopping)
          : { mode: 'none' };
    // Each start returns the mode it was given, an external worker as its `start` returned it.
    return { server, simulator, fleet: simulator.fleet, taskQueue, workerEnv, worker: worker as WorkerOf<O>, stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

interface ReceiverContext {
  readonly server: DevServer;
  readonly simulator: SimulatorHandle;
  /** The worker's fleet: its pools and project are those of the controllers the worker runs. */
  readonly fleet: FleetDefinition;
  readonly workerEnv: Readonly<Record<string, string>>;
  readonly taskQueue: string;
}

async function startReceiver(
  options: StackWebhooksOptions,
  { server, simulator, fleet, workerEnv, taskQueue }: ReceiverContext,
  stopping: (() => Promise<void>)[],
): Promise<WebhookReceiver> {
  const receiver = await startPoolWebhookReceiver({
    port: 0,
    host: '127.0.0.1',
    secret: options.secret,
    fleet,
    // As the worker retargets its fleet (worker/compose.ts), so the receiver signals the controllers it runs.
    project: workerEnv['GCP_PROJECT'] ?? fleet.project,
    taskQueue,
    client: server.client.workflow,
    log: options.log ?? (() => undefined),
  });
  stopping.push(async () => {
    // Deliveries already under way are answered before the receiver goes; later jobs are not delivered.
    simulator.webhooks.configure(undefined);
    await simulator.webhooks.flush();
    await receiver.close();
  });
  simulator.webhooks.configure({ url: receiver.url, secret: options.secret });
  return receiver;
}

async function startInProcess(
  spec: InProcessWorkerOptions,
  { simulator, workerEnv }: StackContext,
  stopping: (() => Promise<void>)[],
): Promise<StackWorker> {
  const config = loadWorkerConfig(workerEnv);
  spec.installRuntime?.(config);
  const controller = new AbortController();
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  const done = runWorker(config, {
    ...spec.composition,
    signal: controller.signal,
    onReady: ready,
    fleet: workerFleet(spec.fleet ?? simulator.fleet, spec.rolloutTiming),
    ...(spec.workflowBundlePath === undefined ? {} : { workflowBundlePath: await spec.workflowBundlePath }),
    ...(spec.activityTiming === undefined ? {} : { activityTiming: spec.activityTiming }),
    ...(spec.followSimulatorClock === true ? { clock: () => new Date(simulator.model.now()) } : {}),
  });
  stopping.push(async () => {
    controller.abort();
    await done.catch(() => undefined);
  });
  const started = await Promise.race([isReady.then(() => true), done.then(() => false)]);
  if (!started) throw new StackError('the worker stopped as it started');
  return { mode: 'in-process', config, done };
}

async function startExternal(
  spec: ExternalWorkerOptions<StoppableWorker>,
  context: StackContext,
  stopping: (() => Promise<void>)[],
): Promise<StackWorker> {
  const handle = await spec.start(context);
  stopping.push(() => handle.stop());
  return { mode: 'external', handle };
}

function workerFleet(fleet: FleetDefinition, timing: Partial<RolloutTiming> | undefined): FleetDefinition {
  return timing === undefined ? fleet : { ...fleet, rollout: { ...fleet.rollout, timing } };
}

function definedOnly(env: Env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
