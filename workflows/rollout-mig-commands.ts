/** Commands to the per-MIG workers: steps sent by signal, their reports awaited, failures pausing the rollout. */
import { condition, getExternalWorkflowHandle, log } from '@temporalio/workflow';
import { type MigReport, type MigStep, migCommandSignal } from './mig-worker-contract.js';
import { continueAsNewNow, fanOut, fanOutMustStop } from './rollout-continuation.js';
import { type MigProgress, type UnfinishedRound, migWorkflowId } from './rollout-contract.js';
import { addTimeline } from './rollout-controls.js';
import { type RolloutRun, failureMessage, now } from './rollout-run.js';
import { recordStep } from './rollout-state.js';

/**
 * Runs `steps` on every MIG through its worker, a bounded number at once. A failed MIG pauses the rollout with
 * the failure as reason; resuming retries the failed MIGs. Returns false when the rollout stopped instead
 * (unless `evenWhenStopping`, used by the rollback itself).
 */
export async function commandEachMig(
  run: RolloutRun,
  migs: MigProgress[],
  label: string,
  steps: (mig: MigProgress) => MigStep[],
  done?: (mig: MigProgress) => void,
  options: { evenWhenStopping?: boolean; round?: UnfinishedRound['kind'] } = {},
): Promise<boolean> {
  const interrupted = (): boolean => options.evenWhenStopping !== true && run.stopping;
  let todo = migs;
  while (todo.length > 0) {
    const failed: MigProgress[] = [];
    const deferred = await fanOut(run, todo, async (mig) => {
      // A long pause must not grow the history either (MIG workers report in while it lasts).
      await condition(() => run.state.pause === undefined || interrupted() || fanOutMustStop(run));
      if (interrupted()) return;
      if (fanOutMustStop(run)) return false;
      const planned = steps(mig);
      const report = await command(run, mig, planned);
      report.results.forEach((result, index) => {
        const step = planned[index];
        if (step !== undefined) recordStep(mig, step, result, now());
      });
      if (report.failure === undefined) {
        mig.problem = undefined;
        done?.(mig);
      } else {
        mig.problem = `${label} failed at ${report.failure.step}: ${report.failure.message}`;
        failed.push(mig);
      }
      run.refreshDetails();
    });
    if (interrupted()) return false;
    if (failed.length > 0) {
      const reason = `${label} failed on ${failed.map((mig) => `${mig.name} (${mig.problem})`).join(', ')}; resume to retry`;
      run.state.pause = { identity: 'rollout', reason, at: now() };
      addTimeline(run.state, { at: now(), kind: 'paused', identity: 'rollout', message: reason });
      log.warn('step failed; rollout paused', { label, failed: failed.map((mig) => mig.name) });
      run.refreshDetails();
    }
    if (deferred.length > 0) {
      // Stage operations resume from each MIG's phase; a repeated round needs its MIGs carried.
      const left = [...failed, ...deferred].map((mig) => mig.name);
      await continueAsNewNow(run, options.round === undefined ? undefined : { kind: options.round, migs: left });
    }
    if (failed.length === 0) return true;
    await condition(() => run.state.pause === undefined || interrupted());
    if (interrupted()) return false;
    todo = failed;
  }
  return true;
}

export async function command(
  run: RolloutRun,
  mig: MigProgress,
  steps: MigStep[],
): Promise<MigReport & { kind: 'result' }> {
  const id = `${run.state.continuedAsNew}-${++run.commandSeq}`;
  run.outstandingCommands += 1;
  try {
    await getExternalWorkflowHandle(migWorkflowId(run.plan().project, mig.name)).signal(migCommandSignal, {
      id,
      steps,
    });
    await condition(() => run.reports.has(id));
    const report = run.reports.get(id)!;
    run.reports.delete(id);
    return report;
  } catch (error) {
    return {
      kind: 'result',
      migName: mig.name,
      commandId: id,
      results: [],
      failure: { step: steps[0]?.kind ?? 'drain', message: `MIG worker unreachable: ${failureMessage(error)}` },
    };
  } finally {
    run.outstandingCommands -= 1;
  }
}
