/**
 * Preflight: the plan and its problems, waiting out MIGs caught mid-change, and claiming (and releasing) the
 * per-MIG workers that make this rollout the one writer of its MIGs.
 */
import {
  ApplicationFailure,
  ParentClosePolicy,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { MigSnapshot, PreflightProblem, RolloutActivities } from '../activities/contract.js';
import type { Environment } from '../runner-config/types.js';
import { waitOptions } from './activity-options.js';
import { forEachBounded } from './concurrency.js';
import { durationMs } from './durations.js';
import { migReleaseSignal } from './mig-worker-contract.js';
import { migWorker } from './mig-worker.js';
import { continueAsNewNow, fanOut } from './rollout-continuation.js';
import {
  MIG_SETTLE_WAIT,
  ROLLOUT_FAILURE_TYPES,
  RolloutEnvironmentSearchAttribute,
  type RolloutInput,
  type RolloutPlan,
  RolloutStageSearchAttribute,
  RolloutVersionSearchAttribute,
  migWorkflowId,
  problemsToWaitOut,
} from './rollout-contract.js';
import { addTimeline } from './rollout-controls.js';
import { buildPlan, inputProblems, neededTemplates, resolveSelection } from './rollout-plan.js';
import { reads } from './activity-proxies.js';
import { type RolloutRun, failureMessage, now } from './rollout-run.js';
import { plannedMigs } from './rollout-state.js';

const STABILITY_WAIT_MS = durationMs(MIG_SETTLE_WAIT, 'stability wait');
const stabilityWaits = proxyActivities<RolloutActivities>(waitOptions(STABILITY_WAIT_MS));

/** Plans made before workers reported their slots asked for none; their histories replay without the read. */
const WORKER_SLOTS_PATCH = 'plan-reads-worker-slots';

export async function makePlan(input: RolloutInput): Promise<RolloutPlan> {
  const problems = inputProblems(input);
  const fleet = await reads.loadFleet();
  const activitySlots = patched(WORKER_SLOTS_PATCH) ? await reads.workerActivitySlots() : null;
  const selected: Partial<Record<Environment, MigSnapshot[]>> = {};
  let missingTemplates: string[] = [];
  if (problems.length === 0) {
    const selection = resolveSelection(input);
    for (const environment of selection.environments) {
      try {
        selected[environment] = await reads.selectMigs({
          environment,
          regions: selection.regions,
          groups: selection.groups,
          types: selection.types,
        });
      } catch (error) {
        problems.push({ code: 'read-failed', message: `listing ${environment} MIGs failed: ${failureMessage(error)}` });
      }
    }
    const needed = neededTemplates(fleet, input.version, selected);
    problems.push(...needed.problems);
    if (needed.names.length > 0) {
      try {
        missingTemplates = await reads.missingTemplates(needed.names);
      } catch (error) {
        problems.push({ code: 'read-failed', message: `checking templates failed: ${failureMessage(error)}` });
      }
    }
  }
  return buildPlan({
    input,
    fleet,
    selected,
    missingTemplates,
    earlierProblems: problems,
    ...(activitySlots === null ? {} : { activitySlots }),
  });
}

export async function preflight(run: RolloutRun): Promise<void> {
  if (run.state.plan === undefined) await planAndSettle(run);
  const plan = run.plan();
  // Claims are checked even when the plan has problems, so the operator sees every problem at once.
  await claimMigWorkers(run, plan);
  const problems = [...plan.problems, ...run.state.problems];
  if (problems.length > 0) {
    run.state.problems = problems;
    if (run.boundedFanOut) {
      // The stage first: releasing a thousand workers may continue as new, and the next run must not claim again.
      run.enterStage('failed-preflight');
      await releaseMigWorkers(run);
    } else {
      await releaseMigWorkers(run);
      run.enterStage('failed-preflight');
    }
    throw preflightFailure(problems);
  }
  const next = plan.stages[1];
  run.enterStage(next === undefined || next === 'done' ? 'done' : next);
}

async function planAndSettle(run: RolloutRun): Promise<void> {
  if (run.searchAttributesEnabled) {
    upsertSearchAttributes([
      { key: RolloutVersionSearchAttribute, value: run.input.version },
      { key: RolloutEnvironmentSearchAttribute, value: [...resolveSelection(run.input).environments] },
      { key: RolloutStageSearchAttribute, value: 'preflight' },
    ]);
  }
  const plan = await makePlan(run.input);
  run.state.plan = plan;
  run.state.migs = plannedMigs(plan);
  addTimeline(run.state, {
    at: now(),
    kind: 'planned',
    identity: run.input.requestedBy,
    message: `${plan.migs.length} MIGs, stages ${plan.stages.join(' -> ')}, soak ${plan.soak}`,
  });
  run.refreshDetails();
  const settled = await settleUnstableMigs(run, plan.problems);
  if (settled.length !== plan.problems.length) run.state.plan = { ...plan, problems: settled };
}

/**
 * Waits for each MIG caught mid-change to settle (stable, version target reached) when instability is all that
 * stands in the way ({@link problemsToWaitOut}), and returns the problems left.
 */
async function settleUnstableMigs(run: RolloutRun, problems: readonly PreflightProblem[]): Promise<PreflightProblem[]> {
  const unstable = problemsToWaitOut(problems);
  if (unstable.length === 0) return [...problems];
  const remaining: PreflightProblem[] = [];
  await forEachBounded(unstable, run.timing.maxConcurrency, async (problem) => {
    const mig = run.state.migs.find((candidate) => candidate.name === problem.mig);
    if (mig === undefined) {
      remaining.push(problem);
      return;
    }
    try {
      await stabilityWaits.waitForMigStable(
        { region: mig.region, name: mig.name },
        { timeoutMinutes: STABILITY_WAIT_MS / 60_000 },
      );
    } catch (error) {
      remaining.push({
        ...problem,
        message: `${problem.message} (waited ${MIG_SETTLE_WAIT}: ${failureMessage(error)})`,
      });
    }
  });
  if (remaining.length < unstable.length) {
    addTimeline(run.state, {
      at: now(),
      kind: 'settled',
      message: `${unstable.length - remaining.length} MIG(s) settled after being caught mid-change`,
    });
  }
  return remaining;
}

/**
 * Starts one worker per MIG; a worker id already running means another rollout owns that MIG, recorded as a
 * problem. Resumes where an earlier run stopped: MIGs already claimed or found owned are not tried again.
 */
async function claimMigWorkers(run: RolloutRun, plan: RolloutPlan): Promise<void> {
  const claimed = new Set(run.claimedMigWorkers);
  const owned = new Set(run.state.problems.map((problem) => problem.mig));
  const unclaimed = run.state.migs.filter(
    (mig) => !claimed.has(migWorkflowId(plan.project, mig.name)) && !owned.has(mig.name),
  );
  const deferred = await fanOut(run, unclaimed, async (mig) => {
    const workflowId = migWorkflowId(plan.project, mig.name);
    try {
      await startChild(migWorker, {
        workflowId,
        // The worker must outlive this run when the rollout continues as new; it ends on release, or by
        // itself once it notices the rollout is gone.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        staticSummary: `${mig.role} ${mig.name} -> ${mig.toTemplate} (rollout ${plan.version})`,
        staticDetails: `Rollout \`${workflowInfo().workflowId}\` owns MIG \`${mig.name}\` (${mig.region}).\n\nPlanned change: ${mig.patch}`,
        args: [
          {
            rolloutWorkflowId: workflowInfo().workflowId,
            migName: mig.name,
            mig: { region: mig.region, name: mig.name },
            livenessInterval: run.timing.migWorkerLivenessInterval,
            maxHistoryEvents: run.timing.maxHistoryEvents,
          },
        ],
      });
      run.claimedMigWorkers.push(workflowId);
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      run.state.problems.push({
        mig: mig.name,
        code: 'mig-in-another-rollout',
        message: `MIG ${mig.name} is being changed by another rollout (worker ${workflowId} is running)`,
      });
    }
  });
  if (deferred.length > 0) await continueAsNewNow(run);
}

export async function releaseMigWorkers(run: RolloutRun): Promise<void> {
  const deferred = await fanOut(run, [...run.claimedMigWorkers], async (workflowId) => {
    try {
      await getExternalWorkflowHandle(workflowId).signal(migReleaseSignal);
    } catch (error) {
      log.warn('MIG worker already gone', { workflowId, error: String(error) });
    }
    run.claimedMigWorkers = run.claimedMigWorkers.filter((claimed) => claimed !== workflowId);
  });
  if (deferred.length > 0) await continueAsNewNow(run);
}

export function preflightFailure(problems: readonly PreflightProblem[]): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `preflight found ${problems.length} problem(s); nothing was changed:\n` +
      problems
        .map((problem) => `- ${problem.mig === undefined ? '' : `${problem.mig}: `}${problem.message}`)
        .join('\n'),
    ROLLOUT_FAILURE_TYPES.preflightFailed,
    problems,
  );
}
