/**
 * The rollout every reliability test runs, in a reduced CI form (one group in one region of the default fleet:
 * four testing and four prod MIGs covering every rollout role, a short soak) or in full with
 * ROLLOUT_RELIABILITY_FULL=1 (the whole default fleet, a longer soak), plus the operator moves and the fleet
 * assertions they share.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import type { SimulatorOptions } from '../../simulator/index.js';
import {
  migWorkflowId,
  statusQuery,
  type ApprovalStage,
  type RolloutInput,
  type RolloutState,
} from '../../workflows/rollout-contract.js';
import { approveUpdate, type ControlAck } from '../../workflows/rollout-controls-contract.js';
import { COMPRESSED_ROLLOUT_TIMING } from '../../devstack/timing.js';
import type { RolloutHandle } from '../../testbed/rollouts.js';
import { fleetOutcome, type E2eStack, type MigOutcome } from '../helpers/e2e-stack.js';

export const FULL = process.env['ROLLOUT_RELIABILITY_FULL'] === '1';

/**
 * Two simulated minutes per real second; VMs boot and register in seconds; jobs arrive often and last minutes,
 * so canaries and convergence ride on real turnover. Jobs last several of the activities' 30-simulated-second
 * polls: a VM that registers, runs a job and deletes itself between two polls looks like a boot loop (see
 * docs/reliability.md). The testing pool gets work too: a testing VM the
 * autoscaler creates between the rollout raising testing autoscaling and switching the template (a worker
 * crash in between makes that likely) only leaves the old template after a job (see docs/reliability.md).
 */
export const SCENARIO_SIMULATOR: Omit<SimulatorOptions, 'fleet' | 'port'> = {
  speed: 120,
  seed: 7,
  timings: { bootSeconds: 10, registerSeconds: 10, autoscalerDelaySeconds: 300 },
  jobRates: [
    { environment: 'prod', perHour: 120, meanDurationMinutes: 3 },
    { environment: 'testing', perHour: 300, meanDurationMinutes: 3 },
  ],
};

/** Who the tests approve as; automatic approvals are recorded under other identities. */
export const OPERATOR = 'reliability-operator';

export function scenarioInput(version: string, overrides: Partial<RolloutInput> = {}): RolloutInput {
  return {
    version,
    requestedBy: OPERATOR,
    soak: FULL ? '30 seconds' : '3 seconds',
    regions: FULL ? 'all' : 'us-west1',
    groups: FULL ? 'all' : 'presubmit',
    timing: COMPRESSED_ROLLOUT_TIMING,
    ...overrides,
  };
}

/** The status query, retried while no worker is there to answer it. */
export async function rolloutState(handle: RolloutHandle, timeoutMs = 60_000): Promise<RolloutState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await handle.query(statusQuery);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
}

export async function isRunning(handle: RolloutHandle): Promise<boolean> {
  return (await handle.describe()).status.name === 'RUNNING';
}

/**
 * Sends an update with a fixed id, retrying transport failures (the worker or server may be down) with the same
 * id, as an operator's client would. A rejection by the validator is final.
 */
/** Longer than a server restart or a killed worker's workflow task takes to move on. */
const UPDATE_RETRY_MS = 3 * 60_000;

export async function sendUpdate<Request>(
  handle: RolloutHandle,
  update: UpdateDefinition<ControlAck, [Request]>,
  request: Request,
  updateId: string,
): Promise<ControlAck> {
  const deadline = Date.now() + UPDATE_RETRY_MS;
  for (;;) {
    try {
      return await handle.executeUpdate(update, { args: [request], updateId });
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) throw error;
      // A rollout that ended before the update reached it never will answer it: retrying would wait forever.
      if (Date.now() > deadline || !(await isRunning(handle).catch(() => true))) {
        throw new Error(`update ${updateId} was not answered`, { cause: error });
      }
      await sleep(250);
    }
  }
}

export function approve(handle: RolloutHandle, stage: ApprovalStage, updateId: string): Promise<ControlAck> {
  return sendUpdate(handle, approveUpdate, { stage, identity: OPERATOR, reason: `${stage} looks healthy` }, updateId);
}

/**
 * Approves a gate the status showed pending, as an operator would after a killed worker. A query can answer from
 * a workflow task the killed worker finished but never completed; the next worker runs that task again with the
 * approval in it, and an activation applies updates before activity results, so the approval meets the state
 * before the gate opened and is refused as not pending. The operator approves again, and so does this, with the
 * same id: a refused update leaves nothing in history.
 */
export async function approvePendingGate(
  handle: RolloutHandle,
  stage: ApprovalStage,
  updateId: string,
): Promise<ControlAck> {
  const deadline = Date.now() + UPDATE_RETRY_MS;
  for (;;) {
    try {
      return await approve(handle, stage, updateId);
    } catch (error) {
      const notOpenYet =
        error instanceof WorkflowUpdateFailedError &&
        error.cause?.message.startsWith(`no ${stage} approval is pending`) === true;
      if (!notOpenYet || Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
}

/** Approves each gate once as it opens, until the rollout ends; returns the update ids sent. */
export async function approveGatesUntilDone(
  handle: RolloutHandle,
  prefix: string,
): Promise<Map<ApprovalStage, string>> {
  const sent = new Map<ApprovalStage, string>();
  while (await isRunning(handle)) {
    const state = await rolloutState(handle);
    const stage = gateStage(state);
    if (stage !== undefined && !sent.has(stage)) {
      sent.set(stage, `${prefix}-${stage}`);
      await approve(handle, stage, `${prefix}-${stage}`);
    }
    await sleep(300);
  }
  return sent;
}

export function gateStage(state: RolloutState): ApprovalStage | undefined {
  if (state.gate?.kind === 'test-approval') return 'test';
  if (state.gate?.kind === 'promote-approval') return 'promote';
  return undefined;
}

/** Workflow ids of the rollout and of every per-MIG worker it planned. */
export function rolloutWorkflowIds(stack: E2eStack, state: RolloutState): string[] {
  return [state.workflowId, ...state.migs.map((mig) => migWorkflowId(stack.fleet.project, mig.name))];
}

/**
 * The fleet as far as a rollout is concerned: its MIGs' versions and stray templates, and the versions of every
 * other MIG (their instances come and go with jobs, their versions must not change).
 */
export interface RolloutOutcome {
  readonly planned: Record<string, MigOutcome>;
  readonly others: Record<string, string>;
}

export function rolloutOutcome(stack: E2eStack, state: RolloutState, version?: string): RolloutOutcome {
  const planned = new Set(state.migs.map((mig) => mig.name));
  const outcome: RolloutOutcome = { planned: {}, others: {} };
  for (const [name, mig] of Object.entries(fleetOutcome(stack.simulator))) {
    if (planned.has(name)) outcome.planned[name] = mig;
    else outcome.others[name] = mig.versions;
  }
  if (version === undefined) return outcome;
  // With the version's name replaced, rollouts of two versions compare.
  return JSON.parse(JSON.stringify(outcome).replaceAll(version, '<version>')) as RolloutOutcome;
}

/**
 * What a completed rollout must leave: every planned MIG has one version, `base` on the new template, and no
 * instance on another template; every other MIG keeps its versions.
 */
export function expectedOutcome(before: Record<string, MigOutcome>, state: RolloutState): RolloutOutcome {
  const planned: Record<string, MigOutcome> = {};
  const others: Record<string, string> = {};
  for (const [name, mig] of Object.entries(before)) others[name] = mig.versions;
  for (const mig of state.migs) {
    planned[mig.name] = { versions: `base=${mig.toTemplate}`, strayTemplates: [] };
    delete others[mig.name];
  }
  return { planned, others };
}
