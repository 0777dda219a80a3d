import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadTemporalConfig } from '../../config/temporal.js';
import {
  OPERATION_WORKFLOWS,
  operationWorkflowId,
  type FleetInventory,
  type FleetInventoryInput,
} from '../../workflows/operations-contract.js';
import {
  PLAN_ROLLOUT_WORKFLOW_TYPE,
  ROLLOUT_WORKFLOW_TYPE,
  RolloutVersionSearchAttribute,
  problemsToWaitOut,
  rolloutWorkflowId,
  statusQuery,
  type RolloutInput,
  type RolloutPlan,
  type RolloutResult,
  type RolloutState,
} from '../../workflows/rollout-contract.js';
import { approveUpdate } from '../../workflows/rollout-controls-contract.js';
import { connectClient, workflowUrl, type CommandContext } from '../context.js';
import { OperationFailedError } from '../errors.js';
import { runOperation } from '../operations.js';
import type { Output } from '../output.js';
import { startStack } from '../stack.js';
import { createTemplates } from './templates.js';
import { renderStatus } from './status.js';

export interface DemoOptions {
  /** Leave the promote gate for a person (Web UI or `rollout approve`) instead of approving it automatically. */
  readonly pauseForApproval: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
}

export interface DemoSummary {
  readonly workflowId: string;
  readonly version: string;
  readonly outcome: RolloutResult['outcome'];
  readonly seconds: number;
  readonly counts: RolloutResult['counts'];
  readonly approvals: RolloutResult['approvals'];
  /** MIGs whose instances all run the new version, out of all MIGs. */
  readonly migsOnNewVersion: number;
  readonly migs: number;
}

const DEMO_TASK_QUEUE = 'runner-rollout-demo';
/** Simulated seconds per real second: VMs boot and register in about two seconds, jobs last under a minute. */
const DEMO_SPEED = 60;
const REQUESTED_BY = 'rollout demo';

/**
 * Days of waiting compressed into minutes: the real workflow with short soak and check intervals, the real
 * activities against the simulator.
 */
const DEMO_TIMING = {
  healthCheckInterval: '5 seconds',
  runnersReadyTimeout: '5 minutes',
  convergeInterval: '5 seconds',
  approvalReminderInterval: '10 minutes',
  migWorkerLivenessInterval: '1 minute',
} as const;

/** Runs a whole rollout of a new version on a private local stack and checks every MIG ended up on it. */
export async function demo(output: Output, options: DemoOptions): Promise<DemoSummary> {
  const started = Date.now();
  const stack = await startStack(output, {
    port: 0,
    simPort: 0,
    speed: DEMO_SPEED,
    taskQueue: DEMO_TASK_QUEUE,
    env: options.env,
  });
  try {
    const temporal = loadTemporalConfig({
      TEMPORAL_ADDRESS: stack.temporalAddress,
      TEMPORAL_UI_URL: stack.uiUrl,
      ROLLOUT_TASK_QUEUE: DEMO_TASK_QUEUE,
    });
    const { client, close } = await connectClient(temporal);
    try {
      const ctx: CommandContext = { client, temporal, output, signal: options.signal };
      // A fresh version each run: 10 hex digits stand in for the config commit, `dmo` marks it as a demo.
      const version = `${randomBytes(5).toString('hex')}-dmo`;
      await createTemplates(ctx, { version });
      const result = await runRollout(ctx, version, options);
      const inventory = await runOperation<FleetInventoryInput, FleetInventory>(
        ctx,
        OPERATION_WORKFLOWS.fleetInventory,
        {},
        operationWorkflowId('fleet', version),
      );
      const onNewVersion = inventory.migs.filter((mig) => isOnVersion(mig, version)).length;
      const summary: DemoSummary = {
        workflowId: result.workflowId,
        version,
        outcome: result.outcome,
        seconds: Math.round((Date.now() - started) / 1000),
        counts: result.counts,
        approvals: result.approvals,
        migsOnNewVersion: onNewVersion,
        migs: inventory.migs.length,
      };
      output.result(summary, renderSummary);
      if (result.outcome !== 'completed' || onNewVersion !== inventory.migs.length) {
        throw new OperationFailedError(
          `the demo rollout ended ${result.outcome} with ${onNewVersion} of ${inventory.migs.length} MIGs on ${version}`,
        );
      }
      return summary;
    } finally {
      await close();
    }
  } finally {
    await stack.stop();
  }
}

async function runRollout(ctx: CommandContext, version: string, options: DemoOptions): Promise<RolloutResult> {
  const input: RolloutInput = {
    version,
    requestedBy: REQUESTED_BY,
    soak: '20 seconds',
    plannedSoakReason: 'demo: days of soak compressed into seconds',
    autoApprove: !options.pauseForApproval,
    timing: DEMO_TIMING,
  };
  const plan = await runOperation<RolloutInput, RolloutPlan>(ctx, PLAN_ROLLOUT_WORKFLOW_TYPE, input, `plan-${version}`);
  // The rollout waits for MIGs caught mid-change itself (busy MIGs churn VMs); any other problem stops the demo.
  if (plan.problems.length > problemsToWaitOut(plan.problems).length) {
    throw new OperationFailedError(`preflight failed: ${plan.problems.map((problem) => problem.message).join('; ')}`);
  }
  const handle = await ctx.client.workflow.start<(input: RolloutInput) => Promise<RolloutResult>>(
    ROLLOUT_WORKFLOW_TYPE,
    {
      taskQueue: ctx.temporal.taskQueue,
      workflowId: rolloutWorkflowId(plan.project, version),
      args: [input],
      typedSearchAttributes: [{ key: RolloutVersionSearchAttribute, value: version }],
      staticSummary: `Demo rollout of ${version}`,
    },
  );
  const url = workflowUrl(ctx.temporal, handle.workflowId);
  ctx.output.event('started', { workflowId: handle.workflowId, url }, `started rollout ${handle.workflowId}\n  ${url}`);
  let announcedGate = false;
  // Polls instead of awaiting the result: a pending long poll would outlive the connection on Ctrl-C.
  while ((await handle.describe()).status.name === 'RUNNING') {
    if (ctx.signal.aborted) {
      throw new OperationFailedError(`interrupted; rollout ${handle.workflowId} stops with the demo's server`);
    }
    const state = await handle.query(statusQuery).catch(() => undefined);
    if (state !== undefined) {
      ctx.output.live({ workflowId: handle.workflowId, execution: 'RUNNING', url, state }, (status) =>
        renderStatus(status, ctx.output.interactive),
      );
      if (options.pauseForApproval && state.gate?.kind === 'test-approval') {
        // Only the promote gate is left to a person; the test gate is passed here so the demo moves on.
        await handle.executeUpdate(approveUpdate, {
          args: [{ stage: 'test', identity: REQUESTED_BY, reason: 'demo: testing MIGs came up healthy' }],
        });
      } else if (!announcedGate && state.gate?.kind === 'promote-approval') {
        announcedGate = true;
        announcePromoteGate(ctx, state, url);
      }
    }
    await sleep(1000, undefined, { signal: ctx.signal }).catch(() => undefined);
  }
  return handle.result();
}

function announcePromoteGate(ctx: CommandContext, state: RolloutState, url: string): void {
  ctx.output.event(
    'waiting-for-approval',
    { workflowId: state.workflowId, url },
    [
      'the rollout waits for your approval to promote the canaries:',
      `  Web UI: open ${url}, choose "Send an Update", name "approve", input {"stage":"promote","identity":"<you>","reason":"looks good"}`,
      `  or CLI: TEMPORAL_ADDRESS=${ctx.temporal.address} ROLLOUT_TASK_QUEUE=${ctx.temporal.taskQueue} rollout approve ${state.workflowId} --stage promote`,
    ].join('\n'),
  );
}

function isOnVersion(mig: FleetInventory['migs'][number], version: string): boolean {
  const onlyVersion = mig.versions.length === 1 && mig.versions[0]?.version === version;
  const template = mig.versions[0]?.template;
  const strays = Object.entries(mig.instancesByTemplate).some(([name, count]) => count > 0 && name !== template);
  return onlyVersion && !strays;
}

function renderSummary(summary: DemoSummary): string {
  const { counts } = summary;
  return [
    `demo rollout ${summary.outcome} in ${summary.seconds}s: ${summary.migsOnNewVersion} of ${summary.migs} MIGs run ${summary.version}`,
    `  ${counts.canaried} canaried, ${counts.promoted} promoted, ${counts.directUpdated} updated directly, ${counts.converged} converged; ${counts.runnersDrained} idle runners drained`,
    ...summary.approvals.map((approval) => `  ${approval.stage} approved by ${approval.identity}: ${approval.reason}`),
    `  workflow ${summary.workflowId}`,
  ].join('\n');
}
