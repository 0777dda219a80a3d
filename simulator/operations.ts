import { setTimeout as sleep } from 'node:timers/promises';

import { realStepMs } from './clock.js';
import type { FleetModel } from './fleet-model.js';
import type { SimOperation } from './fleet-types.js';
import type { Random } from './random.js';

/**
 * The lifecycle of a Compute Operation: PENDING, then RUNNING with a progress, then DONE, on simulated time.
 * The mutation's effect on the model applies when the request is accepted, as GCE's own resources show a MIG's
 * new versions or target size at once while the operation still runs; only the operation's report lags.
 * Fields follow https://cloud.google.com/compute/docs/reference/rest/v1/regionOperations (the Operation
 * resource: status PENDING/RUNNING/DONE, progress 0–100, startTime, endTime, error only once DONE).
 */

/** https://cloud.google.com/compute/docs/reference/rest/v1/regionOperations/wait: "no more than ... 2 minutes". */
export const WAIT_DEADLINE_MS = 120_000;

/**
 * The `requestId` of every Compute mutation: "The server will guarantee that for at least 60 minutes after the
 * first request" (e.g. https://cloud.google.com/compute/docs/reference/rest/v1/regionInstanceGroupManagers/patch);
 * production may forget it right after, so the simulator does.
 */
export const REQUEST_ID_MEMORY_MS = 60 * 60_000;

/**
 * The wait is "called on a best-effort basis ... might return before the default deadline is reached, or might
 * return after zero seconds" (regionOperations/wait above). "Uncommon": one wait in twenty.
 */
const EARLY_WAIT_RETURN_CHANCE = 0.05;

interface DurationModel {
  /** Typical duration in simulated seconds. */
  readonly medianSeconds: number;
  /** Spread of the log-normal (σ of the underlying normal). */
  readonly sigma: number;
  readonly minSeconds: number;
  readonly maxSeconds: number;
}

/**
 * Durations are log-normal: an operation's time is the product of many independent queueing and provisioning
 * delays, so it is positive and right-skewed (most finish near the median, a few take several times longer).
 * Medians and ranges are the figures GCE shows for these calls: a MIG or autoscaler patch takes a few seconds
 * up to about half a minute, deleteInstances 10 s to a minute (the VMs are shut down before it is DONE), an
 * instance template insert 5 to 30 s. Draws are clamped to those ranges so a seed never yields an outlier
 * production does not show.
 */
const MIG_CHANGE: DurationModel = { medianSeconds: 8, sigma: 0.5, minSeconds: 2, maxSeconds: 30 };
const DURATIONS: Readonly<Record<string, DurationModel>> = {
  deleteInstances: { medianSeconds: 25, sigma: 0.45, minSeconds: 10, maxSeconds: 60 },
  // A global operation of type insert is the instance template insert.
  insert: { medianSeconds: 12, sigma: 0.45, minSeconds: 5, maxSeconds: 30 },
};

/** An operation queues briefly before it runs: up to 2 s, and never more than a fifth of its duration. */
function pendingMs(random: Random, durationMs: number): number {
  return Math.min(durationMs / 5, 500 + random.next() * 1500);
}

function drawSeconds(random: Random, model: DurationModel): number {
  // Box–Muller: one standard normal from two uniforms.
  const normal = Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
  const seconds = model.medianSeconds * Math.exp(model.sigma * normal);
  return Math.min(model.maxSeconds, Math.max(model.minSeconds, seconds));
}

/**
 * When a new operation starts and ends (simulated epoch ms). A fault rule's `operationSeconds` is asked for
 * explicitly, so it sets the duration whichever profile runs; otherwise the `operationDurations` behaviour
 * decides between a drawn duration and DONE at once.
 */
export function planOperation(
  model: FleetModel,
  operationType: string,
  operationSeconds: number | undefined,
): { startTime: number; endTime: number } {
  const now = model.now();
  let durationMs: number;
  if (operationSeconds !== undefined) durationMs = operationSeconds * 1000;
  else if (model.behaviours.operationDurations) {
    durationMs = Math.round(drawSeconds(model.operationRandom, DURATIONS[operationType] ?? MIG_CHANGE) * 1000);
  } else durationMs = 0;
  const startTime = now + Math.round(pendingMs(model.operationRandom, durationMs));
  return { startTime, endTime: now + durationMs };
}

export interface OperationState {
  readonly status: 'PENDING' | 'RUNNING' | 'DONE';
  readonly progress: number;
}

export function operationState(operation: SimOperation, now: number): OperationState {
  if (now >= operation.endTime) return { status: 'DONE', progress: 100 };
  if (now < operation.startTime) return { status: 'PENDING', progress: 0 };
  const span = operation.endTime - operation.startTime;
  // Linear in time; below 100 until DONE, as production never reports 100 for a running operation.
  return { status: 'RUNNING', progress: Math.min(99, Math.floor((100 * (now - operation.startTime)) / span)) };
}

/** The operation a repeated `requestId` refers to, or undefined when it is new or (with `requestIdExpiry`) forgotten. */
export function rememberedOperation(model: FleetModel, requestId: string | null | undefined): SimOperation | undefined {
  if (requestId === null || requestId === undefined) return undefined;
  const operation = model.operationsByRequestId.get(requestId);
  if (operation === undefined) return undefined;
  if (model.behaviours.requestIdExpiry && model.now() - operation.insertTime >= REQUEST_ID_MEMORY_MS) {
    model.operationsByRequestId.delete(requestId);
    return undefined;
  }
  return operation;
}

/**
 * Blocks until the operation is DONE or the wait's deadline passes in simulated time, whichever comes first,
 * taking simulated remaining ÷ clock speed in real time. The clock is re-read as it goes, since a manual
 * advance or a speed change moves it; a frozen clock (speed 0) would never get there, so the caller gets the
 * current state at once. With `operationDurations` on, an uncommon wait ends early at a seeded moment.
 */
export async function awaitOperation(model: FleetModel, operation: SimOperation): Promise<void> {
  let deadline = model.now() + WAIT_DEADLINE_MS;
  if (model.behaviours.operationDurations && model.waitRandom.next() < EARLY_WAIT_RETURN_CHANCE) {
    deadline = model.now() + Math.floor(model.waitRandom.next() * WAIT_DEADLINE_MS);
  }
  for (;;) {
    model.catchUp();
    const stepMs = realStepMs(Math.min(operation.endTime, deadline), model.now(), model.clock.getSpeed());
    if (stepMs === 0) return;
    // Unreferenced, so a wait in flight never keeps a closing simulator's process alive.
    await sleep(stepMs, undefined, { ref: false });
  }
}
