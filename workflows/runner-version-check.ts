/**
 * The scheduled runner-version check: finds the newest GitHub runner release the fleet is behind, verifies its
 * archives, creates the templates for it and starts (once per release) a rollout whose soak fits GitHub's 30-day
 * deadline, and escalates while the deadline approaches and the fleet has not converged.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setCurrentDetails,
  startChild,
  upsertMemo,
  type ActivityOptions,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { RolloutActivities, RunnerReleaseInfo } from '../activities/types.js';
import { compareRunnerVersions } from '../runner-config/runner-versions.js';
import type { FleetDefinition } from '../runner-config/types.js';
import { NON_RETRYABLE_FAILURE_TYPES } from './activity-failure-types.js';
import { readOptions } from './activity-options.js';
import {
  ROLLOUT_WORKFLOW_TYPE,
  RolloutVersionSearchAttribute,
  recordEscalationSignal,
  type EscalationRequest,
  type RolloutInput,
} from './rollout-contract.js';
import {
  RUNNER_PLATFORMS,
  RUNNER_VERSION_CHECK_MEMO_KEY,
  RunnerVersionCheckFailure,
  runnerRolloutWorkflowId,
  type ReleaseSummary,
  type RunnerEscalation,
  type RunnerVersionCheckAction,
  type RunnerVersionCheckInput,
  type RunnerVersionCheckMemo,
  type RunnerVersionCheckResult,
  type SoakPlan,
} from './runner-version-check-contract.js';
import {
  deadlineOf,
  escalationFor,
  isConverged,
  pinnedConfigRef,
  planSoak,
  resolveCheckSettings,
  runnerTemplateVersion,
  slackDays,
  summariseFleetVersions,
  type ResolvedCheckSettings,
} from './runner-version-check-policy.js';

const { loadFleet, listRunners, latestRunnerRelease } = proxyActivities<RolloutActivities>(readOptions);

/**
 * Streaming a runner archive (~200 MB) takes minutes; the activity heartbeats per chunk, so a stalled download
 * is retried after a minute. Few attempts: a check that cannot download fails and the next scheduled run retries.
 */
const { verifyRunnerArchive } = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', maximumAttempts: 3, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES] },
});

/** One insert and a global operation wait per template of the version (8 by default); idempotent, so retried. */
const templateOptions: ActivityOptions = {
  startToCloseTimeout: '20 minutes',
  heartbeatTimeout: '2 minutes',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 12,
    nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES],
  },
};
const { createTemplates } = proxyActivities<RolloutActivities>(templateOptions);

const ESCALATION_SOURCE = 'runner-version-check';

/** One run of the check; fails (starting nothing) when the release cannot be fetched or verified. */
export async function runnerVersionCheck(input: RunnerVersionCheckInput = {}): Promise<RunnerVersionCheckResult> {
  const settings = settingsOrFail(input);
  const nowMs = Date.now();
  const checkedAt = new Date(nowMs).toISOString();

  const fleetDefinition = await step('loading the fleet definition', () => loadFleet());
  const runners = await step('listing registered runners', () =>
    listRunners({ namePrefix: fleetDefinition.namePrefix }),
  );
  const fleet = summariseFleetVersions({
    definitionVersion: fleetDefinition.runner.version,
    runnerVersions: runners.map((runner) => runner.runnerVersion),
  });
  const release = await step('fetching the newest runner release', () =>
    latestRunnerRelease({ newerThan: fleet.oldest }),
  );

  if (release === null || compareRunnerVersions(release.version, fleet.oldest) <= 0) {
    const result: RunnerVersionCheckResult = {
      checkedAt,
      fleet,
      newestRelease: null,
      converged: true,
      action: { kind: 'none', reason: `no runner release is newer than ${fleet.oldest}` },
      escalations: [],
    };
    return finish(result);
  }

  // Newer than the oldest version in the fleet: behind, so the templates and the rollout are due.
  const deadlineMs = deadlineOrFail(release);
  const newestRelease = await verifiedRelease(release);
  const converged = isConverged(fleet, release.version);
  const configRef = orFail(RunnerVersionCheckFailure.CHECK_FAILED, () =>
    pinnedConfigRef(
      fleetDefinition.github.configRef,
      runners.map((runner) => runner.configRef),
    ),
  );
  const rollout = await startRunnerRollout(fleetDefinition, configRef, newestRelease, { nowMs, deadlineMs }, settings);

  const escalation = escalationFor({
    nowMs,
    deadlineMs,
    converged,
    securityRelease: release.securityRelease,
    runnerVersion: release.version,
    thresholdsDays: settings.escalationThresholdsDays,
  });
  return finish({
    checkedAt,
    fleet,
    newestRelease,
    deadline: new Date(deadlineMs).toISOString(),
    slackDays: slackDays(nowMs, deadlineMs),
    converged,
    templateVersion: rollout.templateVersion,
    soakPlan: rollout.soakPlan,
    action: rollout.action,
    escalations: escalation === undefined ? [] : [await recordEscalation(escalation, rollout.action.rolloutId)],
  });
}

interface RunnerRollout {
  readonly templateVersion: string;
  readonly soakPlan: SoakPlan;
  readonly action: Exclude<RunnerVersionCheckAction, { kind: 'none' }>;
}

/** Templates for the new runner, then the rollout, under an id only this release can have. */
async function startRunnerRollout(
  fleet: FleetDefinition,
  configRef: string,
  release: ReleaseSummary,
  { nowMs, deadlineMs }: { nowMs: number; deadlineMs: number },
  settings: ResolvedCheckSettings,
): Promise<RunnerRollout> {
  const templateVersion = orFail(RunnerVersionCheckFailure.CHECK_FAILED, () =>
    runnerTemplateVersion(configRef, release.version),
  );
  await step(`creating the templates of ${templateVersion}`, () =>
    createTemplates({
      version: templateVersion,
      runnerVersion: release.version,
      archiveDigests: release.archiveDigests,
    }),
  );
  const soakPlan = planSoak({
    nowMs,
    deadlineMs,
    defaultSoak: settings.defaultSoak ?? fleet.rollout.defaultSoak,
    securityRelease: release.securityRelease,
    settings,
  });
  const rolloutInput: RolloutInput = {
    version: templateVersion,
    soak: soakPlan.soak,
    ...(soakPlan.kind === 'default' ? {} : { plannedSoakReason: soakPlan.reason }),
    autoApprove: settings.autoApprove,
    autoPromote: settings.autoPromote,
    requestedBy: settings.requestedBy,
  };
  const rolloutId = runnerRolloutWorkflowId(fleet.project, release.version);
  try {
    await startChild(ROLLOUT_WORKFLOW_TYPE, {
      workflowId: rolloutId,
      args: [rolloutInput],
      // The rollout outlives this check by days; the check only launches it.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      // A finished rollout of this release is never repeated; one that failed may be started again.
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      // As `rollout start` does: `rollout list`/`start` find rollouts by version, and the rollout keeps its
      // stage search attributes current only when started with this one.
      typedSearchAttributes: [{ key: RolloutVersionSearchAttribute, value: templateVersion }],
      staticSummary: `runner ${release.version} → template ${templateVersion} (soak ${soakPlan.soak}, ${soakPlan.kind})`,
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    log.info('rollout of this runner release already started', { rolloutId, runnerVersion: release.version });
    return { templateVersion, soakPlan, action: { kind: 'rollout-already-started', rolloutId } };
  }
  log.info('started the rollout of a runner release', { rolloutId, templateVersion, soak: soakPlan.soak });
  return { templateVersion, soakPlan, action: { kind: 'rollout-started', rolloutId } };
}

/** Checks the release names every platform the templates need, then verifies each archive by streaming it. */
async function verifiedRelease(release: RunnerReleaseInfo): Promise<ReleaseSummary> {
  const problems: string[] = [];
  const archives = Object.entries(RUNNER_PLATFORMS).map(([arch, platform]) => {
    const sha256 = release.digests[platform];
    const url = release.assets[platform];
    if (sha256 === undefined) problems.push(`no "BEGIN SHA ${platform}" digest in the release notes`);
    if (url === undefined) problems.push(`no ${platform} archive among the release assets`);
    return { arch, platform, sha256: sha256 ?? '', url: url ?? '' };
  });
  if (problems.length > 0) {
    throw ApplicationFailure.create({
      type: RunnerVersionCheckFailure.RELEASE_INCOMPLETE,
      message: `runner release ${release.version} cannot be used: ${problems.join('; ')}; nothing was started`,
      nonRetryable: true,
    });
  }
  await Promise.all(
    archives.map(({ platform, sha256, url }) =>
      step(`verifying the ${platform} archive of ${release.version}`, () => verifyRunnerArchive({ url, sha256 })),
    ),
  );
  return {
    version: release.version,
    publishedAt: release.publishedAt,
    securityRelease: release.securityRelease,
    archiveDigests: Object.fromEntries(
      archives.map(({ arch, sha256 }) => [arch, sha256]),
    ) as ReleaseSummary['archiveDigests'],
  };
}

/** Records the escalation on the check and, when a rollout of the release exists, in the rollout's state. */
async function recordEscalation(
  escalation: RunnerEscalation,
  rolloutId: string | undefined,
): Promise<RunnerEscalation> {
  log.warn(escalation.message, { severity: escalation.severity, deadline: escalation.deadline });
  if (rolloutId === undefined) return escalation;
  const request: EscalationRequest = {
    source: ESCALATION_SOURCE,
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

function finish(result: RunnerVersionCheckResult): RunnerVersionCheckResult {
  const escalation = result.escalations[0];
  const memo: RunnerVersionCheckMemo = {
    converged: result.converged,
    action: result.action.kind,
    ...(result.newestRelease === null ? {} : { newestRelease: result.newestRelease.version }),
    ...(result.deadline === undefined ? {} : { deadline: result.deadline }),
    ...(result.slackDays === undefined ? {} : { slackDays: result.slackDays }),
    ...(result.action.kind === 'none' ? {} : { rolloutId: result.action.rolloutId }),
    ...(result.soakPlan === undefined ? {} : { soakPlan: result.soakPlan.kind }),
    ...(escalation === undefined ? {} : { escalation: `${escalation.severity}: ${escalation.message}` }),
  };
  upsertMemo({ [RUNNER_VERSION_CHECK_MEMO_KEY]: memo });
  setCurrentDetails(describeResult(result));
  return result;
}

function describeResult(result: RunnerVersionCheckResult): string {
  const lines = [`**Runner version check** at ${result.checkedAt}`];
  if (result.newestRelease === null) {
    lines.push(`Fleet is current (${result.fleet.oldest}).`);
  } else {
    lines.push(
      `Newest release ${result.newestRelease.version}, deadline ${result.deadline} (${result.slackDays} days left), converged: ${result.converged}.`,
    );
  }
  if (result.action.kind !== 'none') lines.push(`Rollout: ${result.action.rolloutId} (${result.action.kind}).`);
  if (result.soakPlan !== undefined)
    lines.push(`Soak ${result.soakPlan.soak} (${result.soakPlan.kind}): ${result.soakPlan.reason}.`);
  for (const escalation of result.escalations) lines.push(`Escalation (${escalation.severity}): ${escalation.message}`);
  return lines.join('\n\n');
}

function settingsOrFail(input: RunnerVersionCheckInput): ResolvedCheckSettings {
  return orFail(RunnerVersionCheckFailure.INVALID_INPUT, () => resolveCheckSettings(input));
}

/**
 * GitHub refuses the fleet's oldest version 30 days after the first release newer than it, however many came
 * since. A release result recorded before the activity reported that release has only its own date.
 */
function deadlineOrFail(release: RunnerReleaseInfo): number {
  const clockStart = release.firstNewer?.publishedAt ?? release.publishedAt;
  return orFail(RunnerVersionCheckFailure.RELEASE_INCOMPLETE, () => deadlineOf(clockStart));
}

/**
 * Runs pure planning code; its errors fail the check rather than the workflow task, which would otherwise retry
 * the same bad input forever.
 */
function orFail<T>(type: RunnerVersionCheckFailure, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw ApplicationFailure.create({ type, message: `${error.message}; nothing was started`, nonRetryable: true });
  }
}

/**
 * Runs an activity; when it fails for good the check fails with what it was doing and the activity's own reason
 * (its failure type stays in the cause chain). Nothing after the failing step runs, so nothing is started.
 */
async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof ActivityFailure)) throw error;
    const reason = error.cause?.message ?? error.message;
    throw ApplicationFailure.create({
      type: RunnerVersionCheckFailure.CHECK_FAILED,
      message: `runner version check failed while ${what}: ${reason}; nothing was started, the next scheduled run retries`,
      nonRetryable: true,
      cause: error,
      details: [{ step: what, activityFailureType: failureType(error.cause) }],
    });
  }
}

function failureType(failure: unknown): string | null {
  return failure instanceof ApplicationFailure ? (failure.type ?? null) : null;
}
