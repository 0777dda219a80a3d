import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import {
  RUNNER_VERSION_CHECK_WORKFLOW_ID_PREFIX,
  RUNNER_VERSION_CHECK_WORKFLOW_TYPE,
  RunnerVersionCheckFailure,
  type RunnerVersionCheckInput,
  type RunnerVersionCheckResult,
} from '../../workflows/runner-version-check-contract.js';
import { resolveCheckSettings } from '../../workflows/runner-version-check-policy.js';
import type { CommandContext } from '../context.js';
import { OperationFailedError, UsageError } from '../errors.js';
import { runOperation } from '../operations.js';

export interface CheckRunnerVersionOptions {
  readonly input?: RunnerVersionCheckInput;
}

/**
 * Runs one runner-version check now, exactly as the schedule would, and prints its result. A failed check
 * (unreachable API, a retry with nothing to retry) fails the command with the check's reason; a release that
 * cannot be verified, or a rollout that stopped, is a result with an escalation.
 */
export async function checkRunnerVersion(
  ctx: CommandContext,
  options: CheckRunnerVersionOptions = {},
): Promise<RunnerVersionCheckResult> {
  const input = options.input ?? {};
  try {
    resolveCheckSettings(input);
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
  let result: RunnerVersionCheckResult;
  try {
    result = await runOperation<RunnerVersionCheckInput, RunnerVersionCheckResult>(
      ctx,
      RUNNER_VERSION_CHECK_WORKFLOW_TYPE,
      input,
      `${RUNNER_VERSION_CHECK_WORKFLOW_ID_PREFIX}-manual-${new Date().toISOString()}`,
    );
  } catch (error) {
    // The check's own failure message names the step and the activity's reason; the default mapping would keep
    // only the innermost reason.
    if (error instanceof WorkflowFailedError && error.cause !== undefined) {
      // A retry with nothing to retry is the operator's input, refused before the check changed anything.
      if (error.cause instanceof ApplicationFailure && error.cause.type === RunnerVersionCheckFailure.INVALID_INPUT) {
        throw new UsageError(error.cause.message, { cause: error });
      }
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
  const { action } = result;
  switch (action.kind) {
    case 'none':
      lines.push(`action:     none (${action.reason})`);
      break;
    case 'release-unverified':
      lines.push(
        `action:     none: release ${action.runnerVersion} cannot be verified (${action.problems.join('; ')})`,
      );
      break;
    case 'rollout-started':
      lines.push(
        `action:     ${action.retried === undefined ? 'started' : 'retried'} rollout ${action.rolloutId} of template ${result.templateVersion}`,
      );
      for (const older of action.superseded ?? []) {
        lines.push(
          `superseded: ${older.rolloutId} (runner ${older.runnerVersion}, ${older.disposition} in ${older.stage})`,
        );
      }
      break;
    case 'rollout-already-started':
      lines.push(`action:     rollout ${action.rolloutId} was already started for this release`);
      break;
    case 'rollout-stopped':
      lines.push(
        `action:     none: rollout ${action.rolloutId} ${action.stopped.outcome} at ${action.stopped.finishedAt} (${action.stopped.gate}): ${action.stopped.reason}`,
      );
      break;
    case 'waiting-for-older-rollouts':
      lines.push(
        `action:     waiting for ${action.olderRollouts.map((older) => `${older.rolloutId} (${older.disposition} in ${older.stage})`).join(', ')} to end; the next check starts ${action.rolloutId}`,
      );
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
