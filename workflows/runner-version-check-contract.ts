/**
 * Contract of the scheduled runner-version check: its input, result, failure types and the pure planning rules
 * (template version, soak plan, escalations) that the workflow applies and the CLI reports. Pure code: safe in
 * the workflow sandbox and in the CLI.
 */
import { durationProblem, parseDuration, SOAK_MINIMUM, type DurationMinimum } from '../runner-config/durations.js';
import { versionProblem } from '../runner-config/naming.js';
import { compareRunnerVersions } from '../runner-config/runner-versions.js';

/** Workflow type name the worker registers and the schedule starts. */
export const RUNNER_VERSION_CHECK_WORKFLOW_TYPE = 'runnerVersionCheck';

/** The one schedule that runs the check; a fixed id is what makes `schedule install` idempotent. */
export const RUNNER_VERSION_CHECK_SCHEDULE_ID = 'runner-version-check';

/** Workflow id prefix of checks (the schedule appends its action time; the CLI appends the start time). */
export const RUNNER_VERSION_CHECK_WORKFLOW_ID_PREFIX = 'runner-version-check';

/** GitHub stops queueing jobs to a runner that was not updated within this many days of a newer release. */
export const RUNNER_UPDATE_WINDOW_DAYS = 30;

/**
 * Time a rollout needs apart from its soak: testing MIGs boot and register, someone approves (a working day away
 * at worst), canaries boot, promotion, and convergence waits for busy runners to finish their jobs. An estimate
 * from the manual process, not a measurement; the margin below absorbs the error.
 */
export const ROLLOUT_TIME_WITHOUT_SOAK = '2 days';

/** Platforms whose archives every template carries; their digests must be published and verified. */
export const RUNNER_PLATFORMS = { x64: 'linux-x64', arm64: 'linux-arm64' } as const;

export const RUNNER_VERSION_CHECK_DEFAULTS = {
  /** Escalate when less than this many days are left and the fleet is not converged. */
  escalationThresholdsDays: [14, 7, 3],
  /** Days the planned rollout must finish before the deadline. */
  margin: '3 days',
  /** Soak never shortened below this: canaries need a few hours of real jobs to show a problem. */
  minimumSoak: '6 hours',
  /** Soak for a release marked as a security release: GitHub may refuse older runners at once. */
  securitySoak: '1 hour',
} as const;

/** Input of `runnerVersionCheck`. Every field is optional; time comes only from the workflow clock. */
export interface RunnerVersionCheckInput {
  /** Days of slack below which an unconverged fleet is escalated (default 14, 7, 3). */
  readonly escalationThresholdsDays?: readonly number[];
  /** How long before the deadline the rollout must be done (default 3 days). */
  readonly margin?: string;
  /** Soak to plan with instead of the fleet definition's `rollout.defaultSoak`. */
  readonly defaultSoak?: string;
  /** Floor of a shortened soak (default 6 hours). */
  readonly minimumSoak?: string;
  /** Soak of a security release (default 1 hour). */
  readonly securitySoak?: string;
  /** Passed to the rollout: approve the testing gate without a person. */
  readonly autoApprove?: boolean;
  /** Passed to the rollout: promote after the soak without a person. */
  readonly autoPromote?: boolean;
  /** Who the started rollout is attributed to (default `runner-version-check`). */
  readonly requestedBy?: string;
}

/** What the fleet runs now, from the fleet definition and from what registered runners report. */
export interface FleetRunnerVersions {
  readonly definition: string;
  /** Registered runners per `runner-version` label value. */
  readonly runners: Readonly<Record<string, number>>;
  /** Registered runners without a `runner-version` label (not counted either way). */
  readonly runnersWithoutVersion: number;
  /** The oldest version of the definition and every runner: the one GitHub's clock runs for. */
  readonly oldest: string;
}

export interface ReleaseSummary {
  readonly version: string;
  readonly publishedAt: string;
  readonly securityRelease: boolean;
  /** Architecture to verified SHA-256 of the archive. */
  readonly archiveDigests: Readonly<Record<keyof typeof RUNNER_PLATFORMS, string>>;
}

export type SoakPlanKind = 'default' | 'compressed' | 'security';

/** How long the rollout's canaries soak, and why. */
export interface SoakPlan {
  readonly kind: SoakPlanKind;
  /** Duration string handed to the rollout, e.g. `72h`. */
  readonly soak: string;
  /** The soak that would have applied without the deadline. */
  readonly defaultSoak: string;
  readonly reason: string;
}

export interface RunnerEscalation {
  /** `slack`: fewer days left than a threshold; `security`: a security release, escalated at once. */
  readonly trigger: 'slack' | 'security';
  /** The tightest threshold crossed (slack escalations only). */
  readonly thresholdDays?: number;
  /** `critical` below the tightest threshold, past the deadline, or for a security release; else `warning`. */
  readonly severity: 'warning' | 'critical';
  readonly runnerVersion: string;
  readonly deadline: string;
  readonly slackDays: number;
  readonly message: string;
  readonly recordedAt: string;
  /** The rollout this escalation was also signalled to, when one exists and accepted the signal. */
  readonly rolloutId?: string;
}

export type RunnerVersionCheckAction =
  | { readonly kind: 'none'; readonly reason: string }
  | { readonly kind: 'rollout-started'; readonly rolloutId: string }
  /** A rollout of this release was started by an earlier check (running or finished): never a second one. */
  | { readonly kind: 'rollout-already-started'; readonly rolloutId: string };

export interface RunnerVersionCheckResult {
  readonly checkedAt: string;
  readonly fleet: FleetRunnerVersions;
  /** The newest release newer than the fleet's oldest version, or null when the fleet is current. */
  readonly newestRelease: ReleaseSummary | null;
  /** 30 days after the first release newer than the fleet's oldest version (absent when nothing is newer). */
  readonly deadline?: string;
  /** Days left until the deadline; negative when it has passed. */
  readonly slackDays?: number;
  /** Every runner reports the newest release (or, with none reporting, the definition names it). */
  readonly converged: boolean;
  /** The template version carrying the newest runner (when the fleet is behind). */
  readonly templateVersion?: string;
  readonly soakPlan?: SoakPlan;
  readonly action: RunnerVersionCheckAction;
  readonly escalations: readonly RunnerEscalation[];
}

/** The workflow's signature, for typed starts by type name from clients and schedules. */
export type RunnerVersionCheckWorkflow = (input?: RunnerVersionCheckInput) => Promise<RunnerVersionCheckResult>;

/** Memo key under which the check records its summary (read by `rollout list`/`status` and the Web UI). */
export const RUNNER_VERSION_CHECK_MEMO_KEY = 'runnerVersionCheck';

/** The memo the check upserts: small and flat so lists can show it without fetching results. */
export interface RunnerVersionCheckMemo {
  readonly newestRelease?: string;
  readonly deadline?: string;
  readonly slackDays?: number;
  readonly converged: boolean;
  readonly action: RunnerVersionCheckAction['kind'];
  readonly rolloutId?: string;
  readonly soakPlan?: SoakPlanKind;
  readonly escalation?: string;
}

/** Failure types the check raises itself; activity failures keep their own types as the cause. */
export const RunnerVersionCheckFailure = {
  INVALID_INPUT: 'RUNNER_CHECK_INVALID_INPUT',
  /** The newest release lacks a published digest or download URL for a platform the templates need. */
  RELEASE_INCOMPLETE: 'RUNNER_CHECK_RELEASE_INCOMPLETE',
  /** Fetching, verifying or creating failed: nothing was started; the next scheduled run retries. */
  CHECK_FAILED: 'RUNNER_CHECK_FAILED',
} as const;
export type RunnerVersionCheckFailure = (typeof RunnerVersionCheckFailure)[keyof typeof RunnerVersionCheckFailure];

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

/** Workflow id of the rollout the check starts for a runner release: one release, one rollout, ever. */
export function runnerRolloutWorkflowId(project: string, runnerVersion: string): string {
  return `rollout-${project}-runner-${runnerVersion}`;
}

const COMMIT_PREFIX = /^[0-9a-f]{10,40}$/;

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
  readonly defaultSoak?: string;
  readonly autoApprove: boolean;
  readonly autoPromote: boolean;
  readonly requestedBy: string;
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
  if (problems.length > 0) throw new RangeError(problems.join('; '));
  return {
    escalationThresholdsDays: [...thresholds].sort((a, b) => b - a),
    marginMs,
    minimumSoakMs,
    securitySoakMs,
    ...(input.defaultSoak === undefined ? {} : { defaultSoak: input.defaultSoak }),
    autoApprove: input.autoApprove ?? false,
    autoPromote: input.autoPromote ?? false,
    requestedBy: input.requestedBy ?? 'runner-version-check',
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

/** `72h`, `90m`: the largest whole unit, in a form Temporal's duration parser reads back. */
export function formatDuration(ms: number): string {
  if (ms % DAY_MS === 0 && ms > 0) return `${ms / DAY_MS}d`;
  if (ms % HOUR_MS === 0) return `${ms / HOUR_MS}h`;
  return `${Math.ceil(ms / 60_000)}m`;
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
