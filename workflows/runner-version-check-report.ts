/**
 * What one run of the runner-version check reports: escalations recorded on the check and in the rollout they
 * concern, the memo `rollout list` reads, and the details the Web UI shows.
 */
import { getExternalWorkflowHandle, log, setCurrentDetails, upsertMemo } from '@temporalio/workflow';
import type { EscalationRequest } from './rollout-contract.js';
import { recordEscalationSignal } from './rollout-controls-contract.js';
import {
  RUNNER_VERSION_CHECK_MEMO_KEY,
  type RunnerEscalation,
  type RunnerVersionCheckMemo,
  type RunnerVersionCheckResult,
} from './runner-version-check-contract.js';
import { CHECK_IDENTITY } from './runner-version-check-rollouts.js';

/** Records the escalation on the check and, when a rollout of the release exists, in the rollout's state. */
export async function recordEscalation(
  escalation: RunnerEscalation,
  rolloutId: string | undefined,
): Promise<RunnerEscalation> {
  log.warn(escalation.message, { severity: escalation.severity, deadline: escalation.deadline });
  if (rolloutId === undefined) return escalation;
  const request: EscalationRequest = {
    source: CHECK_IDENTITY,
    severity: escalation.severity,
    message: escalation.message,
    details: {
      runnerVersion: escalation.runnerVersion,
      deadline: escalation.deadline,
      slackDays: String(escalation.slackDays),
      ...(escalation.thresholdDays === undefined ? {} : { thresholdDays: String(escalation.thresholdDays) }),
    },
  };
  try {
    await getExternalWorkflowHandle(rolloutId).signal(recordEscalationSignal, request);
  } catch (error) {
    // A finished rollout cannot take signals; the escalation stays on the check, where `rollout list` shows it.
    log.info('rollout did not take the escalation', { rolloutId, error: String(error) });
    return escalation;
  }
  return { ...escalation, rolloutId };
}

export function finish(result: RunnerVersionCheckResult): RunnerVersionCheckResult {
  const escalation = result.escalations[0];
  const memo: RunnerVersionCheckMemo = {
    converged: result.converged,
    action: result.action.kind,
    ...(result.newestRelease === null ? {} : { newestRelease: result.newestRelease.version }),
    ...(result.deadline === undefined ? {} : { deadline: result.deadline }),
    ...(result.slackDays === undefined ? {} : { slackDays: result.slackDays }),
    ...('rolloutId' in result.action ? { rolloutId: result.action.rolloutId } : {}),
    ...(result.soakPlan === undefined ? {} : { soakPlan: result.soakPlan.kind }),
    ...(escalation === undefined ? {} : { escalation: `${escalation.severity}: ${escalation.message}` }),
  };
  upsertMemo({ [RUNNER_VERSION_CHECK_MEMO_KEY]: memo });
  setCurrentDetails(describeResult(result));
  return result;
}

function describeResult(result: RunnerVersionCheckResult): string {
  const lines = [`**Runner version check** at ${result.checkedAt}`];
  const { action } = result;
  if (result.newestRelease !== null) {
    lines.push(
      `Newest release ${result.newestRelease.version}, deadline ${result.deadline} (${result.slackDays} days left), converged: ${result.converged}.`,
    );
  } else if (action.kind === 'release-unverified') {
    lines.push(`Release ${action.runnerVersion} cannot be verified: ${action.problems.join('; ')}.`);
  } else {
    lines.push(`Fleet is current (${result.fleet.oldest}).`);
  }
  if ('rolloutId' in action) lines.push(`Rollout: ${action.rolloutId} (${action.kind}).`);
  if (result.soakPlan !== undefined)
    lines.push(`Soak ${result.soakPlan.soak} (${result.soakPlan.kind}): ${result.soakPlan.reason}.`);
  for (const escalation of result.escalations) lines.push(`Escalation (${escalation.severity}): ${escalation.message}`);
  return lines.join('\n\n');
}
