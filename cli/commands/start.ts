import { randomUUID } from 'node:crypto';
import { versionProblem } from '../../runner-config/naming.js';
import { selectorProblem } from '../../runner-config/selectors.js';
import type { Environment } from '../../runner-config/types.js';
import {
  PLAN_ROLLOUT_WORKFLOW_TYPE,
  ROLLOUT_WORKFLOW_TYPE,
  RolloutVersionSearchAttribute,
  MIG_SETTLE_WAIT,
  problemsToWaitOut,
  rolloutWorkflowId,
  type PreflightProblem,
  type RolloutInput,
  type RolloutPlan,
  type RolloutTiming,
} from '../../workflows/rollout-contract.js';
import { workflowUrl, type CommandContext } from '../context.js';
import { INTERVAL_RULE, RUNNERS_READY_RULE, SOAK_RULE, durationFlagProblem } from '../durations.js';
import { OperationFailedError, UsageError } from '../errors.js';
import { runOperation } from '../operations.js';
import { table } from '../output.js';

export interface StartOptions {
  readonly version: string;
  /** Only this environment; testing then prod when omitted. */
  readonly environment?: Environment;
  readonly regions: string;
  readonly groups: string;
  readonly types: string;
  readonly soak?: string;
  /** Intervals given on the command line; the worker's defaults apply to the rest. */
  readonly timing?: StartTiming;
  readonly autoApprove: boolean;
  /** Print the plan and preflight result; start nothing. */
  readonly planOnly: boolean;
  readonly allowTestingVersion: boolean;
  readonly identity: string;
}

/** The rollout intervals an operator sets when starting. */
export type StartTiming = Partial<
  Pick<
    RolloutTiming,
    'healthCheckInterval' | 'convergeInterval' | 'runnersReadyTimeout' | 'unhealthyChecksToRollBack' | 'maxConcurrency'
  >
>;

/** The duration fields of {@link StartTiming}, with their flags and rules. */
const TIMING_FLAGS = [
  ['healthCheckInterval', '--health-check-interval', INTERVAL_RULE],
  ['convergeInterval', '--converge-interval', INTERVAL_RULE],
  ['runnersReadyTimeout', '--runners-ready-timeout', RUNNERS_READY_RULE],
] as const;

export interface StartResult {
  readonly workflowId: string;
  readonly url: string;
  /** `started`: a new rollout; `attached`: this version was already rolling out; `planned`: `--plan`. */
  readonly outcome: 'started' | 'attached' | 'planned';
  readonly plan?: RolloutPlan;
}

/** Checks everything that can be checked without the server, reporting every problem at once. */
export function validateStartOptions(options: StartOptions): StartOptions {
  const problems: string[] = [];
  const badVersion = versionProblem(options.version);
  if (badVersion !== undefined) problems.push(badVersion);
  for (const [flag, selector] of [
    ['--regions', options.regions],
    ['--groups', options.groups],
    ['--types', options.types],
  ] as const) {
    const problem = selectorProblem(selector);
    if (problem !== undefined) problems.push(`${flag}: ${problem}`);
  }
  if (options.soak !== undefined) {
    const problem = durationFlagProblem('--soak', options.soak, SOAK_RULE);
    if (problem !== undefined) problems.push(problem);
  }
  for (const [field, flag, rule] of TIMING_FLAGS) {
    const value = options.timing?.[field];
    const problem = value === undefined ? undefined : durationFlagProblem(flag, value, rule);
    if (problem !== undefined) problems.push(problem);
  }
  const reachesProd = options.environment === undefined || options.environment === 'prod';
  if (badVersion === undefined && options.version.endsWith('-testing') && reachesProd && !options.allowTestingVersion) {
    problems.push(
      `version "${options.version}" is a testing version and would reach prod; use --env testing, or --allow-testing-version`,
    );
  }
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  return options;
}

export function rolloutInput(options: StartOptions): RolloutInput {
  return {
    version: options.version,
    ...(options.environment === undefined ? {} : { environments: [options.environment] }),
    regions: options.regions,
    groups: options.groups,
    types: options.types,
    ...(options.soak === undefined ? {} : { soak: options.soak }),
    ...(options.timing === undefined || Object.keys(options.timing).length === 0 ? {} : { timing: options.timing }),
    ...(options.autoApprove ? { autoApprove: true } : {}),
    ...(options.allowTestingVersion ? { allowTestingVersion: true } : {}),
    requestedBy: options.identity,
  };
}

/**
 * Plans the rollout on the worker (which holds the fleet definition and credentials), refuses to start when
 * preflight finds problems the rollout would stop for (it waits out MIGs caught mid-change itself), and starts
 * it under the id derived from project and version, so starting the same version again attaches to the running
 * rollout.
 */
export async function start(ctx: CommandContext, options: StartOptions): Promise<StartResult> {
  const input = rolloutInput(options);
  const running = await runningRolloutOf(ctx, options.version);
  if (running !== undefined && !options.planOnly) return attached(ctx, running);

  const plan = await runOperation<RolloutInput, RolloutPlan>(
    ctx,
    PLAN_ROLLOUT_WORKFLOW_TYPE,
    input,
    `plan-${options.version}-${randomUUID().slice(0, 8)}`,
  );
  const workflowId = rolloutWorkflowId(plan.project, options.version);
  const url = workflowUrl(ctx.temporal, workflowId);
  const stops = plan.problems.length > problemsToWaitOut(plan.problems).length;
  if (options.planOnly) {
    ctx.output.result({ workflowId, url, outcome: 'planned', plan }, ({ plan }) => renderPlan(plan));
    if (stops) throw preflightFailure(plan);
    return { workflowId, url, outcome: 'planned', plan };
  }
  if (stops) {
    ctx.output.result({ workflowId, url, outcome: 'refused', plan }, ({ plan }) => renderProblems(plan));
    throw preflightFailure(plan);
  }

  // The memo marks our own start request: with USE_EXISTING, a different marker means we joined another start.
  const startRequest = randomUUID();
  const handle = await ctx.client.workflow.start<(input: RolloutInput) => Promise<unknown>>(ROLLOUT_WORKFLOW_TYPE, {
    taskQueue: ctx.temporal.taskQueue,
    workflowId,
    args: [input],
    // A rollout started by someone else between our lookup and here is the same rollout: join it.
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [{ key: RolloutVersionSearchAttribute, value: options.version }],
    staticSummary: `Rollout of ${options.version} requested by ${options.identity}`,
    memo: { startRequest },
  });
  const description = await handle.describe();
  if (description.memo?.['startRequest'] !== startRequest) return attached(ctx, workflowId);
  const result: StartResult = { workflowId, url, outcome: 'started', plan };
  ctx.output.result(result, () =>
    [
      `started rollout ${workflowId}`,
      `  ${plan.migs.length} MIGs; stages: ${plan.stages.join(' -> ')}; soak ${plan.soak}`,
      ...(plan.timing === undefined ? [] : [`  ${renderTiming(plan.timing)}`]),
      ...settleLines(problemsToWaitOut(plan.problems)).map((line) => `  ${line}`),
      `  ${url}`,
      `  follow it with: rollout status ${workflowId} --watch`,
    ].join('\n'),
  );
  return result;
}

/** The running rollout of this version, found through the `RolloutVersion` search attribute. */
async function runningRolloutOf(ctx: CommandContext, version: string): Promise<string | undefined> {
  // The version was validated against the version pattern, so it cannot break out of the quoted literal.
  const query = `WorkflowType = '${ROLLOUT_WORKFLOW_TYPE}' AND ${RolloutVersionSearchAttribute.name} = '${version}' AND ExecutionStatus = 'Running'`;
  for await (const execution of ctx.client.workflow.list({ query, pageSize: 1 })) return execution.workflowId;
  return undefined;
}

function attached(ctx: CommandContext, workflowId: string): StartResult {
  const result: StartResult = { workflowId, url: workflowUrl(ctx.temporal, workflowId), outcome: 'attached' };
  ctx.output.result(result, ({ url }) =>
    [`rollout ${workflowId} of this version is already running; attached to it`, `  ${url}`].join('\n'),
  );
  return result;
}

function preflightFailure(plan: RolloutPlan): OperationFailedError {
  const count = plan.problems.length;
  return new OperationFailedError(
    `preflight found ${count} problem${count === 1 ? '' : 's'}; nothing was started (first: ${plan.problems[0]?.message ?? ''})`,
  );
}

export function renderPlan(plan: RolloutPlan): string {
  const lines = [
    `plan for ${plan.version} in ${plan.project}`,
    `  environments: ${plan.environments.join(', ')}   regions: ${plan.selection.regions}   groups: ${plan.selection.groups}   types: ${plan.selection.types}`,
    `  stages: ${plan.stages.join(' -> ')}`,
    `  soak: ${plan.soak}${plan.plannedSoakReason === undefined ? '' : ` (${plan.plannedSoakReason})`}   canary size: ${plan.canarySize}   testing autoscaling: ${plan.autoscalingWhileTesting.min}..${plan.autoscalingWhileTesting.max}`,
    ...(plan.timing === undefined ? [] : [`  ${renderTiming(plan.timing)}`]),
    '',
    table([
      ['MIG', 'ROLE', 'SIZE', 'CHANGE'],
      ...plan.migs.map((mig) => [mig.name, mig.role, String(mig.targetSize), mig.patch]),
    ]),
  ];
  for (const note of plan.notes) lines.push(`note: ${note}`);
  const settling = problemsToWaitOut(plan.problems);
  if (settling.length > 0) lines.push('', ...settleLines(settling));
  else if (plan.problems.length > 0) lines.push('', renderProblems(plan));
  return lines.join('\n');
}

function renderTiming(timing: RolloutTiming): string {
  return `health checks every ${timing.healthCheckInterval} (${timing.unhealthyChecksToRollBack} failed in a row roll back)   convergence every ${timing.convergeInterval}   runners ready within ${timing.runnersReadyTimeout}   ${timing.maxConcurrency} MIGs at a time`;
}

/** What the rollout does about MIGs caught mid-change: it waits for them instead of stopping. */
function settleLines(settling: readonly PreflightProblem[]): string[] {
  if (settling.length === 0) return [];
  return [
    `the rollout waits up to ${MIG_SETTLE_WAIT} for ${settling.length === 1 ? 'a MIG' : `${settling.length} MIGs`} caught mid-change to settle:`,
    ...settling.map((problem) => `  - ${problem.mig ?? problem.message}`),
  ];
}

function renderProblems(plan: RolloutPlan): string {
  return [
    `preflight problems (${plan.problems.length}):`,
    ...plan.problems.map((problem) => `  - ${problem.mig === undefined ? '' : `${problem.mig}: `}${problem.message}`),
  ].join('\n');
}
