import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { MigLocator, RolloutActivities } from '../activities/contract.js';
import type { AutoscalingBounds } from '../runner-config/types.js';
import { waitOptions } from './activity-options.js';
import { drains, mutations, reads } from './activity-proxies.js';
import { durationMs } from './durations.js';
import {
  migCommandSignal,
  migReleaseSignal,
  migReportSignal,
  type MigCommand,
  type MigReport,
  type MigStep,
  type MigStepResult,
  type MigWorkerInput,
  type MigWorkerResult,
} from './mig-worker-contract.js';

/**
 * The autoscaling bounds a canary's surge raised the min from, until they are restored. The worker holds them (in
 * its history, and across continue-as-new in its input) because it outlives every command: a failed command, an
 * abort or a rollout that ends before promoting still finds them at the worker's end.
 */
interface Surge {
  from?: AutoscalingBounds;
}

/**
 * The only writer of one MIG during a rollout: runs the rollout's commands one at a time and reports each
 * outcome back. Failures are reported, never thrown, so the worker (and its hold on the MIG) outlives them.
 */
export async function migWorker(input: MigWorkerInput): Promise<MigWorkerResult> {
  const queue: MigCommand[] = [...(input.pending ?? [])];
  let released = input.released ?? false;
  let commandsRun = input.commandsRun ?? 0;
  const surge: Surge = input.surgeFrom === undefined ? {} : { from: input.surgeFrom };
  const end = async (ended: MigWorkerResult['ended']): Promise<MigWorkerResult> => {
    await restoreAtEnd(input.mig, surge);
    return { migName: input.migName, commandsRun, ended };
  };
  setHandler(
    migCommandSignal,
    (command) => {
      queue.push(command);
    },
    { description: 'Internal: a command from the owning rollout (activity steps to run on this MIG).' },
  );
  setHandler(
    migReleaseSignal,
    () => {
      released = true;
    },
    { description: 'Internal: the owning rollout is finished with this MIG; the worker ends.' },
  );
  const rollout = getExternalWorkflowHandle(input.rolloutWorkflowId);
  const livenessMs = durationMs(input.livenessInterval, 'migWorkerLivenessInterval');

  for (;;) {
    const woken = await condition(() => queue.length > 0 || released, livenessMs);
    const command = queue.shift();
    if (command === undefined) {
      if (released) return end('released');
      if (!woken && !(await report(rollout, { kind: 'alive', migName: input.migName }))) return end('rollout-gone');
    } else {
      const result = await runCommand(input, command, surge);
      commandsRun += 1;
      if (!(await report(rollout, result))) return end('rollout-gone');
    }
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > input.maxHistoryEvents) {
      await condition(allHandlersFinished);
      const { surgeFrom: _carried, ...rest } = input;
      await continueAsNew<typeof migWorker>({
        ...rest,
        pending: queue,
        released,
        commandsRun,
        ...(surge.from === undefined ? {} : { surgeFrom: surge.from }),
      });
    }
  }
}

/** Returns false when the rollout no longer exists (closed without releasing us, e.g. terminated). */
async function report(rollout: ReturnType<typeof getExternalWorkflowHandle>, message: MigReport): Promise<boolean> {
  try {
    await rollout.signal(migReportSignal, message);
    return true;
  } catch (error) {
    log.warn('rollout is gone; releasing the MIG', { rollout: rollout.workflowId, error: String(error) });
    return false;
  }
}

async function runCommand(input: MigWorkerInput, command: MigCommand, surge: Surge): Promise<MigReport> {
  const results: MigStepResult[] = [];
  for (const step of command.steps) {
    try {
      results.push(await runStep(input, step, surge));
    } catch (error) {
      const cause = error instanceof ActivityFailure ? error.cause : error;
      const failure = {
        step: step.kind,
        message: cause instanceof Error ? cause.message : String(cause),
        ...(cause instanceof ApplicationFailure && cause.type != null ? { type: cause.type } : {}),
      };
      log.warn('MIG step failed', { mig: input.migName, command: command.id, ...failure });
      return { kind: 'result', migName: input.migName, commandId: command.id, results, failure };
    }
  }
  return { kind: 'result', migName: input.migName, commandId: command.id, results };
}

async function runStep(input: MigWorkerInput, step: MigStep, surge: Surge): Promise<MigStepResult> {
  const mig = input.mig;
  switch (step.kind) {
    case 'get-autoscaling':
      return { kind: 'autoscaling', bounds: await reads.getAutoscaling(mig) };
    case 'set-autoscaling':
      return { kind: 'autoscaling', bounds: await mutations.setAutoscaling({ mig, bounds: step.bounds }) };
    case 'direct-update':
      return versions(await mutations.directUpdate({ mig, template: step.template }));
    case 'canary': {
      // Recorded before the surge, once: a retry after the surge would read the raised min.
      if (step.surge === true && surge.from === undefined) {
        const bounds = await reads.surgeableAutoscaling(mig);
        if (bounds !== null) surge.from = bounds;
      }
      const canary = { mig, template: step.template, canarySize: step.canarySize };
      return versions(await mutations.canaryMig(surge.from === undefined ? canary : { ...canary, surge: true }));
    }
    case 'promote': {
      const result = versions(await mutations.promoteCanary({ mig, template: step.template }));
      await restoreSurge(mig, surge);
      return result;
    }
    case 'rollback-canary': {
      const result = versions(await mutations.rollbackCanary({ mig, canaryTemplate: step.canaryTemplate }));
      await restoreSurge(mig, surge);
      return result;
    }
    case 'wait-runners': {
      const timeoutMs = durationMs(step.timeout, 'runnersReadyTimeout');
      const waits = proxyActivities<RolloutActivities>(waitOptions(timeoutMs));
      const online = await waits.waitForRunners({
        mig,
        template: step.template,
        count: step.count,
        timeoutMinutes: timeoutMs / 60_000,
      });
      return { kind: 'runners', online };
    }
    case 'drain': {
      const drained = await drains.drainIdleRunners(
        step.keepTemplate === undefined ? { mig } : { mig, keepTemplate: step.keepTemplate },
      );
      return {
        kind: 'drain',
        drained: drained.drained,
        skippedBusy: drained.skippedBusy,
        removedStuck: drained.removedStuck,
      };
    }
  }
}

/**
 * Restores the bounds a surge raised the min from. The autoscaler only scales out (surgeableAutoscaling), so the
 * lowered min deletes no VM: the surge's extra VM leaves like any other, after its job.
 */
async function restoreSurge(mig: MigLocator, surge: Surge): Promise<void> {
  if (surge.from === undefined) return;
  await mutations.setAutoscaling({ mig, bounds: surge.from });
  delete surge.from;
}

/** At the worker's end (a canary never promoted nor rolled back); a failure is logged with the bounds to set. */
async function restoreAtEnd(mig: MigLocator, surge: Surge): Promise<void> {
  const from = surge.from;
  try {
    await restoreSurge(mig, surge);
  } catch (error) {
    const cause = error instanceof ActivityFailure ? error.cause : error;
    log.error('could not restore the autoscaling bounds a canary surge raised; set them by hand', {
      mig: mig.name,
      region: mig.region,
      bounds: from,
      error: cause instanceof Error ? cause.message : String(cause),
    });
  }
}

function versions(result: Awaited<ReturnType<RolloutActivities['directUpdate']>>): MigStepResult {
  return { kind: 'versions', applied: result.applied, versions: result.versions };
}
