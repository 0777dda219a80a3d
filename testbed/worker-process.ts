/**
 * A rollout worker in a process of its own (worker-child.ts), which a test can SIGKILL and start again as a
 * machine failure would: for reliability tests, and for benchmarks that measure the worker's memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { CHILD_WORKER_OPTIONS_VARIABLE, CHILD_WORKER_READY_LINE, type ChildWorkerOptions } from './worker-child.js';

/** testbed/ is never built: the worker runs from its sources, through tsx, as the tests and benchmarks do. */
const WORKER_ENTRY = fileURLToPath(new URL('./worker-child.ts', import.meta.url));
const LOADER = ['--import', 'tsx'];

export interface WorkerProcessOptions {
  /** TEMPORAL_ADDRESS, ROLLOUT_TASK_QUEUE, COMPUTE_API_ENDPOINT, GITHUB_API_URL and credentials. */
  readonly env: Readonly<Record<string, string>>;
  readonly worker: Omit<ChildWorkerOptions, 'identity'>;
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
    const child = spawn(process.execPath, [...LOADER, WORKER_ENTRY], {
      env: {
        PATH: process.env['PATH'] ?? '',
        ...this.options.env,
        [CHILD_WORKER_OPTIONS_VARIABLE]: JSON.stringify({ ...this.options.worker, identity }),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const keep = (chunk: Buffer): void => {
      const lines = chunk.toString('utf8').split('\n').filter(Boolean);
      if (lines.includes(CHILD_WORKER_READY_LINE)) ready();
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
