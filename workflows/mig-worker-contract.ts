/**
 * Contract of the `migWorker` child workflow: the single executor of one MIG's mutations during a rollout.
 * Its workflow id (`migWorkflowId(project, mig)`) is held for the whole rollout, so a second rollout cannot
 * start a worker for the same MIG. The rollout sends commands by signal and the worker answers each with a
 * report signal to the rollout's workflow id (which reaches the rollout's current run, also after it continued
 * as new). The pool controller (pool-controller.ts) takes a running worker under that id for a rollout's hold on
 * the MIG and writes nothing to it meanwhile.
 */
import { defineSignal } from '@temporalio/workflow';
import type { AutoscalingBounds } from '../runner-config/types.js';
import type { MigLocator, MigVersion } from '../activities/contract.js';

/** One activity call on the MIG. */
export type MigStep =
  | { readonly kind: 'get-autoscaling' }
  | { readonly kind: 'set-autoscaling'; readonly bounds: AutoscalingBounds }
  | { readonly kind: 'direct-update'; readonly template: string }
  /**
   * `surge`: where the MIG's autoscaler allows it, room for the canary is made by raising its min, the worker
   * restoring the bounds it recorded first at promote, rollback or its end.
   */
  | { readonly kind: 'canary'; readonly template: string; readonly canarySize: number; readonly surge?: boolean }
  | { readonly kind: 'promote'; readonly template: string }
  | { readonly kind: 'rollback-canary'; readonly canaryTemplate: string }
  | { readonly kind: 'wait-runners'; readonly template: string; readonly count: number; readonly timeout: string }
  | { readonly kind: 'drain'; readonly keepTemplate?: string };

export type MigStepResult =
  | { readonly kind: 'autoscaling'; readonly bounds: AutoscalingBounds }
  | { readonly kind: 'versions'; readonly applied: boolean; readonly versions: readonly MigVersion[] }
  | { readonly kind: 'runners'; readonly online: number }
  | {
      readonly kind: 'drain';
      readonly drained: readonly string[];
      readonly skippedBusy: readonly string[];
      readonly removedStuck: readonly string[];
    };

/** Steps run in order; the first failing step ends the command. */
export interface MigCommand {
  readonly id: string;
  readonly steps: readonly MigStep[];
}

export type MigReport =
  | {
      readonly kind: 'result';
      readonly migName: string;
      readonly commandId: string;
      /** Results of the steps that succeeded, in order. */
      readonly results: readonly MigStepResult[];
      readonly failure?: { readonly step: MigStep['kind']; readonly type?: string; readonly message: string };
    }
  /** Sent by an idle worker at its liveness interval; if it cannot be delivered the rollout is gone. */
  | { readonly kind: 'alive'; readonly migName: string };

export interface MigWorkerInput {
  readonly rolloutWorkflowId: string;
  readonly migName: string;
  readonly mig: MigLocator;
  readonly livenessInterval: string;
  readonly maxHistoryEvents: number;
  /** Commands received but not yet run, carried across continue-as-new. */
  readonly pending?: readonly MigCommand[];
  /** Release received before continue-as-new. */
  readonly released?: boolean;
  /** Commands run by earlier runs of this worker. */
  readonly commandsRun?: number;
  /** Autoscaling bounds recorded before a canary's surge and not restored yet, carried across continue-as-new. */
  readonly surgeFrom?: AutoscalingBounds;
}

export interface MigWorkerResult {
  readonly migName: string;
  readonly commandsRun: number;
  /** `released` when the rollout let go; `rollout-gone` when the rollout closed without releasing. */
  readonly ended: 'released' | 'rollout-gone';
}

export const migCommandSignal = defineSignal<[MigCommand]>('mig-command');
export const migReleaseSignal = defineSignal<[]>('mig-release');
export const migReportSignal = defineSignal<[MigReport]>('mig-report');
