/**
 * The short one-shot operations the CLI runs as workflows (so only workers hold cloud credentials and every
 * operation is recorded in history): fleet inventory, template creation, draining idle runners, autoscaling.
 * Inputs and results are single objects so fields can be added without breaking recorded histories.
 */
import type { DrainResult, MigLocator, MigSelection } from '../activities/contract.js';
import type { AutoscalingBounds, Environment, MigRef } from '../runner-config/types.js';

/** Workflow type names, for clients that start these workflows without importing workflow code. */
export const OPERATION_WORKFLOWS = {
  fleetInventory: 'fleetInventory',
  createTemplates: 'createTemplatesOperation',
  drainIdle: 'drainIdleOperation',
  setAutoscaling: 'setAutoscalingOperation',
} as const;

/** Failure types the operations raise themselves (activity failures keep their own types). */
export const OperationFailureType = {
  NO_MATCHING_MIGS: 'NO_MATCHING_MIGS',
  INVALID_INPUT: 'INVALID_INPUT',
} as const;

/** Workflow ids: one-shot operations get a fresh id per run; template creation is keyed by version. */
export function operationWorkflowId(kind: 'fleet' | 'drain-idle' | 'autoscaling', nonce: string): string {
  return `ops-${kind}-${nonce}`;
}

export function templatesWorkflowId(version: string): string {
  return `templates-${version}`;
}

export interface FleetInventoryInput {
  /** Environments to inventory; both when omitted. */
  readonly environments?: readonly Environment[];
}

export interface MigInventory extends MigLocator {
  readonly ref: MigRef;
  /** MIG versions (`base`, `canary`) with the template version each runs. */
  readonly versions: readonly { readonly name: string; readonly template: string; readonly version?: string }[];
  readonly targetSize: number;
  readonly isStable: boolean;
  readonly instancesByTemplate: Readonly<Record<string, number>>;
  readonly autoscaling: AutoscalingBounds;
}

export const DRIFT_KINDS = [
  /** More than one MIG version: a rollout in progress, or a canary left behind. */
  'two-versions',
  /** Instances on a template none of the MIG's versions names: still converging. */
  'stale-instances',
  /** The base runs a different version than most MIGs of its environment. */
  'odd-version',
  /** The MIG is not stable (instances being created, deleted or recreated). */
  'unstable',
  /** Registered runners report an older runner version than the fleet definition. */
  'runner-behind',
] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

export interface DriftFinding {
  readonly kind: DriftKind;
  /** The MIG concerned; absent for fleet-wide findings. */
  readonly mig?: string;
  readonly message: string;
}

export interface FleetInventory {
  readonly project: string;
  readonly migs: readonly MigInventory[];
  /** Template version to the number of MIGs whose `base` runs it, per environment. */
  readonly baseVersions: Readonly<Record<Environment, Readonly<Record<string, number>>>>;
  /** Runner version (from the `runner-version` label; `unknown` without one) to runner counts. */
  readonly runnersByVersion: Readonly<
    Record<string, { readonly total: number; readonly busy: number; readonly online: number }>
  >;
  /** The runner version the fleet definition expects. */
  readonly expectedRunnerVersion: string;
  readonly drift: readonly DriftFinding[];
}

export interface CreateTemplatesInput {
  readonly version: string;
  /** Runner version to bake in; the fleet definition's when omitted. */
  readonly runnerVersion?: string;
}

export interface CreateTemplatesResult {
  readonly version: string;
  readonly created: readonly string[];
  readonly existing: readonly string[];
}

export interface DrainIdleInput {
  readonly selection: MigSelection;
  /** Report what would be drained without removing anything. */
  readonly dryRun: boolean;
}

export interface DrainIdleResult {
  readonly dryRun: boolean;
  readonly migs: readonly DrainResult[];
}

export interface SetAutoscalingInput {
  readonly selection: MigSelection;
  readonly bounds: AutoscalingBounds;
}

export interface SetAutoscalingResult {
  readonly migs: readonly {
    readonly mig: MigLocator;
    readonly before: AutoscalingBounds;
    readonly after: AutoscalingBounds;
  }[];
}
