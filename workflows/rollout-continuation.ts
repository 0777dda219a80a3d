/**
 * Keeping the history bounded: when to continue as new, fan-outs that stop part-way once the history is long,
 * and what the next run carries (with the round it must finish first).
 */
import { allHandlersFinished, condition, continueAsNew, workflowInfo } from '@temporalio/workflow';
import type { CanaryObservations } from '../activities/contract.js';
import { forEachBounded } from './concurrency.js';
import type { UnfinishedRound } from './rollout-contract.js';
import { addTimeline } from './rollout-controls.js';
import { type RolloutRun, now } from './rollout-run.js';
import type { rollout } from './rollout.js';

function historyPastBudget(run: RolloutRun): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > run.timing.maxHistoryEvents;
}

export function shouldContinueAsNew(run: RolloutRun): boolean {
  return run.outstandingCommands === 0 && historyPastBudget(run);
}

/** Whether a fan-out should start no further MIG, so the run can continue as new. */
export function fanOutMustStop(run: RolloutRun): boolean {
  return run.boundedFanOut && historyPastBudget(run);
}

/**
 * Runs `fn` over `items`, a bounded number at once, like forEachBounded, but starts no further item once the
 * history is long: one pass over a thousand MIGs costs several thousand events. Returns the items not run (also
 * those `fn` declined by returning false); the caller continues as new and the next run takes them up.
 */
export async function fanOut<T>(
  run: RolloutRun,
  items: readonly T[],
  fn: (item: T) => Promise<boolean | void>,
): Promise<T[]> {
  const deferred: T[] = [];
  await forEachBounded(items, run.timing.maxConcurrency, async (item) => {
    if (fanOutMustStop(run) || (await fn(item)) === false) deferred.push(item);
  });
  return deferred;
}

/** Continues as new with the whole state once history is long; only at points with no command in flight. */
export async function continueAsNewIfDue(run: RolloutRun): Promise<void> {
  if (!shouldContinueAsNew(run)) return;
  await continueAsNewNow(run);
}

/** Continues as new now (once no command is in flight), with `round` to finish first if one was cut short. */
export async function continueAsNewNow(run: RolloutRun, round?: UnfinishedRound): Promise<never> {
  await condition(() => run.outstandingCommands === 0 && allHandlersFinished());
  run.state.continuedAsNew += 1;
  addTimeline(run.state, {
    at: now(),
    kind: 'continued-as-new',
    message: `history reached ${workflowInfo().historyLength} events`,
  });
  return continueAsNew<typeof rollout>({
    ...run.input,
    continued: {
      state: run.state,
      processedUpdateIds: run.processedUpdateIds,
      claimedMigWorkers: run.claimedMigWorkers,
      canaryObservations: carriedObservations(run),
      ...(round === undefined ? {} : { unfinishedRound: round }),
    },
  });
}

/** Observations of MIGs still checked: those being tested or carrying an unpromoted canary. */
function carriedObservations(run: RolloutRun): Record<string, CanaryObservations> {
  const carried: Record<string, CanaryObservations> = {};
  for (const mig of [...run.migs('testing'), ...run.canaried()]) {
    const observed = run.observations.get(mig.name);
    if (observed !== undefined && mig.phase !== 'restored') carried[mig.name] = observed;
  }
  return carried;
}
