/**
 * The runner-version check's rollouts: what became of the rollout of the target release (running, finished, or
 * stopped and waiting for a person's retry), superseding the rollouts of older releases, and the start itself.
 */
import {
  ApplicationFailure,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  getExternalWorkflowHandle,
  log,
  sleep,
  startChild,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { RolloutRecord } from '../activities/contract.js';
import { durationMs } from './durations.js';
import { ROLLOUT_WORKFLOW_TYPE, RolloutVersionSearchAttribute, type RolloutInput } from './rollout-contract.js';
import { abortSignal } from './rollout-controls-contract.js';
import {
  OLDER_ROLLOUT_POLL_INTERVAL,
  RunnerVersionCheckFailure,
  type OlderRollout,
  type ReleaseSummary,
  type RunnerVersionCheckAction,
  type SoakPlan,
  type StoppedRollout,
} from './runner-version-check-contract.js';

export const CHECK_IDENTITY = 'runner-version-check';

export interface RolloutTarget {
  readonly rolloutId: string;
  readonly runnerVersion: string;
  readonly templateVersion: string;
  readonly archiveDigests: ReleaseSummary['archiveDigests'];
  readonly soakPlan: SoakPlan;
  readonly rolloutInput: RolloutInput;
}

/** What the check does about the target's rollout, before anything is created. */
export type TargetDecision =
  | { readonly kind: 'start'; readonly retried?: StoppedRollout }
  | { readonly kind: 'already-started' }
  | { readonly kind: 'stopped'; readonly stopped: StoppedRollout };

/**
 * A rollout of the release that completed without promoting is never restarted by itself; `retryRollout` naming
 * the release starts a fresh run. A retry that names anything else is refused before anything changes.
 */
export function decideTarget(
  record: RolloutRecord | undefined,
  runnerVersion: string,
  retryRollout: string | undefined,
): TargetDecision {
  const stopped = record?.status === 'completed' ? record.stopped : undefined;
  if (retryRollout !== undefined) {
    const problem =
      retryRollout !== runnerVersion
        ? `the release to roll out is ${runnerVersion}, not ${retryRollout}`
        : stopped === undefined
          ? `the rollout of ${runnerVersion} has not rolled back or been aborted (${describeRecord(record)})`
          : undefined;
    if (problem !== undefined) {
      throw ApplicationFailure.create({
        type: RunnerVersionCheckFailure.INVALID_INPUT,
        message: `retryRollout ${retryRollout}: nothing to retry: ${problem}; nothing was started`,
        nonRetryable: true,
      });
    }
    return { kind: 'start', ...(stopped === undefined ? {} : { retried: stopped }) };
  }
  if (stopped !== undefined) return { kind: 'stopped', stopped };
  if (record?.status === 'running' || record?.status === 'completed') return { kind: 'already-started' };
  return { kind: 'start' };
}

function describeRecord(record: RolloutRecord | undefined): string {
  switch (record?.status) {
    case undefined:
    case 'not-found':
      return 'it was never started';
    case 'running':
      return `it is running, in ${record.stage}`;
    case 'completed':
      return 'it completed';
    case 'closed':
      return `its last run ${record.closedAs}, so the check starts it again anyway`;
  }
}

/**
 * Rollouts of older releases still running: one that has promoted nothing is aborted (the newer rollout replaces
 * it, with the soak planned from the same, oldest deadline); one whose promotion has started finishes, as it
 * already moves the fleet off the oldest version. Then waits, a bounded time, for all of them to end.
 */
export async function endOlderRollouts(
  records: readonly RolloutRecord[],
  versionOf: (rolloutId: string) => string,
  target: RolloutTarget,
  describe: (workflowIds: readonly string[]) => Promise<RolloutRecord[]>,
  waitMs: number,
): Promise<{ readonly ended: OlderRollout[]; readonly running: OlderRollout[] }> {
  const older: OlderRollout[] = [];
  for (const record of records) {
    if (record.status !== 'running') continue;
    const disposition = record.promotionStarted ? 'finishing' : 'superseded';
    older.push({
      rolloutId: record.workflowId,
      runnerVersion: versionOf(record.workflowId),
      stage: record.stage,
      disposition,
    });
    if (disposition === 'finishing' || record.stopping) continue;
    await abortOlder(record.workflowId, target);
  }
  let running = older;
  const pollMs = durationMs(OLDER_ROLLOUT_POLL_INTERVAL, 'poll interval');
  for (let waited = 0; running.length > 0 && waited < waitMs; waited += pollMs) {
    await sleep(Math.min(pollMs, waitMs - waited));
    const still = new Set(
      (await describe(running.map((rollout) => rollout.rolloutId)))
        .filter((record) => record.status === 'running')
        .map((record) => record.workflowId),
    );
    running = running.filter((rollout) => still.has(rollout.rolloutId));
  }
  const stillRunning = new Set(running.map((rollout) => rollout.rolloutId));
  return { ended: older.filter((rollout) => !stillRunning.has(rollout.rolloutId)), running };
}

async function abortOlder(rolloutId: string, target: RolloutTarget): Promise<void> {
  try {
    await getExternalWorkflowHandle(rolloutId).signal(abortSignal, {
      identity: CHECK_IDENTITY,
      reason: `superseded by runner ${target.runnerVersion}: rollout ${target.rolloutId} replaces this one`,
    });
    log.info('aborted the rollout of an older runner release', { rolloutId, supersededBy: target.rolloutId });
  } catch (error) {
    // It ended between the read and the signal: nothing is left to abort.
    log.info('older rollout did not take the abort', { rolloutId, error: String(error) });
  }
}

/** Starts the rollout under the release's id; a run that rolled back or was aborted is followed by a fresh one. */
export async function startRollout(
  target: RolloutTarget,
  details: { readonly superseded: readonly OlderRollout[]; readonly retried?: StoppedRollout },
): Promise<Extract<RunnerVersionCheckAction, { kind: 'rollout-started' | 'rollout-already-started' }>> {
  const { rolloutId, templateVersion, soakPlan } = target;
  try {
    await startChild(ROLLOUT_WORKFLOW_TYPE, {
      workflowId: rolloutId,
      args: [target.rolloutInput],
      // The rollout outlives this check by days; the check only launches it.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      // A finished rollout of this release is never repeated unless a person retries it; one that failed may be.
      workflowIdReusePolicy:
        details.retried === undefined
          ? WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
          : WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      // As `rollout start` does: `rollout list`/`start` find rollouts by version, and the rollout keeps its
      // stage search attributes current only when started with this one.
      typedSearchAttributes: [{ key: RolloutVersionSearchAttribute, value: templateVersion }],
      staticSummary: `runner ${target.runnerVersion} → template ${templateVersion} (soak ${soakPlan.soak}, ${soakPlan.kind})`,
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    log.info('rollout of this runner release already started', { rolloutId, runnerVersion: target.runnerVersion });
    return { kind: 'rollout-already-started', rolloutId };
  }
  log.info('started the rollout of a runner release', { rolloutId, templateVersion, soak: soakPlan.soak });
  return {
    kind: 'rollout-started',
    rolloutId,
    ...(details.superseded.length === 0 ? {} : { superseded: details.superseded }),
    ...(details.retried === undefined ? {} : { retried: details.retried }),
  };
}
