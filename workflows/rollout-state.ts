/**
 * The rollout's own state changes as pure functions over {@link RolloutState}, in the style of
 * rollout-controls.ts: where a run starts, what entering a stage, a MIG step and a failed health gate record, and
 * the counts and result read from it. The workflow adds the clock, logging and search attributes.
 */
import type { MigStep, MigStepResult } from './mig-worker-contract.js';
import {
  TERMINAL_STAGES,
  type MigProgress,
  type RolloutPlan,
  type RolloutResult,
  type RolloutStage,
  type RolloutState,
} from './rollout-contract.js';
import { addTimeline } from './rollout-controls.js';

export interface RolloutStart {
  readonly workflowId: string;
  readonly version: string;
  readonly requestedBy: string;
  readonly at: string;
}

/** The state of a rollout that has not planned yet: in preflight, with no MIGs. */
export function initialRolloutState(start: RolloutStart): RolloutState {
  return {
    workflowId: start.workflowId,
    version: start.version,
    requestedBy: start.requestedBy,
    startedAt: start.at,
    stage: 'preflight',
    migs: [],
    counts: { instancesOld: 0, instancesNew: 0, runnersOld: 0, runnersNew: 0 },
    approvals: [],
    timeline: [],
    timelineDropped: 0,
    problems: [],
    escalations: [],
    evidence: [],
    stageTimings: [{ stage: 'preflight', startedAt: start.at }],
    continuedAsNew: 0,
  };
}

/** Each planned MIG as the rollout tracks it: one already on its target template has nothing to do. */
export function plannedMigs(plan: RolloutPlan): MigProgress[] {
  return plan.migs.map((planned) => ({
    ...planned,
    phase: planned.fromTemplate === planned.toTemplate ? 'current' : 'planned',
    instancesOld: sumExcept(planned.instancesByTemplate, planned.toTemplate),
    instancesNew: planned.instancesByTemplate[planned.toTemplate] ?? 0,
    drainedRunners: 0,
  }));
}

/** Ends the current stage's timing and starts `stage`'s (ended at once when `stage` is terminal). */
export function enterStage(state: RolloutState, stage: RolloutStage, at: string): void {
  const current = state.stageTimings.at(-1);
  if (current !== undefined && current.finishedAt === undefined) current.finishedAt = at;
  state.stage = stage;
  state.stageTimings.push({ stage, startedAt: at, ...(TERMINAL_STAGES.includes(stage) ? { finishedAt: at } : {}) });
  addTimeline(state, { at, kind: 'stage', message: `stage ${stage}` });
}

/** What a step a MIG worker ran changes in that MIG's record. */
export function recordStep(mig: MigProgress, step: MigStep, result: MigStepResult, at: string): void {
  switch (step.kind) {
    case 'get-autoscaling':
      if (result.kind === 'autoscaling') mig.previousAutoscaling ??= result.bounds;
      break;
    case 'canary':
      mig.phase = 'canary';
      mig.updatedAt = at;
      break;
    case 'direct-update':
      if (step.template === mig.toTemplate) {
        mig.phase = 'updated';
        mig.updatedAt = at;
      }
      break;
    case 'promote':
      mig.phase = 'promoted';
      break;
    case 'rollback-canary':
      mig.phase = 'rolled-back';
      break;
    case 'drain':
      if (result.kind === 'drain') mig.drainedRunners += result.drained.length + result.removedStuck.length;
      break;
    case 'set-autoscaling':
    case 'wait-runners':
      break;
  }
}

/** The fleet-wide instance and runner counts, summed over the MIGs. */
export function countInstances(migs: readonly MigProgress[]): RolloutState['counts'] {
  const counts = { instancesOld: 0, instancesNew: 0, runnersOld: 0, runnersNew: 0 };
  for (const mig of migs) {
    counts.instancesOld += mig.instancesOld;
    counts.instancesNew += mig.instancesNew;
    counts.runnersOld += mig.runnersOld ?? 0;
    counts.runnersNew += mig.runnersNew ?? 0;
  }
  return counts;
}

/** Records a failed health gate with its evidence and stops the rollout, which rolls the canaries back. */
export function recordFailedHealthGate(state: RolloutState, evidence: readonly string[], at: string): void {
  state.evidence.push(...evidence);
  // Rolling back an unhealthy canary is protective, so it happens even while paused.
  state.pause = undefined;
  state.stop = {
    kind: 'health-gate',
    identity: 'health-gate',
    reason: `health gate failed: ${evidence.join('; ')}`,
    at,
  };
  addTimeline(state, { at, kind: 'health-gate-failed', message: evidence.join('; ') });
}

/** What a rollout that ended with `outcome` reports. */
export function rolloutResult(
  state: RolloutState,
  outcome: RolloutResult['outcome'],
  finishedAt: string,
): RolloutResult {
  const migs = state.migs;
  const count = (predicate: (mig: MigProgress) => boolean): number => migs.filter(predicate).length;
  return {
    workflowId: state.workflowId,
    version: state.version,
    outcome,
    startedAt: state.startedAt,
    finishedAt,
    stageTimings: state.stageTimings,
    migs,
    approvals: state.approvals,
    counts: {
      migs: migs.length,
      canaried: count((mig) => mig.role === 'canary' && mig.updatedAt !== undefined),
      promoted: count((mig) => mig.role === 'canary' && (mig.phase === 'promoted' || mig.phase === 'converged')),
      directUpdated: count(
        (mig) => mig.role.startsWith('direct') && (mig.phase === 'updated' || mig.phase === 'converged'),
      ),
      rolledBack: count((mig) => mig.phase === 'rolled-back'),
      converged: count((mig) => mig.phase === 'converged'),
      runnersDrained: migs.reduce((sum, mig) => sum + mig.drainedRunners, 0),
      instancesNew: state.counts.instancesNew,
      instancesOld: state.counts.instancesOld,
    },
    evidence: state.evidence,
    escalations: state.escalations,
    ...(state.stop === undefined ? {} : { stop: state.stop }),
  };
}

function sumExcept(byTemplate: Readonly<Record<string, number>>, except: string): number {
  return Object.entries(byTemplate).reduce((sum, [template, count]) => (template === except ? sum : sum + count), 0);
}
