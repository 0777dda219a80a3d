/**
 * The pure rules the runner-version check applies and the CLI reports: the template version for a release, the
 * fleet's versions, the check's settings, the soak plan and escalations. Safe in the workflow sandbox.
 */
import { durationProblem, parseDuration, SOAK_MINIMUM, type DurationMinimum } from '../runner-config/durations.js';
import { versionProblem } from '../runner-config/naming.js';
import { compareRunnerVersions } from '../runner-config/runner-versions.js';
import {
  ROLLOUT_TIME_WITHOUT_SOAK,
  RUNNER_UPDATE_WINDOW_DAYS,
  RUNNER_VERSION_CHECK_DEFAULTS,
  formatDuration,
  type FleetRunnerVersions,
  type RunnerEscalation,
  type RunnerVersionCheckInput,
  type SoakPlan,
  type StoppedRollout,
} from './runner-version-check-contract.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

const COMMIT_PREFIX = /^[0-9a-f]{10,40}$/;
const RUNNER_VERSION = /^\d+\.\d+\.\d+$/;

/**
 * The commit the runner templates pin their config to: the fleet's `github.configRef` when it names a commit;
 * when it names a branch (which would float), the commit the registered runners report in their `config-ref`
 * labels (the most reported one, ties to the smallest, so repeated checks agree).
 */
export function pinnedConfigRef(definitionRef: string, runnerRefs: readonly (string | undefined)[]): string {
  const definition = definitionRef.toLowerCase();
  if (COMMIT_PREFIX.test(definition)) return definition;
  const counts = new Map<string, number>();
  for (const ref of runnerRefs) {
    const commit = ref?.toLowerCase().slice(0, 10);
    if (commit !== undefined && COMMIT_PREFIX.test(commit)) counts.set(commit, (counts.get(commit) ?? 0) + 1);
  }
  const [mostReported] = [...counts].sort(([a, countA], [b, countB]) => countB - countA || a.localeCompare(b));
  if (mostReported === undefined) {
    throw new RangeError(
      `fleet github.configRef "${definitionRef}" is not a commit and no registered runner reports a config-ref label; pin github.configRef to a commit so runner templates can name it`,
    );
  }
  return mostReported[0];
}

/**
 * The template version for a runner release: the config commit's first 10 hex digits, then 3 characters hashed
 * from the runner version. Deterministic, so every check of the same release names (and creates) the same
 * templates.
 */
export function runnerTemplateVersion(configRef: string, runnerVersion: string): string {
  const ref = configRef.toLowerCase();
  if (!COMMIT_PREFIX.test(ref)) throw new RangeError(`config ref "${configRef}" is not a commit id`);
  const version = `${ref.slice(0, 10)}-${base36Hash(runnerVersion, 3)}`;
  const problem = versionProblem(version);
  if (problem !== undefined) throw new RangeError(problem);
  return version;
}

/** FNV-1a, reduced to `length` base-36 characters: stable across runtimes, no crypto needed in the sandbox. */
function base36Hash(text: string, length: number): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash % 36 ** length).toString(36).padStart(length, '0');
}

export interface FleetObservation {
  readonly definitionVersion: string;
  readonly runnerVersions: readonly (string | undefined)[];
}

export function summariseFleetVersions(observation: FleetObservation): FleetRunnerVersions {
  const runners: Record<string, number> = {};
  let runnersWithoutVersion = 0;
  let oldest = observation.definitionVersion;
  for (const version of observation.runnerVersions) {
    if (version === undefined) {
      runnersWithoutVersion++;
      continue;
    }
    runners[version] = (runners[version] ?? 0) + 1;
    if (compareRunnerVersions(version, oldest) < 0) oldest = version;
  }
  return { definition: observation.definitionVersion, runners, runnersWithoutVersion, oldest };
}

/**
 * Whether GitHub considers the fleet current for `newest`: the runners are what GitHub refuses, so they decide;
 * with no runner reporting a version the definition (what new VMs would run) does.
 */
export function isConverged(fleet: FleetRunnerVersions, newest: string): boolean {
  const reported = Object.keys(fleet.runners);
  if (reported.length === 0) return compareRunnerVersions(fleet.definition, newest) >= 0;
  return reported.every((version) => compareRunnerVersions(version, newest) >= 0);
}

export interface ResolvedCheckSettings {
  readonly escalationThresholdsDays: readonly number[];
  readonly marginMs: number;
  readonly minimumSoakMs: number;
  readonly securitySoakMs: number;
  readonly olderRolloutWaitMs: number;
  readonly defaultSoak?: string;
  readonly autoApprove: boolean;
  readonly autoPromote: boolean;
  readonly requestedBy: string;
  readonly retryRollout?: string;
}

/** Validates the input and fills defaults; throws a RangeError naming every problem. */
export function resolveCheckSettings(input: RunnerVersionCheckInput): ResolvedCheckSettings {
  const problems: string[] = [];
  const duration = (name: string, text: string, minimum?: DurationMinimum): number => {
    const problem = durationProblem(text, minimum);
    if (problem === undefined) return parseDuration(text);
    problems.push(`${name}: ${problem}`);
    return 0;
  };
  const thresholds = input.escalationThresholdsDays ?? RUNNER_VERSION_CHECK_DEFAULTS.escalationThresholdsDays;
  if (thresholds.some((days) => !Number.isFinite(days) || days <= 0)) {
    problems.push(`escalationThresholdsDays must be positive numbers of days, got [${thresholds.join(', ')}]`);
  }
  const marginMs = duration('margin', input.margin ?? RUNNER_VERSION_CHECK_DEFAULTS.margin);
  const minimumSoakMs = duration(
    'minimumSoak',
    input.minimumSoak ?? RUNNER_VERSION_CHECK_DEFAULTS.minimumSoak,
    SOAK_MINIMUM,
  );
  const securitySoakMs = duration(
    'securitySoak',
    input.securitySoak ?? RUNNER_VERSION_CHECK_DEFAULTS.securitySoak,
    SOAK_MINIMUM,
  );
  if (input.defaultSoak !== undefined) duration('defaultSoak', input.defaultSoak, SOAK_MINIMUM);
  const olderRolloutWaitMs = duration(
    'olderRolloutWait',
    input.olderRolloutWait ?? RUNNER_VERSION_CHECK_DEFAULTS.olderRolloutWait,
    SOAK_MINIMUM,
  );
  if (input.retryRollout !== undefined && !RUNNER_VERSION.test(input.retryRollout)) {
    problems.push(`retryRollout must be a runner version such as 2.329.0, got "${input.retryRollout}"`);
  }
  if (problems.length > 0) throw new RangeError(problems.join('; '));
  return {
    escalationThresholdsDays: [...thresholds].sort((a, b) => b - a),
    marginMs,
    minimumSoakMs,
    securitySoakMs,
    olderRolloutWaitMs,
    ...(input.defaultSoak === undefined ? {} : { defaultSoak: input.defaultSoak }),
    autoApprove: input.autoApprove ?? false,
    autoPromote: input.autoPromote ?? false,
    requestedBy: input.requestedBy ?? 'runner-version-check',
    ...(input.retryRollout === undefined ? {} : { retryRollout: input.retryRollout }),
  };
}

export interface SoakPlanInput {
  readonly nowMs: number;
  readonly deadlineMs: number;
  readonly defaultSoak: string;
  readonly securityRelease: boolean;
  readonly settings: Pick<ResolvedCheckSettings, 'marginMs' | 'minimumSoakMs' | 'securitySoakMs'>;
}

/**
 * Plans the soak backwards from the deadline: the default soak when the whole rollout still fits with margin,
 * otherwise the time that is left (whole hours), never below the minimum; security releases get the minimal soak.
 */
export function planSoak(input: SoakPlanInput): SoakPlan {
  const defaultMs = parseDuration(input.defaultSoak);
  const { marginMs, minimumSoakMs, securitySoakMs } = input.settings;
  if (input.securityRelease) {
    const soakMs = Math.min(defaultMs, securitySoakMs);
    return {
      kind: 'security',
      soak: formatDuration(soakMs),
      defaultSoak: input.defaultSoak,
      reason: `security release: GitHub may stop sending jobs to older runners at once, so the soak is cut to ${formatDuration(soakMs)}`,
    };
  }
  const availableMs = input.deadlineMs - input.nowMs - marginMs - parseDuration(ROLLOUT_TIME_WITHOUT_SOAK);
  if (defaultMs <= availableMs) {
    return {
      kind: 'default',
      soak: input.defaultSoak,
      defaultSoak: input.defaultSoak,
      reason: `the default soak fits before the deadline with ${formatDuration(marginMs)} margin`,
    };
  }
  const soakMs = Math.max(minimumSoakMs, Math.floor(Math.max(availableMs, 0) / HOUR_MS) * HOUR_MS);
  const budget = `${ROLLOUT_TIME_WITHOUT_SOAK} for the other stages and ${formatDuration(marginMs)} margin`;
  const reason =
    availableMs >= minimumSoakMs
      ? `the default soak of ${input.defaultSoak} no longer fits before the deadline (${budget}); shortened to ${formatDuration(soakMs)}`
      : `even the minimum soak of ${formatDuration(minimumSoakMs)} no longer fits before the deadline (${budget}): soaking the minimum, the deadline is at risk`;
  return { kind: 'compressed', soak: formatDuration(soakMs), defaultSoak: input.defaultSoak, reason };
}

/** Days between two instants, to one decimal: what operators read in results and escalations. */
export function slackDays(nowMs: number, deadlineMs: number): number {
  return Math.round(((deadlineMs - nowMs) / DAY_MS) * 10) / 10;
}

export function deadlineOf(publishedAt: string): number {
  const published = Date.parse(publishedAt);
  if (Number.isNaN(published)) throw new RangeError(`release published_at "${publishedAt}" is not a timestamp`);
  return published + RUNNER_UPDATE_WINDOW_DAYS * DAY_MS;
}

/** The tightest threshold the slack has fallen below, or undefined while there is time. */
export function crossedThreshold(slack: number, thresholdsDays: readonly number[]): number | undefined {
  let crossed: number | undefined;
  for (const threshold of thresholdsDays) {
    if (slack < threshold && (crossed === undefined || threshold < crossed)) crossed = threshold;
  }
  return crossed;
}

export interface EscalationInput {
  readonly nowMs: number;
  readonly deadlineMs: number;
  readonly converged: boolean;
  readonly securityRelease: boolean;
  readonly runnerVersion: string;
  readonly thresholdsDays: readonly number[];
}

/**
 * The escalation an unconverged fleet deserves now: a security release at once, otherwise the tightest slack
 * threshold crossed. Every check repeats it while the condition holds, so a missed notification is not final.
 */
export function escalationFor(input: EscalationInput): RunnerEscalation | undefined {
  if (input.converged) return undefined;
  const slack = slackDays(input.nowMs, input.deadlineMs);
  const base = {
    runnerVersion: input.runnerVersion,
    deadline: new Date(input.deadlineMs).toISOString(),
    slackDays: slack,
    recordedAt: new Date(input.nowMs).toISOString(),
  };
  if (input.securityRelease) {
    return {
      ...base,
      trigger: 'security',
      severity: 'critical',
      message: `runner ${input.runnerVersion} is a security release and the fleet is not on it: GitHub may stop sending jobs to older runners at any moment`,
    };
  }
  const threshold = crossedThreshold(slack, input.thresholdsDays);
  if (threshold === undefined) return undefined;
  const tightest = Math.min(...input.thresholdsDays);
  const when = slack < 0 ? `${-slack} days ago` : `in ${slack} days`;
  return {
    ...base,
    trigger: 'slack',
    thresholdDays: threshold,
    severity: threshold === tightest ? 'critical' : 'warning',
    message: `fleet not converged on runner ${input.runnerVersion}: GitHub stops sending jobs to older runners ${when} (${base.deadline}), below the ${threshold}-day threshold`,
  };
}

export interface ImmediateEscalationInput {
  readonly nowMs: number;
  readonly deadlineMs: number;
  readonly runnerVersion: string;
  /** The version the fleet stays on meanwhile: the one GitHub's clock runs for. */
  readonly fleetVersion: string;
}

/** A release whose digests are missing or wrong is never rolled out: a person has to look, whatever the slack. */
export function unverifiedEscalation(
  input: ImmediateEscalationInput & { readonly problems: readonly string[] },
): RunnerEscalation {
  const base = immediateBase(input);
  return {
    ...base,
    trigger: 'unverified',
    message: `runner ${input.runnerVersion} cannot be verified: ${input.problems.join('; ')}; nothing was created or started. The fleet stays on ${input.fleetVersion}, which GitHub stops sending jobs to ${whenOf(base.slackDays)} (${base.deadline}); every check verifies the release again`,
  };
}

/**
 * A rollout that rolled back or was aborted is not started again by itself: it escalates with what stopped it, the
 * deadline and what a person can do.
 */
export function stoppedRolloutEscalation(
  input: ImmediateEscalationInput & { readonly rolloutId: string; readonly stopped: StoppedRollout },
): RunnerEscalation {
  const base = immediateBase(input);
  const { stopped } = input;
  const by = stopped.by === undefined || stopped.by === stopped.gate ? '' : ` by ${stopped.by}`;
  const where = stopped.stoppedIn === undefined ? '' : ` in ${stopped.stoppedIn}`;
  const what = stopped.outcome === 'aborted' ? 'was aborted' : 'rolled back';
  return {
    ...base,
    trigger: 'rollout-stopped',
    rolloutId: input.rolloutId,
    message: `rollout ${input.rolloutId} of runner ${input.runnerVersion} ${what} at ${stopped.finishedAt} (${stopped.gate}${by}${where}): ${stopped.reason}. The fleet stays on ${input.fleetVersion}, which GitHub stops sending jobs to ${whenOf(base.slackDays)} (${base.deadline}). Fix what stopped it (the templates or the runner config), then start a fresh run: rollout check-runner-version --retry-rollout ${input.runnerVersion}`,
  };
}

function immediateBase(input: ImmediateEscalationInput) {
  return {
    severity: 'critical',
    runnerVersion: input.runnerVersion,
    deadline: new Date(input.deadlineMs).toISOString(),
    slackDays: slackDays(input.nowMs, input.deadlineMs),
    recordedAt: new Date(input.nowMs).toISOString(),
  } as const;
}

function whenOf(slack: number): string {
  return slack < 0 ? `since ${-slack} days ago` : `in ${slack} days`;
}
