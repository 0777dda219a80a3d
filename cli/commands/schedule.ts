import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type ScheduleDescription,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleSpec,
} from '@temporalio/client';
import {
  RUNNER_VERSION_CHECK_SCHEDULE_ID,
  RUNNER_VERSION_CHECK_WORKFLOW_ID_PREFIX,
  RUNNER_VERSION_CHECK_WORKFLOW_TYPE,
  formatDuration,
  type RunnerVersionCheckInput,
  type RunnerVersionCheckWorkflow,
} from '../../workflows/runner-version-check-contract.js';
import type { CommandContext } from '../context.js';
import { CHECK_INTERVAL_RULE, durationFlagProblem } from '../durations.js';
import { NotFoundError, UsageError } from '../errors.js';

/** Daily unless told otherwise: the 30-day window leaves room for a missed day, not a missed week. */
export const DEFAULT_CHECK_INTERVAL = '1 day';

/**
 * After downtime, one missed run is caught up (a day's worth); older ones are dropped, since a single run
 * already sees everything that was released meanwhile.
 */
const CATCHUP_WINDOW = '1 day';

/** A check downloads two archives and creates templates: minutes. Past an hour it is stuck, not slow. */
const CHECK_TIMEOUT = '1 hour';

const CRON_PATTERN = /^(CRON_TZ=\S+\s+)?(@\w+|(\S+\s+){4}\S+)$/;

export interface ScheduleInstallOptions {
  /** Interval between checks (Temporal duration string); exclusive with `cron`. */
  readonly every?: string;
  /** Cron expression (`0 6 * * *`, optionally `CRON_TZ=Europe/Berlin 0 6 * * *`); exclusive with `every`. */
  readonly cron?: string;
  readonly input?: RunnerVersionCheckInput;
}

export interface RunnerVersionScheduleInfo {
  readonly scheduleId: string;
  /** How the schedule was installed: `every 1 day` or `cron 0 6 * * *`. */
  readonly spec: string;
  readonly workflowType: string;
  readonly taskQueue: string;
  readonly paused: boolean;
  readonly overlap: string;
  readonly catchupWindow: string;
  readonly nextRuns: readonly string[];
  readonly recentRuns: readonly { readonly scheduledAt: string; readonly workflowId: string }[];
  readonly runsTaken: number;
  readonly runsSkippedForOverlap: number;
}

export interface ScheduleInstallResult extends RunnerVersionScheduleInfo {
  /** `created` the first time; `updated` when the schedule existed (its spec and action are replaced). */
  readonly outcome: 'created' | 'updated';
}

export function validateScheduleOptions(options: ScheduleInstallOptions): ScheduleInstallOptions {
  if (options.every !== undefined && options.cron !== undefined) {
    throw new UsageError('give either --every or --cron, not both');
  }
  if (options.every !== undefined) {
    const problem = durationFlagProblem('--every', options.every, CHECK_INTERVAL_RULE);
    if (problem !== undefined) throw new UsageError(problem);
  }
  if (options.cron !== undefined && !CRON_PATTERN.test(options.cron.trim())) {
    throw new UsageError(
      `--cron "${options.cron}" is not a cron expression: five fields (minute hour day-of-month month day-of-week), e.g. "0 6 * * *"`,
    );
  }
  return options;
}

/**
 * Creates the schedule, or brings an existing one up to date with these options: running it twice leaves one
 * schedule. A pause set by an operator survives a re-install.
 */
export async function installSchedule(
  ctx: CommandContext,
  options: ScheduleInstallOptions = {},
): Promise<ScheduleInstallResult> {
  const { spec, text } = scheduleSpec(options);
  const action: ScheduleOptionsStartWorkflowAction<RunnerVersionCheckWorkflow> = {
    type: 'startWorkflow',
    workflowType: RUNNER_VERSION_CHECK_WORKFLOW_TYPE,
    taskQueue: ctx.temporal.taskQueue,
    args: [options.input ?? {}],
    // The server appends each run's scheduled time, so every run gets its own id.
    workflowId: RUNNER_VERSION_CHECK_WORKFLOW_ID_PREFIX,
    workflowExecutionTimeout: CHECK_TIMEOUT,
    staticSummary: `scheduled runner-version check (${text})`,
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: CATCHUP_WINDOW, pauseOnFailure: false };
  let outcome: ScheduleInstallResult['outcome'] = 'created';
  try {
    await ctx.client.schedule.create({
      scheduleId: RUNNER_VERSION_CHECK_SCHEDULE_ID,
      spec,
      action,
      policies,
      state: { note: text },
    });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    outcome = 'updated';
    await ctx.client.schedule.getHandle(RUNNER_VERSION_CHECK_SCHEDULE_ID).update((previous) => ({
      spec,
      action,
      policies,
      state: { paused: previous.state.paused, note: text },
    }));
  }
  const info = { ...(await describeSchedule(ctx)), outcome };
  ctx.output.result(info, (data) => `${data.outcome} schedule ${data.scheduleId}\n${describeInfo(data)}`);
  return info;
}

export async function showSchedule(ctx: CommandContext): Promise<RunnerVersionScheduleInfo> {
  const info = await describeSchedule(ctx);
  ctx.output.result(info, (data) => `schedule ${data.scheduleId}\n${describeInfo(data)}`);
  return info;
}

/** Deletes the schedule; checks already running finish. Removing an absent schedule is not an error. */
export async function removeSchedule(
  ctx: CommandContext,
): Promise<{ readonly scheduleId: string; readonly removed: boolean }> {
  let removed = true;
  try {
    await ctx.client.schedule.getHandle(RUNNER_VERSION_CHECK_SCHEDULE_ID).delete();
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
    removed = false;
  }
  const result = { scheduleId: RUNNER_VERSION_CHECK_SCHEDULE_ID, removed };
  ctx.output.result(result, (data) =>
    data.removed ? `removed schedule ${data.scheduleId}` : `schedule ${data.scheduleId} was not installed`,
  );
  return result;
}

function scheduleSpec(options: ScheduleInstallOptions): { spec: ScheduleSpec; text: string } {
  if (options.cron !== undefined) {
    const cron = options.cron.trim();
    return { spec: { cronExpressions: [cron] }, text: `cron ${cron}` };
  }
  const every = options.every ?? DEFAULT_CHECK_INTERVAL;
  return { spec: { intervals: [{ every }] }, text: `every ${every}` };
}

async function describeSchedule(ctx: CommandContext): Promise<RunnerVersionScheduleInfo> {
  let description: ScheduleDescription;
  try {
    description = await ctx.client.schedule.getHandle(RUNNER_VERSION_CHECK_SCHEDULE_ID).describe();
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
    throw new NotFoundError(
      `schedule "${RUNNER_VERSION_CHECK_SCHEDULE_ID}" is not installed; install it with \`rollout schedule install\``,
      { cause: error },
    );
  }
  const { action, policies, state, info } = description;
  return {
    scheduleId: description.scheduleId,
    spec: state.note ?? 'changed outside `rollout schedule install`',
    workflowType: action.workflowType,
    taskQueue: action.taskQueue,
    paused: state.paused,
    // Unset means the server default, which is SKIP.
    overlap: policies.overlap ?? ScheduleOverlapPolicy.SKIP,
    catchupWindow: formatDuration(policies.catchupWindow),
    nextRuns: info.nextActionTimes.map((time) => time.toISOString()),
    recentRuns: info.recentActions.map((run) => ({
      scheduledAt: run.scheduledAt.toISOString(),
      workflowId: run.action.workflow.workflowId,
    })),
    runsTaken: info.numActionsTaken,
    runsSkippedForOverlap: info.numActionsSkippedOverlap,
  };
}

function describeInfo(info: RunnerVersionScheduleInfo): string {
  const lines = [
    `  runs:        ${info.spec}${info.paused ? ' (PAUSED)' : ''}, overlapping runs skipped, catch-up window ${info.catchupWindow}`,
    `  workflow:    ${info.workflowType} on task queue ${info.taskQueue}`,
    `  next runs:   ${info.nextRuns.slice(0, 3).join(', ') || 'none'}`,
    `  runs so far: ${info.runsTaken} (${info.runsSkippedForOverlap} skipped while one was still running)`,
  ];
  for (const run of info.recentRuns.slice(-3)) lines.push(`  recent:      ${run.scheduledAt}  ${run.workflowId}`);
  return lines.join('\n');
}
