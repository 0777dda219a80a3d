/**
 * The deadline replay's world: Temporal's time-skipping test server, the simulator on the production profile and
 * the production worker (runWorker), in one process, on one simulated clock.
 *
 * The two clocks move together: while no activity runs, the test server jumps to the next timer and a loop moves
 * the simulator up to it; while activities run, the test server's clock stands at real speed, and the simulator
 * runs ahead of it at `speed` so that VMs boot and jobs finish in seconds. Once it is `maxLeadMs` ahead it runs at
 * real speed, as the test server's clock does then, so the lead stops growing until the workflows' clock catches
 * up at the next jump. It never stops: an activity waiting for simulated time (a poll, an operation, a call's
 * latency) would then hold the test server's clock with it, and both would stand still.
 *
 * The test server holds time still while a closing child notifies its parent, and lets go when the parent takes
 * the notice; a parent already closed never does, and time would then run at real speed from there on. Every
 * child of the replay outlives its parent (a rollout its check, a MIG worker its rollout), so the world releases
 * that hold itself for each child it sees close after its parent ({@link ReplayWorld.watchRollout}).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { SIMULATOR_CREDENTIALS, simulatorEndpoints, startStackSimulator } from '../devstack/simulator.js';
import { rolloutSearchAttributes } from '../devstack/search-attributes.js';
import { SIMULATOR_ACTIVITY_TIMING } from '../devstack/timing.js';
import { migWorkflowId } from '../workflows/rollout-contract.js';
import type { FleetDefinition } from '../runner-config/types.js';
import type { InitialRelease, SimulatorHandle } from '../simulator/index.js';
import { resolveTestServer } from '../testbed/test-server.js';
import { loadWorkerConfig } from '../worker/config.js';
import { runWorker } from '../worker/main.js';

export const TASK_QUEUE = 'deadline-replay';

/** Real milliseconds between two looks at the clocks. */
const COUPLING_MS = 20;
/** A sleep of the test server is cut into steps no longer than this (see {@link ReplayWorld.sleep}). */
const SLEEP_STEP_MS = 15 * 60_000;
/** Real milliseconds between two looks at the watched rollouts' children. */
const ORPHAN_LOOK_MS = 500;

export interface ReplayWorldOptions {
  readonly fleet: FleetDefinition;
  /** The moment of the history the replay starts at: the test server's clock starts at the real time instead. */
  readonly historyStartMs: number;
  /** Releases that exist when the replay starts, dated in history time. */
  readonly releases: readonly { readonly version: string; readonly publishedAtMs: number }[];
  /** Simulated seconds per real second while activities hold the test server's clock. */
  readonly speed?: number;
  /** How far the simulator may run ahead of the workflows' clock. */
  readonly maxLeadMs?: number;
  readonly seed?: number;
}

export class ReplayWorld {
  private coupling = true;
  private couplingDone: Promise<void> = Promise.resolve();
  private workerDone: Promise<void> = Promise.resolve();
  private orphansDone: Promise<void> = Promise.resolve();
  /** Rollouts whose closing (and their MIG workers') the world still has to see. */
  private readonly watched = new Set<string>();
  /** Runs whose close the world has accounted for. */
  private readonly settled = new Set<string>();
  private readonly abort = new AbortController();
  /** Largest distance seen between the two clocks, either way. */
  maxSkewMs = 0;
  /** How far the simulator's clock was ahead of the workflows' at the last look (negative: behind). */
  leadMs = 0;
  /**
   * A client that never unlocks time skipping. The test server's own client does while it waits for a result,
   * and with no timer pending it then jumps ten years ahead the moment that workflow ends.
   */
  readonly client: Client;

  private constructor(
    readonly env: TestWorkflowEnvironment,
    readonly sim: SimulatorHandle,
    private readonly speed: number,
    private readonly maxLeadMs: number,
    /** Test server time minus history time. */
    readonly offsetMs: number,
    private readonly testService: NonNullable<TestWorkflowEnvironment['connection']['testService']>,
  ) {
    this.client = new Client({ connection: env.connection, namespace: env.namespace ?? 'default' });
  }

  static async start(options: ReplayWorldOptions): Promise<ReplayWorld> {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    const env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: resolveTestServer() } },
    });
    try {
      await registerSearchAttributes(env);
      const speed = options.speed ?? 60;
      const startMs = await env.currentTimeMs();
      const offsetMs = startMs - options.historyStartMs;
      const releases: InitialRelease[] = options.releases.map((release) => ({
        version: release.version,
        publishedAt: new Date(release.publishedAtMs + offsetMs).toISOString(),
      }));
      const sim = await startStackSimulator({
        fleet: options.fleet,
        speed,
        seed: options.seed ?? 1,
        startTime: startMs,
        releases,
      });
      const testService = env.connection.testService;
      if (testService === undefined) throw new Error('the replay needs the time-skipping test server');
      const world = new ReplayWorld(env, sim, speed, options.maxLeadMs ?? 6 * 3600_000, offsetMs, testService);
      world.couplingDone = world.couple();
      world.orphansDone = world.releaseOrphanHolds(options.fleet);
      await world.startWorker(options.fleet);
      return world;
    } catch (error) {
      await env.teardown();
      throw error;
    }
  }

  /** The test server's clock. */
  now(): Promise<number> {
    return this.env.currentTimeMs();
  }

  /** Publishes a release of the history in the simulator, dated on the test server's clock. */
  publish(release: { readonly version: string; readonly publishedAtMs: number }): void {
    this.sim.control.publishRelease({
      version: release.version,
      publishedAt: new Date(release.publishedAtMs + this.offsetMs).toISOString(),
    });
  }

  /**
   * Lets `ms` of workflow time pass. The test server cancels a sleep call whose time cannot skip for a while
   * (activities hold it), so a long sleep is cut into steps and a cancelled step is asked again for what is left.
   */
  async sleep(ms: number): Promise<void> {
    const until = (await this.now()) + ms;
    for (;;) {
      const left = until - (await this.now());
      if (left <= 0) return;
      try {
        await this.env.sleep(Math.min(left, SLEEP_STEP_MS));
      } catch (error) {
        if (!String(error).includes('CANCELLED')) throw error;
      }
    }
  }

  /** Watches a rollout the replay started (through its check) until it and its MIG workers have closed. */
  watchRollout(workflowId: string): void {
    this.watched.add(workflowId);
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.workerDone.catch(() => undefined);
    this.coupling = false;
    await this.couplingDone;
    await this.orphansDone;
    await this.sim.close();
    await this.env.teardown();
  }

  private async startWorker(fleet: FleetDefinition): Promise<void> {
    const config = loadWorkerConfig({
      TEMPORAL_ADDRESS: this.env.connection.options.address,
      TEMPORAL_NAMESPACE: this.env.namespace ?? 'default',
      ROLLOUT_TASK_QUEUE: TASK_QUEUE,
      ...simulatorEndpoints(this.sim.url),
      ...SIMULATOR_CREDENTIALS,
    });
    let ready!: () => void;
    const started = new Promise<void>((resolve) => (ready = resolve));
    this.workerDone = runWorker(config, {
      fleet,
      signal: this.abort.signal,
      activityTiming: SIMULATOR_ACTIVITY_TIMING,
      clock: () => new Date(this.sim.model.now()),
      onReady: ready,
    });
    await Promise.race([started, this.workerDone]);
  }

  private async couple(): Promise<void> {
    let fast = true;
    while (this.coupling) {
      const workflowNow = await this.env.currentTimeMs().catch(() => undefined);
      if (workflowNow === undefined) break;
      const simNow = this.sim.model.now();
      this.leadMs = simNow - workflowNow;
      this.maxSkewMs = Math.max(this.maxSkewMs, Math.abs(this.leadMs));
      if (workflowNow > simNow) this.sim.control.advance((workflowNow - simNow) / 1000);
      const ahead = simNow - workflowNow > this.maxLeadMs;
      if (ahead === fast) {
        fast = !ahead;
        this.sim.control.setSpeed(fast ? this.speed : 1);
      }
      await sleep(COUPLING_MS);
    }
  }

  private async releaseOrphanHolds(fleet: FleetDefinition): Promise<void> {
    const migWorkers = [...this.sim.model.migs.values()].map((mig) => migWorkflowId(fleet.project, mig.name));
    let lastProblem: string | undefined;
    while (this.coupling) {
      for (const rolloutId of [...this.watched]) {
        try {
          if (!(await this.settleChildren(rolloutId, migWorkers))) this.watched.delete(rolloutId);
          lastProblem = undefined;
        } catch (error) {
          // Looked at again next round; said once, since a hold left in place stops the workflows' clock.
          const problem = `releasing the holds of ${rolloutId}'s children failed: ${String(error)}`;
          if (problem !== lastProblem) console.error(problem);
          lastProblem = problem;
        }
      }
      await sleep(ORPHAN_LOOK_MS);
    }
  }

  /** Accounts for the rollout's close and its workers'; true while any of them still runs. */
  private async settleChildren(rolloutId: string, migWorkers: readonly string[]): Promise<boolean> {
    if (await this.settle(rolloutId, undefined)) return true;
    let open = false;
    for (const workerId of migWorkers) {
      if (await this.settle(workerId, rolloutId)) open = true;
    }
    return open;
  }

  /**
   * Looks at the latest run of `workflowId` (a child of `parentId`, when given, or skipped): true while it runs; once
   * closed after its parent, releases the hold its close left, once per run.
   */
  private async settle(workflowId: string, parentId: string | undefined): Promise<boolean> {
    const run = (
      await this.client.workflow
        .getHandle(workflowId)
        .describe()
        .catch(() => undefined)
    )?.raw;
    const info = run?.workflowExecutionInfo;
    const parent = info?.parentExecution;
    if (info == null || parent?.workflowId == null || (parentId !== undefined && parent.workflowId !== parentId)) {
      return false;
    }
    const runId = info.execution?.runId ?? '';
    if (info.closeTime == null) return true;
    if (this.settled.has(runId)) return false;
    const parentRun = await this.client.workflow.getHandle(parent.workflowId, parent.runId ?? undefined).describe();
    const parentClosed = parentRun.raw.workflowExecutionInfo?.closeTime;
    if (parentClosed != null && seconds(parentClosed) <= seconds(info.closeTime)) {
      await this.testService.unlockTimeSkipping({});
    }
    this.settled.add(runId);
    return false;
  }
}

function seconds(timestamp: { readonly seconds?: unknown; readonly nanos?: number | null }): number {
  return Number(timestamp.seconds ?? 0) + (timestamp.nanos ?? 0) / 1e9;
}

async function registerSearchAttributes(env: TestWorkflowEnvironment): Promise<void> {
  const { IndexedValueType } = proto.temporal.api.enums.v1;
  const types: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {
    Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    KeywordList: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  };
  const searchAttributes = Object.fromEntries(
    rolloutSearchAttributes().map(({ name, type }) => {
      const indexed = types[type];
      if (indexed === undefined) throw new Error(`search attribute ${name}: no indexed type for "${type}"`);
      return [name, indexed];
    }),
  );
  await env.connection.operatorService.addSearchAttributes({ namespace: env.namespace ?? 'default', searchAttributes });
}
