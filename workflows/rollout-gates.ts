/** What stands between stages: approval gates, verifying runners on the new template, and health checks. */
import { condition, log, patched } from '@temporalio/workflow';
import type { CanaryHealth, CanaryHealthOutcome, CanaryHealthRequest } from '../activities/contract.js';
import { FailureType } from './activity-failure-types.js';
import { durationMs } from './durations.js';
import { continueAsNewIfDue, continueAsNewNow, fanOut, shouldContinueAsNew } from './rollout-continuation.js';
import { type ApprovalStage, MAX_OBSERVED_CANARY_VMS, type MigProgress } from './rollout-contract.js';
import { addTimeline, applyControl } from './rollout-controls.js';
import { command } from './rollout-mig-commands.js';
import { healthRounds, reads } from './activity-proxies.js';
import { type RolloutRun, failureMessage, now } from './rollout-run.js';
import { recordFailedHealthGate } from './rollout-state.js';

/**
 * Waits until `stage` is approved (or the rollout stops). Never times out: a reminder is recorded at each
 * reminder interval. `auto` approves at once, recorded as such.
 */
export async function gate(run: RolloutRun, stage: ApprovalStage, waitsFor: string, auto?: string): Promise<void> {
  const approved = (): boolean => run.state.approvals.some((approval) => approval.stage === stage);
  if (approved() || run.stopping) return;
  if (run.input.autoApprove === true || auto !== undefined) {
    applyControl(
      run.state,
      {
        kind: 'approve',
        request: {
          stage,
          identity: 'auto-approve',
          reason: `${auto ?? 'autoApprove'} set by ${run.input.requestedBy}`,
        },
      },
      now(),
    );
    run.refreshDetails();
    return;
  }
  const kind = stage === 'test' ? 'test-approval' : 'promote-approval';
  if (run.state.gate?.kind !== kind) {
    run.state.gate = { kind, since: now(), waitsFor };
    addTimeline(run.state, { at: now(), kind: 'gate-opened', message: `waiting for ${waitsFor}` });
    log.info('approval gate opened', { stage, waitsFor });
    run.refreshDetails();
  }
  const reminderMs = durationMs(run.timing.approvalReminderInterval, 'approvalReminderInterval');
  let reminderDue = Date.now() + reminderMs;
  while (!approved() && !run.stopping) {
    const wait = Math.max(1, reminderDue - Date.now());
    await condition(() => approved() || run.stopping || shouldContinueAsNew(run), wait);
    if (approved() || run.stopping) break;
    await continueAsNewIfDue(run);
    if (Date.now() >= reminderDue) {
      const since = run.state.gate?.since ?? now();
      addTimeline(run.state, {
        at: now(),
        kind: 'reminder',
        message: `still waiting since ${since} for ${waitsFor}`,
      });
      log.warn('approval still pending', { stage, since });
      reminderDue = Date.now() + reminderMs;
      run.refreshDetails();
    }
  }
  run.state.gate = undefined;
  run.refreshDetails();
}

/**
 * Waits for runners on the new template of every MIG; a MIG whose runners do not come up in time fails the
 * health gate (with the activity's and the health check's evidence), which stops the rollout.
 */
export async function verifyRunnersUp(run: RolloutRun, migs: MigProgress[]): Promise<boolean> {
  const plan = run.plan();
  const failed: string[] = [];
  const unverified = await fanOut(run, migs, async (mig) => {
    if (mig.verifiedAt !== undefined) return;
    const count =
      mig.role === 'testing'
        ? Math.max(1, plan.autoscalingWhileTesting.min)
        : Math.min(mig.role === 'canary' ? plan.canarySize : 1, mig.targetSize);
    if (count === 0) {
      mig.verifiedAt = now();
      addTimeline(run.state, { at: now(), kind: 'verified', mig: mig.name, message: 'no instances to verify' });
      return;
    }
    const report = await command(run, mig, [
      { kind: 'wait-runners', template: mig.toTemplate, count, timeout: run.timing.runnersReadyTimeout },
    ]);
    const runners = report.results[0];
    if (report.failure === undefined && runners?.kind === 'runners') {
      mig.verifiedAt = now();
      mig.runnersNew = runners.online;
      return;
    }
    // The wait gives up early, with its own evidence, when the new template's VMs keep crashing (BOOT_LOOP).
    const evidence = [
      report.failure?.type === FailureType.BOOT_LOOP
        ? `${mig.name}: ${report.failure.message}`
        : `${mig.name}: runners on ${mig.toTemplate} not online within ${run.timing.runnersReadyTimeout}: ${report.failure?.message ?? 'no result'}`,
    ];
    try {
      const health = await canaryHealth(run, mig);
      evidence.push(...health.problems.map((problem) => `${mig.name}: ${problem}`));
    } catch (error) {
      evidence.push(`${mig.name}: health evidence unavailable: ${failureMessage(error)}`);
    }
    failed.push(...evidence);
  });
  if (failed.length > 0) {
    failHealthGate(run, failed);
    return false;
  }
  // The MIGs left are verified by the next run, which re-enters the stage.
  if (unverified.length > 0) await continueAsNewNow(run);
  return true;
}

/**
 * Rollouts started before health rounds went to one activity per group of canaries replay one activity per
 * canary.
 */
const HEALTH_ROUNDS_PATCH = 'canary-health-rounds';
/**
 * Canaries one round activity checks. Each carries up to MAX_OBSERVED_CANARY_VMS observations in and out (about
 * 15 kB), so a round's input and answer stay near 150 kB, well inside Temporal's payload limit.
 */
export const HEALTH_ROUND_SIZE = 10;
const HEALTH_CHECK_FAILED = 'health check failed';

export async function checkHealth(run: RolloutRun): Promise<void> {
  const evidence: string[] = [];
  const due = run.takeRound('health', run.canaried());
  const unchecked = patched(HEALTH_ROUNDS_PATCH)
    ? (await fanOut(run, groupsOf(due, HEALTH_ROUND_SIZE), (group) => checkHealthRound(run, group, evidence))).flat()
    : await fanOut(run, due, async (mig) => {
        try {
          noteHealth(run, mig, await canaryHealth(run, mig), evidence);
        } catch (error) {
          noteHealthCheckFailed(mig, failureMessage(error));
        }
      });
  run.refreshDetails();
  if (evidence.length > 0) {
    failHealthGate(run, evidence);
    return;
  }
  if (unchecked.length > 0) await continueAsNewNow(run, { kind: 'health', migs: unchecked.map((mig) => mig.name) });
}

async function checkHealthRound(run: RolloutRun, migs: readonly MigProgress[], evidence: string[]): Promise<void> {
  let outcomes: CanaryHealthOutcome[];
  try {
    outcomes = await healthRounds.canaryHealthRound({ checks: migs.map((mig) => healthRequest(run, mig)) });
  } catch (error) {
    for (const mig of migs) noteHealthCheckFailed(mig, failureMessage(error));
    return;
  }
  for (const mig of migs) {
    const outcome = outcomes.find(
      (candidate) => candidate.mig.name === mig.name && candidate.mig.region === mig.region,
    );
    if (outcome === undefined) noteHealthCheckFailed(mig, 'the health round gave no answer for this MIG');
    else if ('failure' in outcome) noteHealthCheckFailed(mig, outcome.failure);
    else {
      rememberObservations(run, mig, outcome.health);
      noteHealth(run, mig, outcome.health, evidence);
    }
  }
}

function noteHealth(run: RolloutRun, mig: MigProgress, health: CanaryHealth, evidence: string[]): void {
  // A check that could not run once says nothing once the next one has.
  if (mig.problem?.startsWith(HEALTH_CHECK_FAILED) === true) delete mig.problem;
  const consecutiveFailures = health.healthy ? 0 : (mig.health?.consecutiveFailures ?? 0) + 1;
  mig.health = { healthy: health.healthy, problems: [...health.problems], checkedAt: now(), consecutiveFailures };
  mig.runnersNew = health.canaryRunnersOnline;
  if (!health.healthy) {
    addTimeline(run.state, {
      at: now(),
      kind: 'unhealthy',
      mig: mig.name,
      message: `${consecutiveFailures}/${run.timing.unhealthyChecksToRollBack}: ${health.problems.join('; ')}`,
    });
  }
  if (consecutiveFailures >= run.timing.unhealthyChecksToRollBack) {
    evidence.push(...health.problems.map((problem) => `${mig.name}: ${problem}`));
  }
}

/** A health check that cannot run is not evidence against the canary; it is visible, and retried next time. */
function noteHealthCheckFailed(mig: MigProgress, reason: string): void {
  mig.problem = `${HEALTH_CHECK_FAILED}: ${reason}`;
}

function groupsOf<T>(items: readonly T[], size: number): T[][] {
  const groups: T[][] = [];
  for (let start = 0; start < items.length; start += size) groups.push(items.slice(start, start + size));
  return groups;
}

function healthRequest(run: RolloutRun, mig: MigProgress): CanaryHealthRequest {
  const previous = run.observations.get(mig.name);
  return {
    mig: { region: mig.region, name: mig.name },
    canaryTemplate: mig.toTemplate,
    since: mig.updatedAt ?? run.state.startedAt,
    ...(previous === undefined ? {} : { previous }),
  };
}

function rememberObservations(run: RolloutRun, mig: MigProgress, health: CanaryHealth): void {
  if (health.observations !== undefined) {
    run.observations.set(mig.name, { vms: health.observations.vms.slice(-MAX_OBSERVED_CANARY_VMS) });
  }
}

/**
 * One health check of the new template on `mig`. Activities keep no state and canary VMs delete themselves
 * after each job, so what earlier checks saw goes back in as `previous`: without it the jobs of VMs already gone
 * would count as the base's, and a boot loop would show only while a VM happens to be recreated.
 */
async function canaryHealth(run: RolloutRun, mig: MigProgress): Promise<CanaryHealth> {
  const health = await reads.canaryHealth(healthRequest(run, mig));
  rememberObservations(run, mig, health);
  return health;
}

function failHealthGate(run: RolloutRun, evidence: string[]): void {
  recordFailedHealthGate(run.state, evidence, now());
  log.warn('health gate failed; rolling back', { evidence });
  run.refreshDetails();
}
