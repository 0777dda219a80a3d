/**
 * The whole local stack for end-to-end and reliability tests: a Temporal CLI dev server (optionally on a SQLite
 * file, restartable on it), the fleet simulator, and a rollout worker either in-process or as a child process
 * that can be SIGKILLed and restarted. Workflow code is bundled once per test process so restarts are quick.
 *
 *     const stack = await startE2eStack({ worker: 'child', dbFilename });
 *     ...; await stack.worker.kill(); await stack.worker.start(); await stack.server.restart();
 *     await stack.close();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, type Worker } from '@temporalio/worker';
import type { ActivityTiming } from '../../activities/index.js';
import { templateName } from '../../runner-config/naming.js';
import type { FleetDefinition } from '../../runner-config/types.js';
import {
  ENGINE_DEFECT_WORKAROUNDS,
  startSimulator,
  type MutationLogEntry,
  type SimulatorHandle,
  type SimulatorOptions,
} from '../../simulator/index.js';
import {
  ROLLOUT_SEARCH_ATTRIBUTE_FLAGS,
  ROLLOUT_WORKFLOW_TYPE,
  RolloutVersionSearchAttribute,
  rolloutWorkflowId,
  type RolloutInput,
  type RolloutResult,
} from '../../workflows/rollout-contract.js';
import { installQuietRuntime, temporalBinaries } from './temporal.js';
import {
  E2E_WORKER_OPTIONS_VARIABLE,
  E2E_WORKER_READY_LINE,
  createE2eWorker,
  type E2eWorkerOptions,
} from './e2e-worker.js';

const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
const WORKER_ENTRY = fileURLToPath(new URL('./e2e-worker.ts', import.meta.url));

/** Scratch files of this test process (bundle, fleet files, databases), removed at exit. */
const scratch = mkdtempSync(join(tmpdir(), 'rollout-e2e-'));
process.once('exit', () => rmSync(scratch, { recursive: true, force: true }));

/** A fresh path in this process's scratch directory. */
export function scratchPath(name: string): string {
  return join(scratch, name);
}

let bundlePath: Promise<string> | undefined;

/** Bundles workflows/ once per process and writes the bundle to a file workers load with `workflowBundle`. */
export function workflowBundlePath(): Promise<string> {
  bundlePath ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') }).then(
    (bundle) => {
      const path = scratchPath('workflow-bundle.js');
      writeFileSync(path, bundle.code);
      return path;
    },
  );
  return bundlePath;
}

// ---------------------------------------------------------------------------------------------------------------
// Temporal dev server

export interface DevServerOptions {
  /** SQLite file: the history survives `restart()`. In memory when omitted. */
  readonly dbFilename?: string;
  /**
   * Workflow task timeout for workflows that set none (child workflows included), e.g. `3s`: how soon a task
   * held by a killed worker goes to another one. The server default is 10s.
   */
  readonly workflowTaskTimeout?: string;
}

/** SIGTERM lets the server close SQLite cleanly; after this long it is killed. */
const SERVER_STOP_TIMEOUT_MS = 10_000;
const SERVER_START_TIMEOUT_MS = 60_000;

/** The Temporal CLI dev server as a child process on a fixed port, so clients and workers reconnect after a restart. */
export class DevServer {
  private child: ChildProcess | undefined;
  private readonly log: string[] = [];
  private connection: Connection | undefined;
  private clientOfServer: Client | undefined;
  readonly address: string;

  private constructor(
    readonly port: number,
    private readonly options: DevServerOptions,
  ) {
    this.address = `127.0.0.1:${port}`;
  }

  static async start(options: DevServerOptions = {}): Promise<DevServer> {
    const server = new DevServer(await freePort(), options);
    await server.spawn();
    server.connection = await Connection.connect({ address: server.address });
    server.clientOfServer = new Client({ connection: server.connection, namespace: 'default' });
    return server;
  }

  /** One client for the whole test; its connection reconnects across restarts. */
  get client(): Client {
    if (this.clientOfServer === undefined) throw new Error('the dev server has not started');
    return this.clientOfServer;
  }

  /** Stops the server (SIGTERM, then SIGKILL after a grace time); `start()` brings it back on the same file. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), SERVER_STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  async start(): Promise<void> {
    if (this.child !== undefined) throw new Error('the dev server is already running');
    await this.spawn();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async close(): Promise<void> {
    await this.stop();
    await this.connection?.close();
  }

  private async spawn(): Promise<void> {
    const args = [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(this.port),
      '--headless',
      '--namespace',
      'default',
      '--log-level',
      'error',
      '--dynamic-config-value',
      'frontend.enableServerVersionCheck=false',
      ...ROLLOUT_SEARCH_ATTRIBUTE_FLAGS,
      ...(this.options.dbFilename === undefined ? [] : ['--db-filename', this.options.dbFilename]),
      ...(this.options.workflowTaskTimeout === undefined
        ? []
        : ['--dynamic-config-value', `history.defaultWorkflowTaskTimeout="${this.options.workflowTaskTimeout}"`]),
    ];
    const child = spawn(temporalBinaries().cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    // A test process that exits without closing the stack must not leave a server behind.
    const killOnExit = (): boolean => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
    const keep = (chunk: Buffer): void => {
      this.log.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      this.log.splice(0, Math.max(0, this.log.length - 20));
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.child = child;
    const deadline = Date.now() + SERVER_START_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      try {
        const connection = await Connection.connect({ address: this.address, connectTimeout: '1 second' });
        try {
          // The frontend answers before the namespace is loaded from a restarted database.
          await connection.workflowService.describeNamespace({ namespace: 'default' });
          return;
        } finally {
          await connection.close();
        }
      } catch {
        if (Date.now() > deadline) break;
        await sleep(200);
      }
    }
    throw new Error(`the Temporal dev server did not start on ${this.address}: ${this.log.at(-1) ?? 'no output'}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Worker as a child process

export interface WorkerProcessOptions {
  /** TEMPORAL_ADDRESS, ROLLOUT_TASK_QUEUE, COMPUTE_API_ENDPOINT, GITHUB_API_URL and credentials. */
  readonly env: Readonly<Record<string, string>>;
  readonly worker: Omit<E2eWorkerOptions, 'identity'>;
  /** Identity prefix; each process appends its number. */
  readonly name: string;
}

/** How long a SIGTERMed worker may drain before it is killed. */
const WORKER_DRAIN_MS = 15_000;

interface SpawnedWorker {
  readonly identity: string;
  readonly child: ChildProcess;
  readonly exited: Promise<unknown>;
  readonly ready: Promise<void>;
}

/**
 * A rollout worker in its own process: `kill()` is a SIGKILL (no graceful shutdown), `start()` a fresh process.
 * Loading the modules takes seconds, so a standby process is always loaded ahead and only told to connect when
 * it takes over; it polls nothing until then.
 */
export class WorkerProcess {
  private active: SpawnedWorker | undefined;
  private standby: SpawnedWorker | undefined;
  private readonly log: string[] = [];
  private spawned = 0;
  /** How many times the worker was started. */
  incarnation = 0;
  /** The identity of the current (or last) worker process, as pending activities report it. */
  identity = '';

  constructor(private readonly options: WorkerProcessOptions) {}

  get running(): boolean {
    return this.active !== undefined;
  }

  /** Process id of the running worker (for resource measurements). */
  get pid(): number | undefined {
    return this.active?.child.pid;
  }

  /** The last lines the workers wrote, to explain a failure. */
  get output(): string {
    return this.log.join('\n');
  }

  async start(): Promise<void> {
    if (this.active !== undefined) throw new Error('the worker is already running');
    const next = this.standby ?? this.spawn();
    this.standby = undefined;
    this.incarnation += 1;
    this.identity = next.identity;
    this.active = next;
    next.child.stdin?.write('run\n');
    const exit = next.exited.then(() => {
      throw new Error(`the worker exited before it was ready:\n${this.output}`);
    });
    try {
      await Promise.race([next.ready, exit]);
    } finally {
      exit.catch(() => undefined);
    }
    this.standby = this.spawn();
  }

  /** SIGKILL: in-flight activities and workflow tasks are lost, as on a machine failure. */
  async kill(): Promise<void> {
    await this.end(this.active, 'SIGKILL');
    this.active = undefined;
  }

  /** SIGTERM: the worker drains and exits; the standby goes too. */
  async stop(): Promise<void> {
    await Promise.all([this.end(this.active, 'SIGTERM'), this.end(this.standby, 'SIGKILL')]);
    this.active = undefined;
    this.standby = undefined;
  }

  private spawn(): SpawnedWorker {
    this.spawned += 1;
    const identity = `${this.options.name}-${this.spawned}`;
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_ENTRY], {
      env: {
        PATH: process.env['PATH'] ?? '',
        ...this.options.env,
        [E2E_WORKER_OPTIONS_VARIABLE]: JSON.stringify({ ...this.options.worker, identity }),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const keep = (chunk: Buffer): void => {
      const lines = chunk.toString('utf8').split('\n').filter(Boolean);
      if (lines.includes(E2E_WORKER_READY_LINE)) ready();
      this.log.push(...lines);
      this.log.splice(0, Math.max(0, this.log.length - 40));
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    return { identity, child, exited, ready: isReady };
  }

  private async end(worker: SpawnedWorker | undefined, signal: NodeJS.Signals): Promise<void> {
    if (worker === undefined) return;
    if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill(signal);
    if (signal === 'SIGKILL') {
      await worker.exited;
      return;
    }
    // A drain waits for activities that ignore their cancellation; a test's teardown does not wait for them.
    const drained = await Promise.race([worker.exited.then(() => true), sleep(WORKER_DRAIN_MS, false, { ref: false })]);
    if (!drained) await this.end(worker, 'SIGKILL');
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The stack

export interface E2eStackOptions {
  readonly fleet?: FleetDefinition;
  readonly simulator?: Omit<SimulatorOptions, 'fleet' | 'port'>;
  /** SQLite file for the dev server (see `scratchPath`). */
  readonly dbFilename?: string;
  readonly workflowTaskTimeout?: string;
  /** `child` (default): a killable process; `in-process`: a Worker in this process; `none`. */
  readonly worker?: 'child' | 'in-process' | 'none';
  /** Extra worker environment, e.g. GitHub App credentials instead of the default simulator token. */
  readonly workerEnv?: Readonly<Record<string, string>>;
  readonly activityTiming?: Partial<ActivityTiming>;
  readonly stickyQueueTimeoutMs?: number;
  readonly taskQueue?: string;
}

export interface E2eStack {
  readonly server: DevServer;
  readonly client: Client;
  readonly simulator: SimulatorHandle;
  readonly fleet: FleetDefinition;
  readonly taskQueue: string;
  /** The child-process worker (`worker: 'child'`); throws for the other modes. */
  readonly worker: WorkerProcess;
  /** The environment the worker was configured from (addresses and credentials). */
  readonly workerEnv: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

/** Fast polling against a simulator: VM lifecycles last seconds, not minutes. */
export const E2E_ACTIVITY_TIMING: Partial<ActivityTiming> = { pollIntervalMs: 250, registrationGraceMs: 10 * 60_000 };

export async function startE2eStack(options: E2eStackOptions = {}): Promise<E2eStack> {
  installQuietRuntime();
  const closing: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const step of closing.reverse()) await step().catch(() => undefined);
    closing.length = 0;
  };
  try {
    const [server, bundle] = await Promise.all([
      DevServer.start({
        ...(options.dbFilename === undefined ? {} : { dbFilename: options.dbFilename }),
        ...(options.workflowTaskTimeout === undefined ? {} : { workflowTaskTimeout: options.workflowTaskTimeout }),
      }),
      workflowBundlePath(),
    ]);
    closing.push(() => server.close());
    const simulator = await startSimulator({
      behaviours: ENGINE_DEFECT_WORKAROUNDS,
      ...options.simulator,
      ...(options.fleet === undefined ? {} : { fleet: options.fleet }),
    });
    closing.push(() => simulator.close());
    const fleet = simulator.fleet;
    const fleetPath = scratchPath(`fleet-${server.port}.json`);
    writeFileSync(fleetPath, JSON.stringify(fleet));
    const taskQueue = options.taskQueue ?? `e2e-${server.port}`;
    const workerEnv: Record<string, string> = {
      TEMPORAL_ADDRESS: server.address,
      ROLLOUT_TASK_QUEUE: taskQueue,
      COMPUTE_API_ENDPOINT: simulator.url,
      GITHUB_API_URL: simulator.url,
      ...(options.workerEnv ?? { GITHUB_TOKEN: 'simulator-token' }),
    };
    const workerOptions: Omit<E2eWorkerOptions, 'identity'> = {
      bundlePath: bundle,
      fleetPath,
      activityTiming: options.activityTiming ?? E2E_ACTIVITY_TIMING,
      simulatorClockUrl: simulator.url,
      ...(options.stickyQueueTimeoutMs === undefined ? {} : { stickyQueueTimeoutMs: options.stickyQueueTimeoutMs }),
    };
    const mode = options.worker ?? 'child';
    let workerProcess: WorkerProcess | undefined;
    if (mode === 'child') {
      workerProcess = new WorkerProcess({ env: workerEnv, worker: workerOptions, name: `worker-${server.port}` });
      closing.push(() => workerProcess!.stop());
      await workerProcess.start();
    } else if (mode === 'in-process') {
      const { worker, close: closeWorker } = await createE2eWorker(
        { ...workerOptions, identity: `in-process-${server.port}` },
        workerEnv,
        () => new Date(simulator.model.now()),
      );
      const running = worker.run();
      closing.push(async () => {
        stopWorker(worker);
        await running.catch(() => undefined);
        await closeWorker();
      });
    }
    return {
      server,
      client: server.client,
      simulator,
      fleet,
      taskQueue,
      get worker(): WorkerProcess {
        if (workerProcess === undefined) throw new Error(`this stack runs its worker ${mode}`);
        return workerProcess;
      },
      workerEnv,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The default fleet with busy prod pools (canary VMs appear when a base VM finishes its job, and old VMs leave
 * the same way) at a simulated minute per second, the worker in this process.
 */
export function startBusyFleetStack(): Promise<E2eStack> {
  return startE2eStack({
    worker: 'in-process',
    simulator: {
      speed: 60,
      jobRates: [
        { environment: 'prod', perHour: 40, meanDurationMinutes: 10 },
        { environment: 'testing', perHour: 0, meanDurationMinutes: 10 },
      ],
    },
    // The worker follows the simulator's clock while workflow time is real: the registration grace would
    // compare the two, so it is left to the boot-loop rule (creation times alone).
    activityTiming: { ...E2E_ACTIVITY_TIMING, registrationGraceMs: 7 * 24 * 3600_000 },
  });
}

function stopWorker(worker: Worker): void {
  if (worker.getState() === 'RUNNING') worker.shutdown();
}

// ---------------------------------------------------------------------------------------------------------------
// Rollouts on the stack

/** Creates every (group, type) template of `version` in the simulator, as `rollout templates create` would. */
export function createVersionTemplates(simulator: SimulatorHandle, version: string): string[] {
  const fleet = simulator.fleet;
  const names: string[] = [];
  for (const group of fleet.groups) {
    for (const type of fleet.types) {
      simulator.control.createTemplate({ group: group.name, type: type.name, version });
      names.push(templateName(fleet.namePrefix, group.name, type.name, version));
    }
  }
  return names;
}

/**
 * Timings that compress a week into seconds against a simulator running at tens of simulated seconds per real
 * second: health checks and convergence every couple of seconds, readiness measured in simulated time.
 */
export const E2E_ROLLOUT_TIMING = {
  healthCheckInterval: '2 seconds',
  convergeInterval: '2 seconds',
  runnersReadyTimeout: '12 hours',
  approvalReminderInterval: '1 minute',
  migWorkerLivenessInterval: '1 minute',
} as const;

export type RolloutHandle = WorkflowHandle<(input: RolloutInput) => Promise<RolloutResult>>;

/** Starts a rollout the way `rollout start` does (id from project and version, version search attribute). */
export async function startRollout(stack: E2eStack, input: RolloutInput): Promise<RolloutHandle> {
  return stack.client.workflow.start<(input: RolloutInput) => Promise<RolloutResult>>(ROLLOUT_WORKFLOW_TYPE, {
    taskQueue: stack.taskQueue,
    workflowId: rolloutWorkflowId(stack.fleet.project, input.version),
    args: [input],
    typedSearchAttributes: [{ key: RolloutVersionSearchAttribute, value: input.version }],
  });
}

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

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('could not determine a free port');
  return address.port;
}
