/**
 * The scheduled runner-version check: finds the newest GitHub runner release the fleet is behind, verifies its
 * archives, creates the templates for it and starts (once per release) a rollout whose soak fits GitHub's 30-day
 * deadline, superseding the rollouts of older releases; escalates while the deadline approaches and the fleet has
 * not converged, and at once for a release it cannot verify or a rollout that stopped.
 */
import { ActivityFailure, ApplicationFailure, log, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { RolloutActivities, RunnerReleaseInfo } from '../activities/contract.js';
import { compareRunnerVersions } from '../runner-config/runner-versions.js';
import type { FleetDefinition } from '../runner-config/types.js';
import { FailureType, NON_RETRYABLE_FAILURE_TYPES } from './activity-failure-types.js';
import { readOptions } from './activity-options.js';
import {
  RUNNER_PLATFORMS,
  RunnerVersionCheckFailure,
  runnerRolloutWorkflowId,
  type ReleaseSummary,
  type RunnerVersionCheckAction,
  type RunnerVersionCheckInput,
  type RunnerVersionCheckResult,
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
  stoppedRolloutEscalation,
  summariseFleetVersions,
  unverifiedEscalation,
  type ResolvedCheckSettings,
} from './runner-version-check-policy.js';
import { finish, recordEscalation } from './runner-version-check-report.js';
import { decideTarget, endOlderRollouts, startRollout, type RolloutTarget } from './runner-version-check-rollouts.js';

const { loadFleet, listRunners, latestRunnerRelease, describeRollouts } =
  proxyActivities<RolloutActivities>(readOptions);

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

/**
 * One run of the check; fails (starting nothing) when the release cannot be fetched, or its archives cannot be
 * downloaded. A release that cannot be verified, or whose rollout stopped, is escalated rather than failed.
 */
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
  const clock = { nowMs, deadlineMs, runnerVersion: release.version, fleetVersion: fleet.oldest };
  const timing = {
    checkedAt,
    fleet,
    deadline: new Date(deadlineMs).toISOString(),
    slackDays: slackDays(nowMs, deadlineMs),
  };
  const converged = isConverged(fleet, release.version);
  const verified = await verifiedRelease(release);
  if ('problems' in verified) {
    const escalation = unverifiedEscalation({ ...clock, problems: verified.problems });
    return finish({
      ...timing,
      newestRelease: null,
      converged,
      action: { kind: 'release-unverified', runnerVersion: release.version, problems: verified.problems },
      escalations: [await recordEscalation(escalation, undefined)],
    });
  }
  const newestRelease = verified;
  const configRef = orFail(RunnerVersionCheckFailure.CHECK_FAILED, () =>
    pinnedConfigRef(
      fleetDefinition.github.configRef,
      runners.map((runner) => runner.configRef),
    ),
  );
  const target = rolloutTarget(fleetDefinition, configRef, newestRelease, { nowMs, deadlineMs }, settings);
  const action = await rolloutAction(fleetDefinition, release, target, settings);
  const common = {
    ...timing,
    newestRelease,
    converged,
    templateVersion: target.templateVersion,
    soakPlan: target.soakPlan,
    action,
  };
  if (action.kind === 'rollout-stopped') {
    const escalation = stoppedRolloutEscalation({ ...clock, rolloutId: action.rolloutId, stopped: action.stopped });
    return finish({ ...common, escalations: [escalation] });
  }
  const escalation = escalationFor({
    nowMs,
    deadlineMs,
    converged,
    securityRelease: release.securityRelease,
    runnerVersion: release.version,
    thresholdsDays: settings.escalationThresholdsDays,
  });
  const escalatedTo =
    action.kind === 'waiting-for-older-rollouts' ? action.olderRollouts[0]?.rolloutId : action.rolloutId;
  return finish({
    ...common,
    escalations: escalation === undefined ? [] : [await recordEscalation(escalation, escalatedTo)],
  });
}

/** The template version, soak and rollout input for a verified release, under an id only this release has. */
function rolloutTarget(
  fleet: FleetDefinition,
  configRef: string,
  release: ReleaseSummary,
  { nowMs, deadlineMs }: { nowMs: number; deadlineMs: number },
  settings: ResolvedCheckSettings,
): RolloutTarget {
  const templateVersion = orFail(RunnerVersionCheckFailure.CHECK_FAILED, () =>
    runnerTemplateVersion(configRef, release.version),
  );
  const soakPlan = planSoak({
    nowMs,
    deadlineMs,
    defaultSoak: settings.defaultSoak ?? fleet.rollout.defaultSoak,
    securityRelease: release.securityRelease,
    settings,
  });
  return {
    rolloutId: runnerRolloutWorkflowId(fleet.project, release.version),
    runnerVersion: release.version,
    templateVersion,
    archiveDigests: release.archiveDigests,
    soakPlan,
    rolloutInput: {
      version: templateVersion,
      soak: soakPlan.soak,
      ...(soakPlan.kind === 'default' ? {} : { plannedSoakReason: soakPlan.reason }),
      autoApprove: settings.autoApprove,
      autoPromote: settings.autoPromote,
      requestedBy: settings.requestedBy,
    },
  };
}

/**
 * Reads the rollouts of this release and of the older ones newer than the fleet, then: reports a stopped rollout
 * (until a person retries it), or creates the templates, ends the older rollouts and starts this one.
 */
async function rolloutAction(
  fleet: FleetDefinition,
  release: RunnerReleaseInfo,
  target: RolloutTarget,
  settings: ResolvedCheckSettings,
): Promise<Exclude<RunnerVersionCheckAction, { kind: 'none' | 'release-unverified' }>> {
  const versionById = new Map(
    (release.newerVersions ?? [])
      .filter((version) => compareRunnerVersions(version, release.version) < 0)
      .map((version) => [runnerRolloutWorkflowId(fleet.project, version), version] as const),
  );
  const describe = (workflowIds: readonly string[]) =>
    step('reading the rollouts of this and older runner releases', () => describeRollouts({ workflowIds }));
  const [record, ...older] = await describe([target.rolloutId, ...versionById.keys()]);
  const decision = decideTarget(record, target.runnerVersion, settings.retryRollout);
  if (decision.kind === 'stopped') {
    log.warn('the rollout of this runner release stopped; a person has to retry it', { rolloutId: target.rolloutId });
    return { kind: 'rollout-stopped', rolloutId: target.rolloutId, stopped: decision.stopped };
  }
  await step(`creating the templates of ${target.templateVersion}`, () =>
    createTemplates({
      version: target.templateVersion,
      runnerVersion: target.runnerVersion,
      archiveDigests: target.archiveDigests,
    }),
  );
  if (decision.kind === 'already-started') return { kind: 'rollout-already-started', rolloutId: target.rolloutId };
  const { ended, running } = await endOlderRollouts(
    older,
    (rolloutId) => versionById.get(rolloutId) ?? rolloutId,
    target,
    describe,
    settings.olderRolloutWaitMs,
  );
  if (running.length > 0) {
    return { kind: 'waiting-for-older-rollouts', rolloutId: target.rolloutId, olderRollouts: running };
  }
  return startRollout(target, {
    superseded: ended,
    ...(decision.retried === undefined ? {} : { retried: decision.retried }),
  });
}

/**
 * Checks the release names every platform the templates need, then verifies each archive by streaming it; what
 * makes the release unusable (no digest, no archive, a digest that does not match) comes back as problems.
 */
async function verifiedRelease(release: RunnerReleaseInfo): Promise<ReleaseSummary | { problems: string[] }> {
  const problems: string[] = [];
  const archives = Object.entries(RUNNER_PLATFORMS).map(([arch, platform]) => {
    const sha256 = release.digests[platform];
    const url = release.assets[platform];
    if (sha256 === undefined) problems.push(`no "BEGIN SHA ${platform}" digest in the release notes`);
    if (url === undefined) problems.push(`no ${platform} archive among the release assets`);
    return { arch, platform, sha256: sha256 ?? '', url: url ?? '' };
  });
  if (problems.length > 0) return { problems };
  const mismatches = await Promise.all(
    archives.map(({ platform, sha256, url }) =>
      step(`verifying the ${platform} archive of ${release.version}`, async () => {
        try {
          await verifyRunnerArchive({ url, sha256 });
          return undefined;
        } catch (error) {
          if (error instanceof ActivityFailure && failureType(error.cause) === FailureType.DIGEST_MISMATCH) {
            return `the ${platform} archive does not match its published digest: ${error.cause?.message ?? ''}`;
          }
          throw error;
        }
      }),
    ),
  );
  const mismatched = mismatches.filter((problem): problem is string => problem !== undefined);
  if (mismatched.length > 0) return { problems: mismatched };
  return {
    version: release.version,
    publishedAt: release.publishedAt,
    securityRelease: release.securityRelease,
    archiveDigests: archiveDigestsOf(release),
  };
}

function archiveDigestsOf(release: RunnerReleaseInfo): ReleaseSummary['archiveDigests'] {
  return Object.fromEntries(
    Object.entries(RUNNER_PLATFORMS).map(([arch, platform]) => [arch, release.digests[platform] ?? '']),
  ) as ReleaseSummary['archiveDigests'];
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
