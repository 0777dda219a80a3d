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
import type { RolloutActivities } from '../activities/types.js';
import { drainOptions, mutationOptions, readOptions, waitOptions } from './activity-options.js';
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

const reads = proxyActivities<RolloutActivities>(readOptions);
const mutations = proxyActivities<RolloutActivities>(mutationOptions);
const drains = proxyActivities<RolloutActivities>(drainOptions);

/**
 * The only writer of one MIG during a rollout: runs the rollout's commands one at a time and reports each
 * outcome back. Failures are reported, never thrown, so the worker (and its hold on the MIG) outlives them.
 */
export async function migWorker(input: MigWorkerInput): Promise<MigWorkerResult> {
  const queue: MigCommand[] = [...(input.pending ?? [])];
  let released = input.released ?? false;
  let commandsRun = input.commandsRun ?? 0;
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
      if (released) return { migName: input.migName, commandsRun, ended: 'released' };
      if (!woken && !(await report(rollout, { kind: 'alive', migName: input.migName }))) {
        return { migName: input.migName, commandsRun, ended: 'rollout-gone' };
      }
    } else {
      const result = await runCommand(input, command);
      commandsRun += 1;
      if (!(await report(rollout, result))) return { migName: input.migName, commandsRun, ended: 'rollout-gone' };
    }
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > input.maxHistoryEvents) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof migWorker>({ ...input, pending: queue, released, commandsRun });
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

async function runCommand(input: MigWorkerInput, command: MigCommand): Promise<MigReport> {
  const results: MigStepResult[] = [];
  for (const step of command.steps) {
    try {
      results.push(await runStep(input, step));
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

async function runStep(input: MigWorkerInput, step: MigStep): Promise<MigStepResult> {
  const mig = input.mig;
  switch (step.kind) {
    case 'get-autoscaling':
      return { kind: 'autoscaling', bounds: await reads.getAutoscaling(mig) };
    case 'set-autoscaling':
      return { kind: 'autoscaling', bounds: await mutations.setAutoscaling({ mig, bounds: step.bounds }) };
    case 'direct-update':
      return versions(await mutations.directUpdate({ mig, template: step.template }));
    case 'canary':
      return versions(await mutations.canaryMig({ mig, template: step.template, canarySize: step.canarySize }));
    case 'promote':
      return versions(await mutations.promoteCanary({ mig, template: step.template }));
    case 'rollback-canary':
      return versions(await mutations.rollbackCanary({ mig, canaryTemplate: step.canaryTemplate }));
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

function versions(result: Awaited<ReturnType<RolloutActivities['directUpdate']>>): MigStepResult {
  return { kind: 'versions', applied: result.applied, versions: result.versions };
}
