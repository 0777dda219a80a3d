/**
 * Killing and restarting the worker of a running rollout for the worker-crash test: a rotation of worker processes,
 * kills at a random moment, while an activity runs or while an update's handler runs, and what each kill cut off.
 */
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import proto from '@temporalio/proto';
import type { RolloutState } from '../../workflows/rollout-contract.js';
import { SIMULATOR_ACTIVITY_TIMING } from '../../devstack/timing.js';
import type { RolloutHandle } from '../../testbed/rollouts.js';
import { WorkerProcess } from '../../testbed/worker-process.js';
import { scratchPath, workflowBundlePath } from '../../testbed/workflow-bundle.js';
import type { E2eStack } from '../helpers/e2e-stack.js';
import { FULL, rolloutWorkflowIds } from './scenario.js';

const ACTIVITY_STARTED = proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
const TASK_STARTED = proto.temporal.api.enums.v1.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED;
/** A sticky workflow task held by a killed worker moves on after 1 s. */
const STICKY_QUEUE_TIMEOUT_MS = 1000;

export interface Kill {
  /** `stage`: a random moment; `activity`: an activity was seen running; `update handler`: see killDuringUpdate. */
  readonly moment: 'stage' | 'activity' | 'update handler' | 'update sent';
  readonly stage: string;
  /** Seconds since the rollout started. */
  readonly at: number;
  /** Activity attempts the server still saw running on the killed worker. */
  readonly interruptedActivities: readonly string[];
  readonly update?: string;
}

export function describeKill(kill: Kill): string {
  const interrupted = kill.interruptedActivities.length === 0 ? '' : ` [${kill.interruptedActivities.join(', ')}]`;
  return `${kill.at.toFixed(1)} s ${kill.moment} in ${kill.stage}${kill.update === undefined ? '' : ` (${kill.update})`}${interrupted}`;
}

export async function killAndRestart(
  stack: E2eStack,
  workers: WorkerRotation,
  state: RolloutState,
  moment: Kill['moment'],
  update?: string,
): Promise<Kill> {
  const killed = await workers.kill();
  const interruptedActivities = await lostActivities(stack, state, killed);
  await workers.startNext();
  return {
    moment,
    stage: state.stage,
    at: secondsSince(state.startedAt),
    interruptedActivities,
    ...(update === undefined ? {} : { update }),
  };
}

/**
 * Kills the worker and sends an update while none runs, then starts the next worker and kills it as soon as the
 * server reports the rollout's workflow task (the one delivering the update, whose handler runs in it) started
 * with the update not yet answered. The worker after that handles the update. Returns once it did.
 */
export async function killDuringUpdate(
  stack: E2eStack,
  workers: WorkerRotation,
  handle: RolloutHandle,
  state: RolloutState,
  update: string,
  send: () => Promise<unknown>,
): Promise<Kill[]> {
  const killed = await workers.kill();
  const kills: Kill[] = [
    {
      moment: 'update sent',
      stage: state.stage,
      at: secondsSince(state.startedAt),
      update,
      interruptedActivities: await lostActivities(stack, state, killed),
    },
  ];
  let answered = false;
  const sending = send().then(() => {
    answered = true;
  });
  await sleep(200);
  await workers.startNext();
  const deadline = Date.now() + 5000;
  while (!answered && Date.now() < deadline) {
    const task = (await handle.describe()).raw.pendingWorkflowTask;
    if (task?.state === TASK_STARTED && !answered) {
      kills.push(await killAndRestart(stack, workers, state, 'update handler', update));
      break;
    }
    await sleep(10);
  }
  await sending;
  return kills;
}

/**
 * Worker processes for one stack, only one of which runs at a time. Each keeps a standby process loaded, so a
 * restart only tells it to poll; rotating through several gives each standby seconds to load between kills.
 */
export class WorkerRotation {
  private current = 0;

  private constructor(private readonly workers: readonly WorkerProcess[]) {}

  static async start(stack: E2eStack, count: number): Promise<WorkerRotation> {
    const fleetPath = scratchPath(`crash-fleet-${stack.server.port}.json`);
    writeFileSync(fleetPath, JSON.stringify(stack.fleet));
    const bundlePath = await workflowBundlePath();
    const workers = Array.from(
      { length: count },
      (_, index) =>
        new WorkerProcess({
          env: stack.workerEnv,
          name: `crash-worker-${index}`,
          worker: {
            bundlePath,
            fleetPath,
            activityTiming: SIMULATOR_ACTIVITY_TIMING,
            simulatorClockUrl: stack.simulator.url,
            stickyQueueTimeoutMs: STICKY_QUEUE_TIMEOUT_MS,
          },
        }),
    );
    // Each process starts once (at the same time: nothing runs yet) and all but the first are killed again,
    // which leaves each of them a standby loading.
    await Promise.all(workers.map((worker) => worker.start()));
    for (const worker of workers.slice(1)) await worker.kill();
    return new WorkerRotation(workers);
  }

  private get worker(): WorkerProcess {
    const worker = this.workers[this.current];
    if (worker === undefined) throw new Error('the rotation has no workers');
    return worker;
  }

  /** SIGKILLs the running worker; returns its identity. */
  async kill(): Promise<string> {
    const identity = this.worker.identity;
    await this.worker.kill();
    return identity;
  }

  async startNext(): Promise<void> {
    this.current = (this.current + 1) % this.workers.length;
    await this.worker.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.stop()));
  }
}

/** Waits (up to `timeoutMs`) until one of the workflows has an activity running; returns its type. */
export async function awaitRunningActivity(
  stack: E2eStack,
  workflowIds: readonly string[],
  timeoutMs: number,
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pending = await Promise.all(workflowIds.map((workflowId) => pendingActivities(stack, workflowId)));
    const running = pending.flat().find((activity) => activity.state === ACTIVITY_STARTED);
    if (running !== undefined) return running.activityType?.name ?? 'unknown';
    await sleep(50);
  }
  return undefined;
}

/**
 * The activity attempts the killed worker was running. The CI form fails them by id, as the server itself does
 * once their heartbeat or start-to-close timeout (one to two minutes) expires; the retry then runs on the next
 * worker. The full variant waits for the real timeouts instead.
 */
export async function lostActivities(stack: E2eStack, state: RolloutState, identity: string): Promise<string[]> {
  const lost: string[] = [];
  const workflowIds = rolloutWorkflowIds(stack, state);
  const pending = await Promise.all(workflowIds.map((workflowId) => pendingActivities(stack, workflowId)));
  for (const [index, workflowId] of workflowIds.entries()) {
    for (const activity of pending[index] ?? []) {
      if (activity.state !== ACTIVITY_STARTED || activity.lastWorkerIdentity !== identity) continue;
      lost.push(activity.activityType?.name ?? 'unknown');
      if (FULL) continue;
      await stack.client.workflowService
        .respondActivityTaskFailedById({
          namespace: 'default',
          workflowId,
          activityId: activity.activityId ?? '',
          identity: 'reliability-test',
          failure: {
            message: `worker ${identity} was killed`,
            applicationFailureInfo: { type: 'WorkerLost', nonRetryable: false },
          },
          ...(activity.heartbeatDetails == null ? {} : { lastHeartbeatDetails: activity.heartbeatDetails }),
        })
        .catch(() => undefined);
    }
  }
  return lost;
}

export async function pendingActivities(
  stack: E2eStack,
  workflowId: string,
): Promise<proto.temporal.api.workflow.v1.IPendingActivityInfo[]> {
  try {
    const description = await stack.client.workflow.getHandle(workflowId).describe();
    return description.raw.pendingActivities ?? [];
  } catch {
    return [];
  }
}

function secondsSince(isoTime: string): number {
  return (Date.now() - Date.parse(isoTime)) / 1000;
}
