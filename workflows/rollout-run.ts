/**
 * One run of the rollout workflow: its state, what it carries across continue-as-new, and the helpers every job
 * of the run uses. The jobs themselves (handlers, preflight, stages, gates, MIG commands, continuation) are
 * functions over a run, each in its own rollout-*.ts file.
 */
import {
  ActivityFailure,
  log,
  patched,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { CanaryObservations } from '../activities/contract.js';
import type { AutoscalingBounds } from '../runner-config/types.js';
import type { MigReport } from './mig-worker-contract.js';
import {
  RolloutStageSearchAttribute,
  RolloutVersionSearchAttribute,
  type MigProgress,
  type RolloutInput,
  type RolloutPlan,
  type RolloutStage,
  type RolloutState,
  type RolloutTiming,
  type UnfinishedRound,
} from './rollout-contract.js';
import { renderDetails } from './rollout-details.js';
import { adoptCarriedState, resolveTiming } from './rollout-plan.js';
import { countInstances, enterStage, initialRolloutState } from './rollout-state.js';

/**
 * Rollouts started before fan-outs stopped part-way for continue-as-new replay without it: their histories ran
 * every fan-out to the end.
 */
const BOUNDED_FAN_OUT_PATCH = 'bounded-fan-out';

export class RolloutRun {
  readonly inputTiming: RolloutTiming;
  readonly state: RolloutState;
  readonly processedUpdateIds: string[];
  claimedMigWorkers: string[];
  /** What health checks saw of each MIG's canary VMs, passed back to the next check of that MIG. */
  readonly observations: Map<string, CanaryObservations>;
  readonly reports = new Map<string, MigReport & { kind: 'result' }>();
  outstandingCommands = 0;
  commandSeq = 0;
  readonly searchAttributesEnabled: boolean;
  readonly boundedFanOut: boolean;
  unfinishedRound: UnfinishedRound | undefined;

  constructor(readonly input: RolloutInput) {
    this.inputTiming = resolveTiming(input);
    const info = workflowInfo();
    this.searchAttributesEnabled = info.typedSearchAttributes.get(RolloutVersionSearchAttribute) !== undefined;
    const carried = input.continued;
    this.processedUpdateIds = [...(carried?.processedUpdateIds ?? [])];
    this.claimedMigWorkers = [...(carried?.claimedMigWorkers ?? [])];
    this.observations = new Map(Object.entries(carried?.canaryObservations ?? {}));
    this.unfinishedRound = carried?.unfinishedRound;
    this.boundedFanOut = patched(BOUNDED_FAN_OUT_PATCH);
    this.state =
      carried === undefined
        ? initialRolloutState({
            workflowId: info.workflowId,
            version: input.version,
            requestedBy: input.requestedBy,
            at: now(),
          })
        : adoptCarriedState(carried.state);
  }

  /** The plan's intervals, which include the worker's defaults; plans of older runs have none. */
  get timing(): RolloutTiming {
    return this.state.plan?.timing ?? this.inputTiming;
  }

  get stopping(): boolean {
    return this.state.stop !== undefined;
  }

  enterStage(stage: RolloutStage): void {
    enterStage(this.state, stage, now());
    log.info('rollout stage', { stage });
    if (this.searchAttributesEnabled) upsertSearchAttributes([{ key: RolloutStageSearchAttribute, value: stage }]);
    this.refreshDetails();
  }

  refreshDetails(): void {
    this.state.counts = countInstances(this.state.migs);
    setCurrentDetails(renderDetails(this.state));
  }

  plan(): RolloutPlan {
    if (this.state.plan === undefined) throw new Error('rollout state has no plan after preflight');
    return this.state.plan;
  }

  migs(role: MigProgress['role']): MigProgress[] {
    return this.state.migs.filter((mig) => mig.role === role);
  }

  /** MIGs carrying the new version ahead of promotion: canaries and direct-update first regions. */
  canaried(): MigProgress[] {
    return this.state.migs.filter(
      (mig) =>
        (mig.role === 'canary' && mig.phase === 'canary') || (mig.role === 'direct-first' && mig.phase === 'updated'),
    );
  }

  /** The MIGs of a round of `kind`: those an earlier run had not reached, if it stopped part-way through one. */
  takeRound(kind: UnfinishedRound['kind'], migs: MigProgress[]): MigProgress[] {
    const unfinished = this.unfinishedRound;
    if (unfinished?.kind !== kind) return migs;
    this.unfinishedRound = undefined;
    const left = new Set(unfinished.migs);
    return migs.filter((mig) => left.has(mig.name));
  }

  /** Where a testing MIG goes back to when its earlier bounds were never read: the environment's normal bounds. */
  fleetAutoscaling(): AutoscalingBounds {
    return this.plan().testingAutoscalingAtRest;
  }
}

export function now(): string {
  return new Date().toISOString();
}

export function failureMessage(error: unknown): string {
  const cause = error instanceof ActivityFailure && error.cause !== undefined ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}
