import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import {
  ROLLOUT_WORKFLOW_TYPE,
  statusQuery,
  type RolloutResult,
  type RolloutState,
} from '../../workflows/rollout-contract.js';
import { lanesPastSlots } from '../../workflows/rollout-plan.js';
import { workflowUrl, type CommandContext } from '../context.js';
import { NotFoundError, failureMessage } from '../errors.js';
import { requireWorker } from '../operations.js';
import { progress, table } from '../output.js';
import { ReceivedControls, type ReceivedControl } from '../received-controls.js';

export interface StatusOptions {
  /** A rollout workflow id; every running rollout when omitted. */
  readonly id?: string;
  /** Redraw until the rollout finishes (or Ctrl-C). */
  readonly watch: boolean;
  /** Seconds between refreshes with `watch`. */
  readonly intervalSeconds?: number;
}

/** A rollout as the CLI shows it: the live state while it runs, the result once it has finished. */
export interface RolloutStatus {
  readonly workflowId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, TERMINATED, … */
  readonly execution: string;
  readonly url: string;
  readonly state?: RolloutState;
  readonly result?: RolloutResult;
  /** Why the workflow itself failed or was terminated (not a rollout outcome). */
  readonly failure?: string;
  /**
   * Every update and signal the rollout received: the identity claimed and the one Temporal recorded (read from
   * the history by `status`; the demo's live view leaves them out).
   */
  readonly controls?: readonly ReceivedControl[];
}

export async function status(ctx: CommandContext, options: StatusOptions): Promise<RolloutStatus[]> {
  const interval = (options.intervalSeconds ?? 2) * 1000;
  const received = new ReceivedControls((workflowId, runId) =>
    ctx.client.workflow.getHandle(workflowId, runId).fetchHistory(),
  );
  for (;;) {
    const ids = options.id === undefined ? await runningRollouts(ctx) : [options.id];
    const statuses = await Promise.all(ids.map((id) => rolloutStatus(ctx, id, received)));
    const render = (all: RolloutStatus[]): string =>
      all.length === 0
        ? 'no rollout is running'
        : all.map((one) => renderStatus(one, ctx.output.interactive)).join('\n\n');
    if (options.watch) ctx.output.live(statuses, render);
    else ctx.output.result(statuses, render);
    const finished = statuses.every((one) => one.execution !== 'RUNNING');
    if (!options.watch || finished || ctx.signal.aborted) return statuses;
    await sleep(interval, undefined, { signal: ctx.signal }).catch(() => undefined);
    if (ctx.signal.aborted) return statuses;
  }
}

async function rolloutStatus(
  ctx: CommandContext,
  workflowId: string,
  received: ReceivedControls,
): Promise<RolloutStatus> {
  const handle = ctx.client.workflow.getHandle(workflowId);
  const description = await handle.describe();
  assertRollout(workflowId, description);
  const base = {
    workflowId,
    execution: description.status.name,
    url: workflowUrl(ctx.temporal, workflowId),
    controls: await received.of(workflowId),
  };
  if (description.status.name === 'RUNNING') {
    await requireWorker(ctx);
    return { ...base, state: await handle.query(statusQuery) };
  }
  if (description.status.name === 'COMPLETED') return { ...base, result: (await handle.result()) as RolloutResult };
  const failure = await handle.result().then(
    () => undefined,
    (error: unknown) => failureMessage(error) ?? String(error),
  );
  return { ...base, ...(failure === undefined ? {} : { failure }) };
}

export function assertRollout(workflowId: string, description: WorkflowExecutionDescription): void {
  if (description.type !== ROLLOUT_WORKFLOW_TYPE) {
    throw new NotFoundError(`"${workflowId}" is a ${description.type} workflow, not a rollout`);
  }
}

async function runningRollouts(ctx: CommandContext): Promise<string[]> {
  const ids: string[] = [];
  const query = `WorkflowType = '${ROLLOUT_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`;
  for await (const execution of ctx.client.workflow.list({ query })) ids.push(execution.workflowId);
  return ids;
}

export function renderStatus(status: RolloutStatus, interactive: boolean): string {
  if (status.state !== undefined) return renderState(status, status.state, interactive);
  if (status.result !== undefined) return renderResult(status, status.result);
  return [
    `${status.workflowId}: ${status.execution.toLowerCase()}${status.failure === undefined ? '' : `: ${status.failure}`}`,
    ...renderControls(status.controls ?? []),
  ].join('\n');
}

/** The claimed identity beside the one Temporal recorded: only the second is vouched for by the server. */
function renderControls(controls: readonly ReceivedControl[]): string[] {
  if (controls.length === 0) return [];
  return [
    '  controls received (identity claimed, then the client identity Temporal recorded):',
    table(
      controls.map((control) => [
        `    ${control.at}`,
        `${control.name}${control.stage === undefined ? '' : ` ${control.stage}`}`,
        control.kind,
        control.claimedIdentity ?? '(none)',
        control.temporalIdentity === '' ? '(none recorded)' : control.temporalIdentity,
      ]),
    ),
  ];
}

function renderState(status: RolloutStatus, state: RolloutState, interactive: boolean): string {
  const lines = [`${state.workflowId}  version ${state.version}  stage ${state.stage}  (by ${state.requestedBy})`];
  if (state.gate !== undefined) {
    const stage = state.gate.kind === 'test-approval' ? 'test' : 'promote';
    lines.push(`  waiting: ${state.gate.waitsFor} since ${state.gate.since}`);
    lines.push(`  approve: rollout approve ${state.workflowId} --stage ${stage}`);
  }
  if (state.pause !== undefined) lines.push(`  paused by ${state.pause.identity}: ${state.pause.reason}`);
  if (state.stop !== undefined)
    lines.push(`  stopping (${state.stop.kind}) by ${state.stop.identity}: ${state.stop.reason}`);
  if (state.soak !== undefined && state.stage === 'soak')
    lines.push(`  soak ${state.soak.duration} until ${state.soak.endsAt}`);
  const lanes = state.plan === undefined ? undefined : lanesPastSlots(state.plan);
  if (lanes !== undefined) lines.push(`  note: ${lanes}`);
  const { counts } = state;
  lines.push(
    `  instances new ${progress(counts.instancesNew, counts.instancesNew + counts.instancesOld, interactive)}   runners new ${counts.runnersNew}, old ${counts.runnersOld}`,
  );
  if (state.migs.length > 0) {
    lines.push(
      table(
        state.migs.map((mig) => [
          `  ${mig.name}`,
          mig.role,
          mig.phase,
          progress(mig.instancesNew, mig.instancesNew + mig.instancesOld, interactive),
          mig.problem ?? (mig.health?.healthy === false ? mig.health.problems.join('; ') : ''),
        ]),
      ),
    );
  }
  for (const escalation of state.escalations)
    lines.push(`  ${escalation.severity.toUpperCase()}: ${escalation.message}`);
  for (const problem of state.problems) lines.push(`  problem: ${problem.mig ?? ''} ${problem.message}`.trimEnd());
  const latest = state.timeline.at(-1);
  if (latest !== undefined) lines.push(`  latest: ${latest.at} ${latest.message}`);
  lines.push(...renderControls(status.controls ?? []), `  ${status.url}`);
  return lines.join('\n');
}

function renderResult(status: RolloutStatus, result: RolloutResult): string {
  const { counts } = result;
  const lines = [
    `${result.workflowId}  version ${result.version}  ${result.outcome}  (${result.startedAt} -> ${result.finishedAt})`,
    `  ${counts.migs} MIGs: ${counts.promoted} promoted, ${counts.directUpdated} updated directly, ${counts.converged} converged, ${counts.rolledBack} rolled back; ${counts.runnersDrained} runners drained`,
  ];
  for (const approval of result.approvals) {
    lines.push(
      `  ${approval.stage} approved by ${approval.identity} at ${approval.at}${approval.reason ? `: ${approval.reason}` : ''}`,
    );
  }
  for (const evidence of result.evidence) lines.push(`  evidence: ${evidence}`);
  lines.push(...renderControls(status.controls ?? []), `  ${status.url}`);
  return lines.join('\n');
}
