/**
 * Running the pool controller in time-skipping tests: a {@link FakePool} behind its activities (MIGs of VMs whose
 * runners boot, take jobs and finish them), a worker over the project's workflow bundle, signals that clear
 * imminent timers first, and polling the state query (queries never advance time-skipping time).
 */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import type { DrainResult, PoolActivities, PoolObservation, QueuedJob } from '../../activities/contract.js';
import type { PoolPolicy } from '../../runner-config/types.js';
import type { ObservedVm } from '../../workflows/pool-decision.js';
import { poolController } from '../../workflows/pool-controller.js';
import {
  poolJobSignal,
  poolWorkflowId,
  poolStateQuery,
  type PoolControllerState,
  type PoolJobEvent,
} from '../../workflows/pool-contract.js';
import type { RolloutServer } from './rollout-harness.js';
import { uniqueNames } from './temporal.js';
import { timerClearance } from './timer-clearance.js';

export const POOL = 'prod/presubmit/gpu';

type RunnerState = 'booting' | 'idle' | 'busy';

interface FakeMig {
  readonly name: string;
  readonly region: string;
  targetSize: number;
  readonly vms: Map<string, RunnerState>;
  /** The linked autoscaler's mode: the fleet's CPU autoscalers scale out only. */
  autoscalerMode: string;
}

export interface PoolCall {
  readonly name: keyof PoolActivities;
  readonly detail: string;
}

/** A pool of MIGs (one per region) and GitHub's queued jobs, as the controller's activities see them. */
export class FakePool {
  readonly migs = new Map<string, FakeMig>();
  readonly calls: PoolCall[] = [];
  /** GitHub's queued jobs of the pool, listed by reconciliation. */
  queued: QueuedJob[] = [];
  /** MIGs a rollout holds. */
  readonly held = new Set<string>();
  /** Runners that take a job between the controller's observation and its removal (GitHub answers 422). */
  readonly busyAtRemoval = new Set<string>();
  /** VMs deleted while their runner was busy: a killed job. Must stay empty. */
  readonly killed: string[] = [];
  private seq = 0;

  constructor(
    public policy: PoolPolicy,
    regions: readonly string[] = ['us-central1', 'us-west1'],
  ) {
    for (const region of regions) {
      const name = `gh-runner-presubmit-gpu-${region}`;
      this.migs.set(name, { name, region, targetSize: 0, vms: new Map(), autoscalerMode: 'ONLY_SCALE_OUT' });
    }
  }

  /** Every booting VM's runner registers, idle. */
  boot(): void {
    for (const mig of this.migs.values())
      for (const [vm, state] of mig.vms) if (state === 'booting') mig.vms.set(vm, 'idle');
  }

  vms(state?: RunnerState): string[] {
    return [...this.migs.values()].flatMap((mig) =>
      [...mig.vms].filter(([, runner]) => state === undefined || runner === state).map(([vm]) => vm),
    );
  }

  setRunner(vm: string, state: RunnerState): void {
    const mig = [...this.migs.values()].find((candidate) => candidate.vms.has(vm));
    assert.ok(mig !== undefined, `no VM ${vm}`);
    mig.vms.set(vm, state);
  }

  targetSizes(): Record<string, number> {
    return Object.fromEntries([...this.migs.values()].map((mig) => [mig.name, mig.targetSize]));
  }

  writes(): PoolCall[] {
    return this.calls.filter((call) => call.name !== 'observePool');
  }

  activities(): PoolActivities {
    return {
      observePool: async ({ withQueuedJobs }): Promise<PoolObservation> => {
        this.calls.push({ name: 'observePool', detail: withQueuedJobs ? 'with queued jobs' : '' });
        const migs = [...this.migs.values()].map((mig) => ({
          name: mig.name,
          region: mig.region,
          targetSize: mig.targetSize,
          held: this.held.has(mig.name),
          autoscalerMode: mig.autoscalerMode,
          // Like the activity, the observation's time for every idle runner: GitHub tells no idle time.
          vms: [...mig.vms].map(([name, state]): ObservedVm => ({ name, runner: observed(state, Date.now()) })),
        }));
        return {
          migs,
          policy: this.policy,
          at: 0,
          ...(withQueuedJobs ? { queuedJobs: [...this.queued], queuedJobsComplete: true } : {}),
        };
      },
      raisePoolMig: async ({ mig: locator, from, to }) => {
        this.calls.push({ name: 'raisePoolMig', detail: `${locator.name} ${from}->${to}` });
        assert.ok(to > from, `a target size was lowered on ${locator.name}: ${from} -> ${to}`);
        const mig = this.mig(locator.name);
        if (this.held.has(mig.name)) return { mig: locator, outcome: 'held', targetSize: from };
        if (mig.targetSize !== from) return { mig: locator, outcome: 'unchanged', targetSize: mig.targetSize };
        // GCP's 412: an autoscaled MIG is resized only with its autoscaler off.
        if (mig.autoscalerMode !== 'OFF')
          throw new Error(`${mig.name} is autoscaled (${mig.autoscalerMode}): resize refused`);
        for (let added = from; added < to; added++) mig.vms.set(`${mig.name}-${++this.seq}`, 'booting');
        mig.targetSize = to;
        return { mig: locator, outcome: 'raised', targetSize: to };
      },
      setPoolAutoscalerMode: async ({ mig: locator, mode }) => {
        this.calls.push({ name: 'setPoolAutoscalerMode', detail: `${locator.name} ${mode}` });
        const mig = this.mig(locator.name);
        if (mode === 'OFF' && this.held.has(mig.name)) return { mig: locator, outcome: 'held' };
        const previous = mig.autoscalerMode;
        mig.autoscalerMode = mode;
        return { mig: locator, outcome: previous === mode ? 'unchanged' : 'set', previous };
      },
      removePoolRunners: async ({ mig: locator, runners }): Promise<DrainResult & { held: boolean }> => {
        this.calls.push({ name: 'removePoolRunners', detail: `${locator.name} ${runners.join(',')}` });
        const mig = this.mig(locator.name);
        if (this.held.has(mig.name))
          return { mig: locator, drained: [], skippedBusy: [], removedStuck: [], held: true };
        const drained: string[] = [];
        const skippedBusy: string[] = [];
        for (const runner of runners) {
          if (this.busyAtRemoval.has(runner)) mig.vms.set(runner, 'busy');
          const state = mig.vms.get(runner);
          // The busy-safe drain: GitHub refuses to remove a busy runner, so its VM is never deleted.
          if (state === 'busy') {
            skippedBusy.push(runner);
            continue;
          }
          if (state !== 'idle') continue;
          mig.vms.delete(runner);
          mig.targetSize -= 1;
          drained.push(runner);
        }
        return { mig: locator, drained, skippedBusy, removedStuck: [], held: false };
      },
    };
  }

  private mig(name: string): FakeMig {
    const mig = this.migs.get(name);
    assert.ok(mig !== undefined, `no MIG ${name}`);
    return mig;
  }
}

function observed(state: RunnerState, at: number): ObservedVm['runner'] {
  if (state === 'busy') return { state: 'busy' };
  if (state === 'idle') return { state: 'idle', idleSince: at };
  return { state: 'none' };
}

export function queuePolicy(min: number, max: number, warm = 0): PoolPolicy {
  return { environment: 'prod', group: 'presubmit', type: 'gpu', mode: 'queue', bounds: { min, max }, warm };
}

export function jobEvent(
  action: PoolJobEvent['action'],
  jobId: number,
  runnerName: string | null = null,
): PoolJobEvent {
  return {
    action,
    jobId,
    runId: jobId,
    labels: ['self-hosted', 'gpu'],
    runnerName,
    deliveryId: `d-${action}-${jobId}`,
  };
}

/** Runs `fn` while a worker serves the project's workflows with the fake pool's activities. */
export async function withPoolWorker<T>(
  env: TestWorkflowEnvironment,
  bundle: WorkflowBundle,
  pool: FakePool,
  taskQueue: string,
  fn: () => Promise<T>,
): Promise<T> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: pool.activities(),
  });
  return worker.runUntil(fn);
}

export type PoolControllerHandle = WorkflowHandleWithFirstExecutionRunId<typeof poolController>;

/**
 * Starts a pool controller of POOL on a task queue of the test's own, served with the fake pool's activities, runs
 * `body` against it and terminates it. The cool-downs and reconciliation interval are short enough to skip through;
 * `maxHistoryEvents` makes it continue as new sooner.
 */
export async function withPoolController(
  server: RolloutServer,
  title: string,
  pool: FakePool,
  body: (handle: PoolControllerHandle) => Promise<void>,
  { maxHistoryEvents }: { maxHistoryEvents?: number } = {},
): Promise<void> {
  const { taskQueue, workflowId } = uniqueNames(title);
  const project = `p-${taskQueue.slice(-8)}`;
  await withPoolWorker(server.env, server.bundle, pool, taskQueue, async () => {
    const handle = await server.env.client.workflow.start(poolController, {
      taskQueue,
      workflowId: `${poolWorkflowId(project, POOL)}-${workflowId()}`,
      args: [
        {
          project,
          pool: POOL,
          timing: {
            scaleOutCooldown: '1 minute',
            scaleInCooldown: '10 minutes',
            reconcileInterval: '5 minutes',
            ...(maxHistoryEvents === undefined ? {} : { maxHistoryEvents }),
          },
        },
      ],
    });
    try {
      await body(handle);
    } finally {
      await handle.terminate('test done');
    }
  });
}

/**
 * Job events as GitHub sends them: GitHub's queued list (what reconciliation reads) changes with each, and the
 * signal clears imminent timers first (see timer-clearance.ts). `delivered: false` is a webhook GitHub lost.
 */
export function poolSignals(
  env: TestWorkflowEnvironment,
  pool: FakePool,
): (handle: WorkflowHandle, event: PoolJobEvent, delivered?: boolean) => Promise<void> {
  const clearance = timerClearance(env, () => []);
  return async (handle, event, delivered = true) => {
    pool.queued = pool.queued.filter((job) => job.id !== event.jobId);
    if (event.action === 'queued') pool.queued.push({ id: event.jobId, runId: event.runId, labels: event.labels });
    if (delivered) await clearance.signal(handle, poolJobSignal, event);
  };
}

/**
 * Skips simulated time a step at a time until the controller's state satisfies `predicate`; fails naming `what`
 * with the last state. `step` is the simulated time skipped between looks.
 */
export async function untilPool(
  env: TestWorkflowEnvironment,
  handle: WorkflowHandle,
  predicate: (state: PoolControllerState) => boolean,
  what: string,
  { step = 30_000, looks = 80 }: { step?: number; looks?: number } = {},
): Promise<PoolControllerState> {
  let last: PoolControllerState | undefined;
  for (let look = 0; look < looks; look++) {
    try {
      last = await handle.query(poolStateQuery);
      if (predicate(last)) return last;
    } catch {
      // No query handler until the first workflow task has run.
    }
    await env.sleep(step);
    await delay(20);
  }
  throw new Error(`the pool controller never reached: ${what}; last state ${JSON.stringify(last)}`);
}
