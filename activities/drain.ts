/**
 * The busy-safe drain: idle runners leave GitHub first (GitHub refuses while one runs a job), and only then do
 * their VMs leave through the MIG; with a template to keep, VMs on other templates that run no job go too.
 */
import { FailureType } from './failures.js';
import { managedInstances, operationOf, toInstanceInfo, waitForOperation } from './mig-reads.js';
import { listRunnersByPrefix, migRunnerPrefix, removeRunner } from './runners.js';
import type { ActivityRuntime } from './runtime.js';
import type { DrainResult, RolloutActivities, RunnerInfo } from './contract.js';

export function createDrainActivities(runtime: ActivityRuntime): Pick<RolloutActivities, 'drainIdleRunners'> {
  const { compute } = runtime.deps;
  const project = runtime.project;
  return {
    async drainIdleRunners({ mig, keepTemplate, dryRun = false, only }) {
      // VMs whose runners an earlier attempt already removed from GitHub: they are idle for good, and without
      // this memory a retry would no longer see them as runners and leave them running.
      const resumed = runtime.previousHeartbeat<{ deregistered: string[] }>()?.deregistered ?? [];
      // Only the listings retry within the attempt: a transient failure among them would otherwise fail a drain
      // before it removed anything. Removals and the deletion are effects, left to the attempt's retry.
      const reads = runtime.retryingReads();
      const igmInstances = await managedInstances(reads, mig);
      const instanceUrl = new Map(igmInstances.map((instance) => [instance.name ?? '', instance.instance ?? '']));
      const instances = igmInstances.map((instance) => toInstanceInfo(instance, undefined));
      const templateOf = new Map(instances.map((info) => [info.name, info.instanceTemplate]));
      const runners = await listRunnersByPrefix(reads, migRunnerPrefix(mig.name));
      const drainable = (runner: RunnerInfo): boolean => {
        const template = templateOf.get(runner.name);
        return (
          runner.online &&
          template !== undefined &&
          (keepTemplate === undefined || template !== keepTemplate) &&
          (only === undefined || only.includes(runner.name))
        );
      };

      const drained: string[] = [];
      const skippedBusy: string[] = [];
      const deregistered = resumed.filter((name) => instanceUrl.has(name));
      for (const runner of runners.filter(drainable)) {
        if (runner.busy) {
          skippedBusy.push(runner.name);
          continue;
        }
        if (dryRun) {
          drained.push(runner.name);
          continue;
        }
        const outcome = await removeRunner(runtime, runner);
        if (outcome === 'busy') {
          skippedBusy.push(runner.name);
          continue;
        }
        drained.push(runner.name);
        deregistered.push(runner.name);
        runtime.heartbeat({ deregistered });
      }
      drained.push(...resumed.filter((name) => instanceUrl.has(name) && !drained.includes(name)));

      const removedStuck: string[] = [];
      const online = new Set(runners.filter((runner) => runner.online).map((runner) => runner.name));
      if (keepTemplate !== undefined) {
        // A VM on another template without an online runner runs no job, whatever its state: booting, stuck,
        // crashing and being recreated by the MIG (a boot-looping canary), or dead with its registration left
        // behind offline (GitHub keeps an ephemeral runner's offline registration for a day). Waiting for it to
        // settle would leave a rollback's bad template in the MIG for as long as the loop lasts.
        for (const instance of instances) {
          // A VM whose template GCP does not report yet cannot be told apart from one on keepTemplate.
          if (
            instance.instanceTemplate !== '' &&
            instance.instanceTemplate !== keepTemplate &&
            instance.currentAction !== 'DELETING' &&
            !online.has(instance.name) &&
            !deregistered.includes(instance.name)
          ) {
            removedStuck.push(instance.name);
          }
        }
      }
      if (removedStuck.length > 0 && !dryRun) {
        // Such a VM may register in the moments since we listed: look once more right before deleting. Its runner
        // leaves GitHub first either way, so one that came online meanwhile is drained like any idle runner (left
        // on the rolled-back template it would take jobs there) and GitHub's refusal (422) while it runs a job
        // keeps its VM.
        const latest = await listRunnersByPrefix(reads, migRunnerPrefix(mig.name), true);
        for (const runner of latest.filter((candidate) => removedStuck.includes(candidate.name))) {
          const outcome = runner.online && runner.busy ? 'busy' : await removeRunner(runtime, runner);
          if (outcome === 'busy') {
            removedStuck.splice(removedStuck.indexOf(runner.name), 1);
            skippedBusy.push(runner.name);
          } else if (runner.online) {
            removedStuck.splice(removedStuck.indexOf(runner.name), 1);
            drained.push(runner.name);
            deregistered.push(runner.name);
            runtime.heartbeat({ deregistered });
          }
        }
      }

      const toDelete = [...new Set([...deregistered, ...removedStuck])];
      if (!dryRun && toDelete.length > 0) {
        const what = `delete ${toDelete.length} VMs of ${mig.name} in ${mig.region}`;
        const result = await runtime.call(
          what,
          () =>
            compute.migs.deleteInstances({
              project,
              region: mig.region,
              instanceGroupManager: mig.name,
              requestId: runtime.attemptRequestId('delete-instances', mig.region, mig.name, ...[...toDelete].sort()),
              regionInstanceGroupManagersDeleteInstancesRequestResource: {
                instances: toDelete.map((name) => instanceUrl.get(name) ?? name),
                // A VM that deleted itself meanwhile must not fail the deletion of the others.
                skipInstancesOnValidationError: true,
              },
            }),
          FailureType.MIG_NOT_FOUND,
        );
        await waitForOperation(runtime, { region: mig.region }, operationOf(result), what);
      }
      const summary: DrainResult = { mig, drained, skippedBusy, removedStuck };
      runtime.log.info(`drain ${mig.name}${dryRun ? ' (dry run)' : ''}`, { ...summary });
      return summary;
    },
  };
}
