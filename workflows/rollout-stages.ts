/** The rollout's stages after preflight (test, canary, soak, promote, converge), the rollback and the end. */
import { condition, patched } from '@temporalio/workflow';
import { reads } from './activity-proxies.js';
import { durationMs } from './durations.js';
import type { MigStep } from './mig-worker-contract.js';
import { continueAsNewIfDue, continueAsNewNow, fanOut, shouldContinueAsNew } from './rollout-continuation.js';
import type { RolloutResult, RolloutState } from './rollout-contract.js';
import { addTimeline } from './rollout-controls.js';
import { checkHealth, gate, verifyRunnersUp } from './rollout-gates.js';
import { commandEachMig } from './rollout-mig-commands.js';
import { releaseMigWorkers } from './rollout-preflight.js';
import { type RolloutRun, failureMessage, now } from './rollout-run.js';
import { rolloutResult } from './rollout-state.js';

/**
 * Runs that began after the soak's end, continued as new when its last wait ended, promoted without the round due
 * at the end; their histories replay without it.
 */
const SOAK_LAST_ROUND_PATCH = 'soak-last-round';

/**
 * Runs that began their soak after this change run its health rounds on a schedule fixed by the soak's start: a
 * round every interval and one at the end, each after a timer. Earlier histories replay rounds timed from the
 * moment the last one started, with no timer when one was already due. The workflow's clock can read early: the
 * SDK applies an activity's or timer's result ahead of a query with the previous task's time, so a choice made from
 * it (a timer or not, one round more or not) replays differently.
 */
const SOAK_SCHEDULE_PATCH = 'soak-rounds-on-schedule';

/**
 * Runs that began canarying after this change ask the MIG workers for a surge (mig-worker-contract.ts) where the
 * autoscaler allows it; earlier histories replay with the canary command they sent.
 */
const CANARY_SURGE_PATCH = 'canary-surge';

export async function testStage(run: RolloutRun): Promise<void> {
  const plan = run.plan();
  const testing = run.migs('testing');
  const updated = await commandEachMig(
    run,
    testing.filter((mig) => mig.phase === 'planned'),
    'test update',
    (mig) => [
      ...(mig.previousAutoscaling === undefined ? [{ kind: 'get-autoscaling' } as const] : []),
      // Update before raising the bounds: VMs the autoscaler creates in between would boot on the old template.
      { kind: 'direct-update', template: mig.toTemplate },
      { kind: 'set-autoscaling', bounds: plan.autoscalingWhileTesting },
    ],
  );
  if (!updated) return;
  if (
    !(await verifyRunnersUp(
      run,
      testing.filter((mig) => mig.phase === 'updated'),
    ))
  )
    return;
  await gate(run, 'test', 'test approval: runners on the new version are online in the testing group');
  if (run.stopping) return;
  const restored = await commandEachMig(
    run,
    testing.filter((mig) => mig.phase === 'updated'),
    'restore testing',
    (mig) => [
      {
        kind: 'set-autoscaling',
        bounds: mig.previousAutoscaling ?? run.fleetAutoscaling(),
      },
      { kind: 'drain' },
    ],
    (mig) => {
      mig.phase = 'restored';
    },
  );
  if (restored) run.enterStage(plan.environments.includes('prod') ? 'canary' : 'done');
}

export async function canaryStage(run: RolloutRun): Promise<void> {
  const plan = run.plan();
  const canaried = await commandEachMig(
    run,
    [...run.migs('canary'), ...run.migs('direct-first')].filter((mig) => mig.phase === 'planned'),
    'canary',
    (mig) =>
      mig.role === 'canary'
        ? [
            {
              kind: 'canary',
              template: mig.toTemplate,
              canarySize: plan.canarySize,
              ...(patched(CANARY_SURGE_PATCH) ? { surge: true } : {}),
            },
          ]
        : [{ kind: 'direct-update', template: mig.toTemplate }],
  );
  if (!canaried) return;
  if (!(await verifyRunnersUp(run, run.canaried()))) return;
  run.enterStage('soak');
}

export async function soakStage(run: RolloutRun): Promise<void> {
  const plan = run.plan();
  if (run.state.soak === undefined) {
    const startedAt = Date.now();
    run.state.soak = {
      startedAt: new Date(startedAt).toISOString(),
      endsAt: new Date(startedAt + durationMs(plan.soak, 'soak')).toISOString(),
      duration: plan.soak,
      ...(plan.plannedSoakReason === undefined ? {} : { reason: plan.plannedSoakReason }),
    };
    run.refreshDetails();
  }
  const endsAt = Date.parse(run.state.soak.endsAt);
  const interval = durationMs(run.timing.healthCheckInterval, 'healthCheckInterval');
  const onSchedule = patched(SOAK_SCHEDULE_PATCH);
  const roundLeft = onSchedule ? scheduledRoundLeft : soakRoundLeft;
  while (!run.stopping && roundLeft(run, run.state.soak)) {
    if (run.unfinishedRound?.kind !== 'health') {
      // From the latest round, not from now: a continue-as-new during the wait must not restart it.
      const lastCheckAt = run.state.soak.lastCheckAt ?? run.state.soak.startedAt;
      const dueAt = Math.min(Date.parse(lastCheckAt) + interval, endsAt);
      const wait = dueAt - Date.now();
      if (onSchedule) await condition(() => run.stopping || shouldContinueAsNew(run), Math.max(wait, 1));
      else if (wait > 0) await condition(() => run.stopping || shouldContinueAsNew(run), wait);
      if (run.stopping) return;
      await continueAsNewIfDue(run);
      run.state.soak.lastCheckAt = onSchedule ? new Date(dueAt).toISOString() : now();
    }
    await checkHealth(run);
  }
  if (!run.stopping) run.enterStage('promote');
}

/**
 * Whether the soak has a round of health checks to run: one cut short by a continue-as-new (finished first, even
 * when the soak's end came meanwhile), or the round due at the soak's end. That one counts as done only once it
 * has started, not once the end has passed: a run continued as new just as the last wait ended still owes it.
 */
function soakRoundLeft(run: RolloutRun, soak: NonNullable<RolloutState['soak']>): boolean {
  if (run.unfinishedRound?.kind === 'health') return true;
  const endsAt = Date.parse(soak.endsAt);
  if (Date.parse(soak.lastCheckAt ?? soak.startedAt) >= endsAt) return false;
  return Date.now() < endsAt || patched(SOAK_LAST_ROUND_PATCH);
}

/**
 * Whether the soak has a round of health checks to run: one cut short by a continue-as-new, or the next on the
 * soak's schedule. The schedule counts rounds from the soak's start, so how many there are never depends on when a
 * workflow task ran.
 */
function scheduledRoundLeft(run: RolloutRun, soak: NonNullable<RolloutState['soak']>): boolean {
  if (run.unfinishedRound?.kind === 'health') return true;
  return Date.parse(soak.lastCheckAt ?? soak.startedAt) < Date.parse(soak.endsAt);
}

export async function promoteStage(run: RolloutRun): Promise<void> {
  const auto = run.input.autoApprove === true || run.input.autoPromote === true;
  await gate(
    run,
    'promote',
    `promote approval: the soak of ${run.plan().soak} passed its health gates`,
    auto ? 'autoPromote' : undefined,
  );
  if (run.stopping) return;
  const promoted = await commandEachMig(
    run,
    [...run.migs('canary'), ...run.migs('direct-rest')].filter(
      (mig) => mig.phase === 'canary' || (mig.role === 'direct-rest' && mig.phase === 'planned'),
    ),
    'promote',
    (mig) =>
      mig.role === 'canary'
        ? [{ kind: 'promote', template: mig.toTemplate }]
        : [{ kind: 'direct-update', template: mig.toTemplate }],
  );
  if (promoted) run.enterStage('converge');
}

export async function convergeStage(run: RolloutRun): Promise<void> {
  const interval = durationMs(run.timing.convergeInterval, 'convergeInterval');
  for (;;) {
    const pending = run.state.migs.filter(
      (mig) => mig.role !== 'testing' && mig.phase !== 'converged' && mig.phase !== 'rolled-back',
    );
    // A run that stopped part-way through the drains resumes them; the convergence reads of that round are done.
    const resumingDrains = run.unfinishedRound?.kind === 'drain';
    const read = resumingDrains ? [] : run.takeRound('convergence', pending);
    const unread = await fanOut(run, read, async (mig) => {
      try {
        const progress = await reads.convergence({
          mig: { region: mig.region, name: mig.name },
          targetTemplate: mig.toTemplate,
        });
        mig.instancesNew = progress.instancesOnTarget;
        mig.instancesOld = progress.instancesTotal - progress.instancesOnTarget;
        mig.runnersNew = progress.runnersOnTarget;
        mig.runnersOld = progress.runnersOld;
        if (progress.versionTargetReached && mig.instancesOld === 0 && progress.runnersOld === 0) {
          mig.phase = 'converged';
          addTimeline(run.state, {
            at: now(),
            kind: 'converged',
            mig: mig.name,
            message: 'every instance on the new template',
          });
        }
      } catch (error) {
        mig.problem = `convergence check failed: ${failureMessage(error)}`;
      }
    });
    if (unread.length > 0) await continueAsNewNow(run, { kind: 'convergence', migs: unread.map((mig) => mig.name) });
    const remaining = pending.filter((mig) => mig.phase !== 'converged');
    run.refreshDetails();
    if (remaining.length === 0) break;
    if (run.state.pause === undefined) {
      await commandEachMig(
        run,
        run.takeRound('drain', remaining),
        'drain old idle runners',
        (mig) => [{ kind: 'drain', keepTemplate: mig.toTemplate }],
        undefined,
        { round: 'drain' },
      );
    } else if (resumingDrains) {
      // Paused: the drains are skipped this round, as they would have been without the continue-as-new.
      run.unfinishedRound = undefined;
    }
    if (run.stopping) return;
    await condition(() => run.stopping || shouldContinueAsNew(run), interval);
    if (run.stopping) return;
    await continueAsNewIfDue(run);
  }
  run.enterStage('done');
}

/** Rolls back whatever carries the new version without being promoted, then ends the rollout. */
export async function stopAndRollBack(run: RolloutRun): Promise<RolloutResult> {
  const stop = run.state.stop!;
  run.state.gate = undefined;
  const fleetBounds = run.fleetAutoscaling();
  const targets = run.state.migs.filter((mig) =>
    mig.role === 'canary'
      ? mig.phase === 'canary'
      : (mig.role === 'testing' || mig.role === 'direct-first') && mig.phase === 'updated',
  );
  addTimeline(run.state, {
    at: now(),
    kind: 'rolling-back',
    message:
      targets.length === 0 ? 'nothing to roll back' : `rolling back ${targets.map((mig) => mig.name).join(', ')}`,
  });
  // Taking the canary version away, or updating back, replaces no VM by itself: idle VMs still on the new
  // template are drained so the MIG recreates them on the old one; busy ones leave after their job.
  await commandEachMig(
    run,
    targets,
    'rollback',
    (mig): MigStep[] =>
      mig.role === 'canary'
        ? [
            { kind: 'rollback-canary', canaryTemplate: mig.toTemplate },
            { kind: 'drain', keepTemplate: mig.fromTemplate },
          ]
        : mig.role === 'testing'
          ? [
              { kind: 'direct-update', template: mig.fromTemplate },
              { kind: 'set-autoscaling', bounds: mig.previousAutoscaling ?? fleetBounds },
              { kind: 'drain' },
            ]
          : [
              { kind: 'direct-update', template: mig.fromTemplate },
              { kind: 'drain', keepTemplate: mig.fromTemplate },
            ],
    (mig) => {
      mig.phase = 'rolled-back';
    },
    { evenWhenStopping: true },
  );
  return finish(run, stop.kind === 'abort' ? 'aborted' : 'rolled-back');
}

export async function finish(run: RolloutRun, outcome: RolloutResult['outcome']): Promise<RolloutResult> {
  await releaseMigWorkers(run);
  const finalStage = outcome === 'completed' ? 'done' : outcome;
  if (run.state.stage !== finalStage) run.enterStage(finalStage);
  return rolloutResult(run.state, outcome, now());
}
