import { WorkflowFailedError } from '@temporalio/client';
import {
  RUNNER_VERSION_CHECK_WORKFLOW_ID_PREFIX,
  RUNNER_VERSION_CHECK_WORKFLOW_TYPE,
  type RunnerVersionCheckInput,
  type RunnerVersionCheckResult,
} from '../../workflows/runner-version-check-contract.js';
import type { CommandContext } from '../context.js';
import { OperationFailedError } from '../errors.js';
import { runOperation } from '../operations.js';

export interface CheckRunnerVersionOptions {
  readonly input?: RunnerVersionCheckInput;
}

/**
 * Runs one runner-version check now, exactly as the schedule would, and prints its result. A failed check
 * (digest mismatch, release without digests, unreachable API) fails the command with the check's reason.
 */
export async function checkRunnerVersion(
  ctx: CommandContext,
  options: CheckRunnerVersionOptions = {},
): Promise<RunnerVersionCheckResult> {
  let result: RunnerVersionCheckResult;
  try {
    result = await runOperation<RunnerVersionCheckInput, RunnerVersionCheckResult>(
      ctx,
      RUNNER_VERSION_CHECK_WORKFLOW_TYPE,
      options.input ?? {},
      `${RUNNER_VERSION_CHECK_WORKFLOW_ID_PREFIX}-manual-${new Date().toISOString()}`,
    );
  } catch (error) {
    // The check's own failure message names the step and the activity's reason; the default mapping would keep
    // only the innermost reason.
    if (error instanceof WorkflowFailedError && error.cause !== undefined) {
      throw new OperationFailedError(error.cause.message, { cause: error });
    }
    throw error;
  }
  ctx.output.result(result, describeCheck);
  return result;
}

export function describeCheck(result: RunnerVersionCheckResult): string {
  const { fleet } = result;
  const runners = Object.entries(fleet.runners).map(([version, count]) => `${version} ×${count}`);
  if (fleet.runnersWithoutVersion > 0) runners.push(`${fleet.runnersWithoutVersion} without a runner-version label`);
  const lines = [
    `fleet:      definition ${fleet.definition}; runners ${runners.length === 0 ? 'none registered' : runners.join(', ')}`,
  ];
  const release = result.newestRelease;
  if (release === null) {
    lines.push(`release:    none newer than ${fleet.oldest}`);
  } else {
    lines.push(
      `release:    ${release.version}${release.securityRelease ? ' (security release)' : ''}, published ${release.publishedAt}`,
      `deadline:   ${result.deadline} (${result.slackDays} days left); converged: ${result.converged ? 'yes' : 'no'}`,
    );
  }
  switch (result.action.kind) {
    case 'none':
      lines.push(`action:     none (${result.action.reason})`);
      break;
    case 'rollout-started':
      lines.push(`action:     started rollout ${result.action.rolloutId} of template ${result.templateVersion}`);
      break;
    case 'rollout-already-started':
      lines.push(`action:     rollout ${result.action.rolloutId} was already started for this release`);
      break;
  }
  if (result.soakPlan !== undefined) {
    lines.push(`soak:       ${result.soakPlan.soak} (${result.soakPlan.kind}): ${result.soakPlan.reason}`);
  }
  for (const escalation of result.escalations) {
    lines.push(`ESCALATION: ${escalation.severity}: ${escalation.message}`);
  }
  return lines.join('\n');
}
