/**
 * Replays a release history through the real runner-version check and the real rollouts it starts (a {@link
 * ReplayWorld}), hour by simulated hour while a rollout runs (from one event to the next while none does), and
 * records what happened to each release.
 *
 * The time-skipping server runs no Schedules, so the replay starts the check as the installed schedule would:
 * once a simulated day (every 24 h from the replay's start, the schedule's default interval). A person approves
 * the gates of the rollouts the check starts at the first hour of a working day (Monday to Friday, 09:00 to
 * 17:00 UTC) after a gate opens; each approval is a human action. With `auto`, the check passes
 * autoApprove/autoPromote and nobody acts.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { RolloutResult } from '../workflows/rollout-contract.js';
import { statusQuery, TERMINAL_STAGES } from '../workflows/rollout-contract.js';
import { approveUpdate } from '../workflows/rollout-controls-contract.js';
import {
  RUNNER_VERSION_CHECK_WORKFLOW_TYPE,
  runnerRolloutWorkflowId,
  type RunnerVersionCheckResult,
} from '../workflows/runner-version-check-contract.js';
import { compareRunnerVersions } from '../runner-config/runner-versions.js';
import { defaultFleet } from '../runner-config/default-fleet.js';
import type { FleetDefinition } from '../runner-config/types.js';
import { DAY_MS, expiredVersions, newestAt, type HistoryRelease } from './release-history.js';
import { ReplayWorld, TASK_QUEUE } from './replay-world.js';

const HOUR_MS = 3600_000;
/** Hour of the day (on the replay's calendar) at which the daily check runs. */
const CHECK_HOUR = 6;
/** Workflow time let pass between two looks at a running check. */
const CHECK_STEP_MS = 2000;
const WORKING_HOURS = { from: 9, to: 17 } as const;

export interface ReplayOptions {
  /** The whole history: releases before the window give the fleet its starting version and GitHub's clocks. */
  readonly releases: readonly HistoryRelease[];
  readonly fromMs: number;
  readonly toMs: number;
  /** The check's autoApprove and autoPromote: no person approves anything. */
  readonly auto?: boolean;
  readonly seed?: number;
  /** One line per check, as it happens. */
  readonly progress?: (line: string) => void;
}

export interface ReleaseRecord {
  readonly release: HistoryRelease;
  /** First check that named it as the newest release. */
  detectedAtMs?: number;
  /** First check that started its rollout, with the soak it chose. */
  rolloutStartedAtMs?: number;
  soak?: string;
  /** First hour at which every online runner of the fleet ran it or a newer version. */
  fleetOnAtMs?: number;
  /** How the rollout of its version ended, when it did within the window. */
  outcome?: string;
  escalations: string[];
  humanActions: number;
}

export interface ReplayReport {
  readonly fromMs: number;
  readonly toMs: number;
  readonly auto: boolean;
  readonly startVersion: string;
  readonly records: readonly ReleaseRecord[];
  /** Days (from the window's start) on which some online runner ran a version GitHub no longer queues jobs to. */
  readonly missedDays: readonly number[];
  readonly checks: number;
  readonly failedChecks: number;
  readonly realSeconds: number;
  /** Largest distance between the workflows' clock and the simulator's during the replay. */
  readonly maxClockSkewMs: number;
}

/** The replay's calendar, in history time (the window's dates), hour by hour. */
export async function replayReleaseHistory(options: ReplayOptions): Promise<ReplayReport> {
  const started = performance.now();
  const { releases, fromMs, toMs } = options;
  const auto = options.auto === true;
  const start = newestAt(releases, fromMs);
  if (start === undefined) {
    throw new Error(`no release is published on or before ${iso(fromMs)}: the fleet needs one to start on`);
  }
  const base = defaultFleet();
  const fleet: FleetDefinition = { ...base, runner: { ...base.runner, version: start.version } };
  const existing = releases.filter((release) => release.publishedAtMs <= fromMs);
  const unpublished = releases.filter((release) => release.publishedAtMs > fromMs);
  const world = await ReplayWorld.start({
    fleet,
    historyStartMs: fromMs,
    releases: existing,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
  });
  try {
    const records = new Map(releases.map((release) => [release.version, newRecord(release)]));
    const rollouts = new Map<string, string>();
    const missedDays = new Set<number>();
    let checks = 0;
    let failedChecks = 0;
    const lastHour = Math.ceil((toMs - fromMs) / HOUR_MS);
    for (let hour = 0; hour < lastHour;) {
      const nowMs = fromMs + hour * HOUR_MS;
      for (let next = unpublished[0]; next !== undefined && next.publishedAtMs <= nowMs; next = unpublished[0]) {
        world.publish(next);
        unpublished.shift();
      }
      if (hour % 24 === CHECK_HOUR) {
        checks++;
        const result = await runCheck(world, nowMs + world.offsetMs, auto).catch((error: unknown) => error as Error);
        if (result instanceof Error) {
          failedChecks++;
          options.progress?.(`${day(nowMs, fromMs)}: check failed: ${result.message}`);
        } else {
          noteCheck(result, nowMs, records, rollouts, fleet.project);
          for (const rolloutId of rollouts.keys()) world.watchRollout(rolloutId);
          const lead = `simulator ${(world.leadMs / HOUR_MS).toFixed(1)} h ahead`;
          options.progress?.(`${day(nowMs, fromMs)}: ${describeCheck(result)} (${lead})`);
        }
      }
      await followRollouts(world, rollouts, records, { auto, personAtWork: atWork(nowMs) });
      const online = onlineVersions(world);
      for (const record of records.values()) {
        if (record.fleetOnAtMs === undefined && record.release.publishedAtMs <= nowMs) {
          if ([...online].every((version) => compareRunnerVersions(version, record.release.version) >= 0)) {
            record.fleetOnAtMs = nowMs;
          }
        }
      }
      if (expiredVersions(online, releases, nowMs).length > 0) missedDays.add(Math.floor((nowMs - fromMs) / DAY_MS));
      const next = Math.min(nextVisit(hour, rollouts.size > 0, unpublished[0], fromMs), lastHour);
      await world.sleep((next - hour) * HOUR_MS);
      hour = next;
    }
    return {
      fromMs,
      toMs,
      auto,
      startVersion: start.version,
      records: [...records.values()].filter(
        (record) => record.release.publishedAtMs > fromMs && record.release.publishedAtMs < toMs,
      ),
      missedDays: [...missedDays].sort((a, b) => a - b),
      checks,
      failedChecks,
      realSeconds: (performance.now() - started) / 1000,
      maxClockSkewMs: world.maxSkewMs,
    };
  } finally {
    await world.close();
  }
}

/**
 * The next hour the replay looks at the world. While a rollout runs, every hour: gates open, the fleet moves. With
 * none, nothing changes the fleet's versions but a check, so the replay goes from one event to the next: the
 * daily check, a publication, and the day's last hour, whose sample decides whether the day missed a deadline.
 */
export function nextVisit(
  hour: number,
  rolloutRunning: boolean,
  release: HistoryRelease | undefined,
  fromMs: number,
): number {
  if (rolloutRunning) return hour + 1;
  const nextAt = (hourOfDay: number): number => hour + ((hourOfDay - (hour % 24) + 23) % 24) + 1;
  const visits = [nextAt(CHECK_HOUR), nextAt(23)];
  if (release !== undefined) visits.push(Math.max(hour + 1, Math.ceil((release.publishedAtMs - fromMs) / HOUR_MS)));
  return Math.min(...visits);
}

function newRecord(release: HistoryRelease): ReleaseRecord {
  return { release, escalations: [], humanActions: 0 };
}

/** Starts one check as the schedule would, and lets workflow time pass in short steps until it has ended. */
async function runCheck(world: ReplayWorld, worldNowMs: number, auto: boolean): Promise<RunnerVersionCheckResult> {
  const handle = await world.client.workflow.start<(input: object) => Promise<RunnerVersionCheckResult>>(
    RUNNER_VERSION_CHECK_WORKFLOW_TYPE,
    {
      taskQueue: TASK_QUEUE,
      workflowId: `runner-version-check-${iso(worldNowMs)}`,
      args: [auto ? { autoApprove: true, autoPromote: true } : {}],
    },
  );
  while ((await handle.describe()).status.name === 'RUNNING') await world.sleep(CHECK_STEP_MS);
  return handle.result();
}

function noteCheck(
  result: RunnerVersionCheckResult,
  nowMs: number,
  records: Map<string, ReleaseRecord>,
  rollouts: Map<string, string>,
  project: string,
): void {
  const newest = result.newestRelease?.version;
  const named = newest ?? (result.action.kind === 'release-unverified' ? result.action.runnerVersion : undefined);
  const record = named === undefined ? undefined : records.get(named);
  if (record === undefined || named === undefined) return;
  record.detectedAtMs ??= nowMs;
  for (const escalation of result.escalations) {
    record.escalations.push(`${escalation.severity} ${escalation.trigger}`);
  }
  if (result.action.kind === 'rollout-started' && result.action.rolloutId === runnerRolloutWorkflowId(project, named)) {
    record.rolloutStartedAtMs ??= nowMs;
    if (result.soakPlan !== undefined) record.soak ??= `${result.soakPlan.soak} ${result.soakPlan.kind}`;
    rollouts.set(result.action.rolloutId, named);
  }
}

/** Approves what a person would approve now, and notes how the rollouts that ended did. */
async function followRollouts(
  world: ReplayWorld,
  rollouts: Map<string, string>,
  records: Map<string, ReleaseRecord>,
  { auto, personAtWork }: { readonly auto: boolean; readonly personAtWork: boolean },
): Promise<void> {
  for (const [rolloutId, version] of rollouts) {
    const record = records.get(version);
    const handle: WorkflowHandle<() => Promise<RolloutResult>> = world.client.workflow.getHandle(rolloutId);
    const state = await handle.query(statusQuery);
    if (TERMINAL_STAGES.includes(state.stage)) {
      if (record !== undefined) record.outcome = state.stage;
      rollouts.delete(rolloutId);
      continue;
    }
    if (auto || !personAtWork || state.gate === undefined) continue;
    const stage = state.gate.kind === 'test-approval' ? 'test' : 'promote';
    await handle.executeUpdate(approveUpdate, {
      args: [{ stage, identity: 'replay-operator', reason: 'deadline replay: approved as a person would' }],
    });
    if (record !== undefined) record.humanActions++;
  }
}

function onlineVersions(world: ReplayWorld): Set<string> {
  world.sim.model.catchUp();
  const versions = new Set<string>();
  for (const runner of world.sim.model.runners.values()) {
    if (runner.offlineSince === undefined) versions.add(runner.version);
  }
  return versions;
}

function atWork(nowMs: number): boolean {
  const at = new Date(nowMs);
  const weekday = at.getUTCDay() >= 1 && at.getUTCDay() <= 5;
  return weekday && at.getUTCHours() >= WORKING_HOURS.from && at.getUTCHours() < WORKING_HOURS.to;
}

function describeCheck(result: RunnerVersionCheckResult): string {
  const slack = result.slackDays === undefined ? '' : `, slack ${result.slackDays.toFixed(1)} d`;
  const soak = result.action.kind === 'rollout-started' && result.soakPlan ? ` (soak ${result.soakPlan.soak})` : '';
  const escalations = result.escalations.map((escalation) => `, ${escalation.severity} ${escalation.trigger}`);
  return `${result.newestRelease?.version ?? 'current'}: ${result.action.kind}${soak}${slack}${escalations.join('')}`;
}

function day(nowMs: number, fromMs: number): string {
  return `day ${Math.floor((nowMs - fromMs) / DAY_MS)} ${iso(nowMs).slice(0, 10)}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
