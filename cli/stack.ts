/**
 * The embedded local stack behind `rollout dev` and `rollout demo`: the Temporal CLI dev server (Web UI,
 * SQLite), the simulator serving both cloud APIs, and a worker pointed at it. With a state directory, Temporal's
 * database and the simulator's world both live there (dev-state.ts), so a restart continues the same fleet.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { defaultFleet } from '../runner-config/default-fleet.js';
import type { FleetDefinition } from '../runner-config/types.js';
import { ENGINE_DEFECT_WORKAROUNDS, SnapshotError, startSimulator, type SimulatorHandle } from '../simulator/index.js';
import { loadWorkerConfig, type WorkerConfig } from '../worker/config.js';
import { installWorkerRuntime, runWorker } from '../worker/main.js';
import { ROLLOUT_SEARCH_ATTRIBUTE_FLAGS } from '../workflows/rollout-contract.js';
import { assertPortFree, clearState, lockStateDir, statePaths } from './dev-state.js';
import { CliError, EXIT_CODES, UsageError } from './errors.js';
import { waitForPoller } from './operations.js';
import type { Output } from './output.js';
import { timingAtSpeed } from './stack-timing.js';
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

/** The server gets this long to come up; a first start also creates the SQLite schema. */
const SERVER_START_TIMEOUT_MS = 60_000;
/** The server lists a new worker's poller within a second or two; past this the worker is not reaching it. */
const POLLER_VISIBLE_TIMEOUT_MS = 30_000;
/** SIGTERM lets the server close SQLite cleanly; after this long it is killed. */
const SERVER_STOP_TIMEOUT_MS = 10_000;

export async function startStack(output: Output, options: StackOptions): Promise<Stack> {
  // Read first: a bad fleet file is reported before anything starts.
  const fleet = defaultFleet();
  const binary = resolveTemporalCli(options.env);
  const port = options.port === 0 ? await freePortWithUi() : options.port;
  // Another stack's ports, or its state directory, stop this one before it starts or changes anything.
  await assertPortFree(port, 'Temporal', '--port');
  await assertPortFree(port + 1000, 'the Web UI', '--port');
  if (options.simPort !== 0) await assertPortFree(options.simPort, 'the simulator', '--sim-port');
  const stateDir = options.stateDir;
  const unlock = stateDir === undefined ? undefined : lockStateDir(stateDir);
  const temporalAddress = `127.0.0.1:${port}`;
  const uiUrl = `http://127.0.0.1:${port + 1000}`;
  const stopping: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const step of stopping.reverse()) await step();
    stopping.length = 0;
  };
  if (unlock !== undefined) stopping.push(async () => unlock());
  try {
    if (stateDir !== undefined && options.fresh === true) clearState(stateDir);
    // The simulator first: a snapshot it cannot read stops the stack before Temporal starts.
    const snapshotFile = stateDir === undefined ? undefined : statePaths(stateDir).simulatorSnapshot;
    const simulator = await startStackSimulator(options, fleet, snapshotFile);
    stopping.push(() => simulator.close());

    const server = startServer(binary, port, stateDir);
    stopping.push(() => stopServer(server.child));
    await waitForServer(temporalAddress, server);
    await registerMissingSearchAttributes(binary, temporalAddress);
    output.event('temporal', { address: temporalAddress }, `Temporal:  ${temporalAddress}`);
    output.event('ui', { url: uiUrl }, `Web UI:    ${uiUrl}`);
    const restored = simulator.restored ? ` (its world restored from ${snapshotFile ?? ''})` : '';
    output.event(
      'simulator',
      { url: simulator.url, restored: simulator.restored },
      `Simulator: ${simulator.url}${restored}`,
    );

    const workerConfig = loadWorkerConfig({
      ...options.env,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_UI_URL: uiUrl,
      ROLLOUT_TASK_QUEUE: options.taskQueue,
      COMPUTE_API_ENDPOINT: simulator.url,
      GITHUB_API_URL: simulator.url,
      // The simulator accepts any token; the stack must never pick up real credentials from the shell.
      GITHUB_TOKEN: 'simulator-token',
      GITHUB_APP_ID: undefined,
      GITHUB_APP_PRIVATE_KEY: undefined,
      GITHUB_APP_PRIVATE_KEY_FILE: undefined,
      GITHUB_APP_INSTALLATION_ID: undefined,
      ROLLOUT_FLEET_FILE: undefined,
      ROLLOUT_LOG_LEVEL: options.env['ROLLOUT_LOG_LEVEL'] ?? 'WARN',
    });
    installWorkerRuntime(workerConfig);
    const controller = new AbortController();
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const timing = timingAtSpeed(options.speed);
    const worker = runWorker(workerConfig, {
      signal: controller.signal,
      onReady: ready,
      fleet: { ...fleet, rollout: { ...fleet.rollout, timing: timing.rollout } },
      activityTiming: timing.activities,
    });
    stopping.push(async () => {
      controller.abort();
      await worker.catch(() => undefined);
    });
    await Promise.race([isReady, worker]);
    // Ready only once the server lists the worker: a command sent earlier would be told no worker is polling.
    await Promise.race([
      workerVisible(temporalAddress, options.taskQueue),
      worker.then(() => {
        throw new CliError('the worker stopped as it started', EXIT_CODES.failure);
      }),
    ]);
    output.event('worker', { taskQueue: options.taskQueue }, `Worker ready on task queue ${options.taskQueue}`);
    return { temporalAddress, uiUrl, simulatorUrl: simulator.url, workerConfig, worker, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function startStackSimulator(
  options: StackOptions,
  fleet: FleetDefinition,
  snapshotFile: string | undefined,
): Promise<SimulatorHandle> {
  try {
    return await startSimulator({
      port: options.simPort,
      fleet,
      speed: options.speed,
      behaviours: ENGINE_DEFECT_WORKAROUNDS,
      ...(snapshotFile === undefined ? {} : { snapshotFile }),
    });
  } catch (error) {
    if (error instanceof SnapshotError) {
      throw new UsageError(`${error.message}; start over with rollout dev --fresh`, { cause: error });
    }
    throw error;
  }
}

async function workerVisible(address: string, taskQueue: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    await waitForPoller(
      connection.workflowService,
      { namespace: 'default', taskQueue },
      { timeoutMs: POLLER_VISIBLE_TIMEOUT_MS },
    );
  } finally {
    await connection.close();
  }
}

interface ServerProcess {
  readonly child: ChildProcess;
  /** The last lines the server printed, to explain a failed start. */
  readonly log: string[];
}

function startServer(binary: string, port: number, stateDir: string | undefined): ServerProcess {
  const database = stateDir === undefined ? [] : ['--db-filename', statePaths(stateDir).temporalDb];
  const args = [
    'server',
    'start-dev',
    ...database,
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(port + 1000),
    '--namespace',
    'default',
    '--log-level',
    'warn',
    // The machine may have no outside network: no phoning home for version checks.
    '--dynamic-config-value',
    'frontend.enableServerVersionCheck=false',
    ...ROLLOUT_SEARCH_ATTRIBUTE_FLAGS,
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  const keep = (chunk: Buffer): void => {
    log.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    log.splice(0, Math.max(0, log.length - 20));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, log };
}

async function waitForServer(address: string, server: ServerProcess): Promise<void> {
  const deadline = Date.now() + SERVER_START_TIMEOUT_MS;
  const exited = once(server.child, 'exit');
  for (;;) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) break;
    try {
      const connection = await Connection.connect({ address, connectTimeout: '1 second' });
      await connection.close();
      return;
    } catch {
      if (Date.now() > deadline) break;
      await Promise.race([sleep(250), exited]);
    }
  }
  const detail = server.log.at(-1) ?? 'no output';
  throw new CliError(`the Temporal dev server did not start on ${address}: ${detail}`, EXIT_CODES.failure);
}

/**
 * `--search-attribute` flags only apply when the namespace is created: a database from an earlier version
 * of the engine lacks keys added since, so those are registered explicitly.
 */
async function registerMissingSearchAttributes(binary: string, address: string): Promise<void> {
  const connection = await Connection.connect({ address });
  let existing: Set<string>;
  try {
    const response = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    existing = new Set(Object.keys(response.customAttributes ?? {}));
  } finally {
    await connection.close();
  }
  for (let i = 0; i + 1 < ROLLOUT_SEARCH_ATTRIBUTE_FLAGS.length; i += 2) {
    const [name = '', type = ''] = (ROLLOUT_SEARCH_ATTRIBUTE_FLAGS[i + 1] ?? '').split('=');
    if (existing.has(name)) continue;
    const args = ['operator', 'search-attribute', 'create', '--name', name, '--type', type, '--address', address];
    const child = spawn(binary, [...args, '--namespace', 'default'], { stdio: 'ignore' });
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new CliError(`could not register search attribute ${name} on ${address}`, EXIT_CODES.failure);
  }
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), SERVER_STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** A free port whose port + 1000 (the Web UI) is free too. */
async function freePortWithUi(): Promise<number> {
  for (;;) {
    const port = await freePort(0);
    if (
      port + 1000 <= 65535 &&
      (await freePort(port + 1000).then(
        () => true,
        () => false,
      ))
    )
      return port;
  }
}

async function freePort(port: number): Promise<number> {
  const server = createServer();
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('could not determine a free port');
  return address.port;
}
