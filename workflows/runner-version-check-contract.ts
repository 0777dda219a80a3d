/**
 * Contract of the scheduled runner-version check: its input, result, failure types and ids, which the workflow,
 * the CLI and the schedule share. Pure code: safe in the workflow sandbox and in the CLI. The rules the check
 * applies are in runner-version-check-policy.ts.
 */

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
  /** Waiting for older rollouts to end: well inside the schedule's one-hour timeout of a check. */
  olderRolloutWait: '20 minutes',
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
  /** How long to wait for the older rollouts a newer release supersedes (or lets finish) to end (default 20 minutes). */
  readonly olderRolloutWait?: string;
  /**
   * The runner version whose rollout rolled back or was aborted, to start afresh (after fixing what stopped it)
   * under the same workflow id. Only for one check run: the schedule never passes it.
   */
  readonly retryRollout?: string;
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
  /**
   * `slack`: fewer days left than a threshold; `security`: a security release; `unverified`: the release cannot
   * be verified; `rollout-stopped`: its rollout rolled back or was aborted. All but `slack` escalate at once.
   */
  readonly trigger: 'slack' | 'security' | 'unverified' | 'rollout-stopped';
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

/** A rollout of an older release that was still running when a newer release became the target. */
export interface OlderRollout {
  readonly rolloutId: string;
  readonly runnerVersion: string;
  /** Its stage when the check found it. */
  readonly stage: string;
  /** `superseded`: nothing promoted yet, so the check aborted it; `finishing`: promotion had started. */
  readonly disposition: 'superseded' | 'finishing';
}

/** What stopped the latest run of a rollout that ended without promoting. */
export interface StoppedRollout {
  readonly outcome: 'rolled-back' | 'aborted';
  readonly finishedAt: string;
  /** `health-gate`: the soak's health checks; `rollback`/`abort`: a person's (or the check's) control. */
  readonly gate: 'health-gate' | 'rollback' | 'abort' | 'unknown';
  /** Who stopped it (`health-gate` for the gate), when the rollout recorded it. */
  readonly by?: string;
  /** The stage it was in when stopped. */
  readonly stoppedIn?: string;
  readonly reason: string;
}

export type RunnerVersionCheckAction =
  | { readonly kind: 'none'; readonly reason: string }
  | {
      readonly kind: 'rollout-started';
      readonly rolloutId: string;
      /** Older rollouts this one replaced (aborted, then waited for). */
      readonly superseded?: readonly OlderRollout[];
      /** Set when this is a fresh run of a rollout whose last run stopped (`retryRollout`). */
      readonly retried?: StoppedRollout;
    }
  /** A rollout of this release was started by an earlier check (running or finished): never a second one. */
  | { readonly kind: 'rollout-already-started'; readonly rolloutId: string }
  /** The rollout of this release rolled back or was aborted: nothing more starts until a person retries it. */
  | { readonly kind: 'rollout-stopped'; readonly rolloutId: string; readonly stopped: StoppedRollout }
  /** Older rollouts are still ending (aborted, or promoting and converging); the next check starts this one. */
  | {
      readonly kind: 'waiting-for-older-rollouts';
      readonly rolloutId: string;
      readonly olderRollouts: readonly OlderRollout[];
    }
  /** The release's digests are missing or do not match its archives: nothing was created or started. */
  | { readonly kind: 'release-unverified'; readonly runnerVersion: string; readonly problems: readonly string[] };

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

/** How often a check looks whether the older rollouts it waits for have ended. */
export const OLDER_ROLLOUT_POLL_INTERVAL = '1 minute';

/** Failure types the check raises itself; activity failures keep their own types as the cause. */
export const RunnerVersionCheckFailure = {
  INVALID_INPUT: 'RUNNER_CHECK_INVALID_INPUT',
  /** The release's publication date cannot be read, so its deadline cannot be computed. */
  RELEASE_INCOMPLETE: 'RUNNER_CHECK_RELEASE_INCOMPLETE',
  /** Fetching, verifying or creating failed: nothing was started; the next scheduled run retries. */
  CHECK_FAILED: 'RUNNER_CHECK_FAILED',
} as const;
export type RunnerVersionCheckFailure = (typeof RunnerVersionCheckFailure)[keyof typeof RunnerVersionCheckFailure];

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

/**
 * Workflow id of the rollout the check starts for a runner release: one release, one rollout. A retry after a
 * rollback is a new run under the same id.
 */
export function runnerRolloutWorkflowId(project: string, runnerVersion: string): string {
  return `rollout-${project}-runner-${runnerVersion}`;
}

/** `72h`, `90m`: the largest whole unit, in a form Temporal's duration parser reads back. */
export function formatDuration(ms: number): string {
  if (ms % DAY_MS === 0 && ms > 0) return `${ms / DAY_MS}d`;
  if (ms % HOUR_MS === 0) return `${ms / HOUR_MS}h`;
  return `${Math.ceil(ms / 60_000)}m`;
}
