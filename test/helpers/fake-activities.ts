/**
 * Typed activity mocks for workflow tests: `RolloutActivities` over a {@link FakeFleet}. Mutations follow the MIG
 * semantics the workflows rely on (one `base` version before a canary, idempotent re-application), and every call
 * goes through the fleet, which logs it and applies the faults and holds the test asked for.
 */
import { ApplicationFailure } from '@temporalio/common';
import type {
  CanaryHealth,
  CanaryHealthOutcome,
  CanaryObservations,
  ConvergenceProgress,
  DrainResult,
  RolloutActivities,
} from '../../activities/contract.js';
import { migNameOf, selectMigRefs, versionTemplates } from '../../runner-config/matrix.js';
import type { FakeFleet, FakeMig } from './fake-fleet.js';

export function fakeActivities(fleet: FakeFleet): RolloutActivities {
  const activities: RolloutActivities = {
    loadFleet: async () => {
      await fleet.enter('loadFleet');
      return fleet.fleet;
    },
    workerActivitySlots: async () => {
      await fleet.enter('workerActivitySlots');
      return null;
    },
    selectMigs: async (selection) => {
      await fleet.enter('selectMigs', undefined, selection.environment);
      return selectMigRefs(fleet.fleet, selection)
        .map((ref) => fleet.migs.get(migNameOf(fleet.fleet, ref)))
        .filter((mig): mig is FakeMig => mig !== undefined)
        .map((mig) => fleet.snapshot(mig));
    },
    missingTemplates: async (names) => {
      await fleet.enter('missingTemplates');
      return names.filter((name) => !fleet.templates.has(name));
    },
    createTemplates: async ({ version }) => {
      await fleet.enter('createTemplates', undefined, version);
      const created: string[] = [];
      const existing: string[] = [];
      for (const { name } of versionTemplates(fleet.fleet, version)) {
        (fleet.templates.has(name) ? existing : created).push(name);
        fleet.templates.add(name);
      }
      return { created, existing };
    },
    canaryMig: async ({ mig: locator, template, canarySize, surge }) => {
      await fleet.enter('canaryMig', locator.name, template);
      const mig = fleet.mig(locator.name);
      const canary = mig.versions.find((version) => version.name === 'canary');
      if (canary?.instanceTemplate === template) return fleet.updateResult(mig, false);
      if (mig.versions.length !== 1 || mig.versions[0]?.name !== 'base') {
        throw fleet.precondition(`${mig.name} must have exactly one base version`);
      }
      mig.versions = [
        ...mig.versions,
        { name: 'canary', instanceTemplate: template, targetSize: { fixed: canarySize } },
      ];
      if (surge === true && !fleet.notSurgeable.has(mig.name)) {
        // Room by a surge: the autoscaler's min above the MIG's size, and the new VM on the canary.
        const surgedTo = mig.instances.length + canarySize;
        mig.autoscaling = { min: surgedTo, max: Math.max(mig.autoscaling.max, surgedTo) };
        mig.instances.push(...Array.from({ length: canarySize }, () => template));
        return { ...fleet.updateResult(mig, true), surgedTo };
      }
      for (let index = 0; index < Math.min(canarySize, mig.instances.length); index++) mig.instances[index] = template;
      return fleet.updateResult(mig, true);
    },
    promoteCanary: async ({ mig: locator, template }) => {
      await fleet.enter('promoteCanary', locator.name, template);
      const mig = fleet.mig(locator.name);
      const canary = mig.versions.find((version) => version.name === 'canary');
      if (canary === undefined) {
        if (template !== undefined && mig.versions[0]?.instanceTemplate === template) {
          return fleet.updateResult(mig, false);
        }
        throw fleet.precondition(`${mig.name} has no canary to promote`);
      }
      mig.versions = [{ name: 'base', instanceTemplate: canary.instanceTemplate }];
      return fleet.updateResult(mig, true);
    },
    rollbackCanary: async ({ mig: locator }) => {
      await fleet.enter('rollbackCanary', locator.name);
      const mig = fleet.mig(locator.name);
      const base = mig.versions.find((version) => version.name === 'base');
      if (base === undefined) throw fleet.precondition(`${mig.name} has no base version`);
      if (mig.versions.length === 1) return fleet.updateResult(mig, false);
      mig.versions = [base];
      mig.instances = mig.instances.map(() => base.instanceTemplate);
      return fleet.updateResult(mig, true);
    },
    directUpdate: async ({ mig: locator, template }) => {
      await fleet.enter('directUpdate', locator.name, template);
      const mig = fleet.mig(locator.name);
      if (mig.versions.length === 1 && mig.versions[0]?.instanceTemplate === template) {
        return fleet.updateResult(mig, false);
      }
      mig.versions = [{ name: 'base', instanceTemplate: template }];
      // Direct updates in this fake replace instances at once (a100 MIGs hold one VM).
      mig.instances = mig.instances.map(() => template);
      return fleet.updateResult(mig, true);
    },
    getAutoscaling: async (locator) => {
      await fleet.enter('getAutoscaling', locator.name);
      return fleet.mig(locator.name).autoscaling;
    },
    surgeableAutoscaling: async (locator) => {
      await fleet.enter('surgeableAutoscaling', locator.name);
      return fleet.notSurgeable.has(locator.name) ? null : fleet.mig(locator.name).autoscaling;
    },
    setAutoscaling: async ({ mig: locator, bounds }) => {
      await fleet.enter('setAutoscaling', locator.name, `${bounds.min}..${bounds.max}`);
      const mig = fleet.mig(locator.name);
      mig.autoscaling = bounds;
      const base = mig.versions[0]?.instanceTemplate ?? '';
      while (mig.instances.length < bounds.min) mig.instances.push(base);
      return bounds;
    },
    listRunners: async ({ namePrefix }) => {
      await fleet.enter('listRunners', undefined, namePrefix);
      return [...fleet.migs.values()]
        .filter((mig) => mig.name.startsWith(namePrefix))
        .flatMap((mig) => fleet.runners(mig));
    },
    waitForRunners: async ({ mig: locator, template, count }) => {
      await fleet.enter('waitForRunners', locator.name, template);
      if (fleet.runnersNeverReady.has(locator.name)) {
        throw ApplicationFailure.nonRetryable(
          `only 0 of ${count} runners on ${template} came online in ${locator.name}`,
          'WAIT_TIMED_OUT',
        );
      }
      return count;
    },
    waitForMigStable: async (locator) => {
      await fleet.enter('waitForMigStable', locator.name);
      return fleet.snapshot(fleet.mig(locator.name));
    },
    drainIdleRunners: async ({ mig: locator, keepTemplate, dryRun }): Promise<DrainResult> => {
      await fleet.enter('drainIdleRunners', locator.name, keepTemplate);
      const mig = fleet.mig(locator.name);
      const drained: string[] = [];
      if (keepTemplate === undefined) {
        drained.push(...mig.instances.map((_, index) => `${mig.name}-${index}`));
        if (dryRun !== true) mig.instances = mig.instances.slice(0, mig.autoscaling.min);
      } else {
        const base = mig.versions[0]?.instanceTemplate ?? keepTemplate;
        for (let index = 0; index < mig.instances.length && drained.length < fleet.drainBatch; index++) {
          if (mig.instances[index] === keepTemplate) continue;
          drained.push(`${mig.name}-${index}`);
          // The MIG recreates a drained VM on its current template.
          if (dryRun !== true) mig.instances[index] = base;
        }
      }
      return { mig: locator, drained, skippedBusy: [], removedStuck: [] };
    },
    canaryHealth: async ({ mig: locator, canaryTemplate, previous }): Promise<CanaryHealth> => {
      await fleet.enter('canaryHealth', locator.name);
      const seen = fleet.healthChecks.filter((check) => check.mig === locator.name).length;
      const observations: CanaryObservations = {
        vms: [
          ...(previous?.vms ?? []),
          ...Array.from({ length: fleet.canaryVmsPerCheck }, (_, index) => ({
            name: `${locator.name}-canary-${seen}-${index}`,
            lives: [new Date(0).toISOString()],
            registered: true,
          })),
        ],
      };
      fleet.healthChecks.push({ mig: locator.name, previous, returned: observations });
      const mig = fleet.mig(locator.name);
      const canaryInstances = mig.instances.filter((template) => template === canaryTemplate).length;
      const unhealthy = fleet.unhealthy.has(mig.name);
      if (unhealthy) mig.recreations += 1;
      return {
        mig: locator,
        healthy: !unhealthy,
        problems: unhealthy ? [`canary VM recreated ${mig.recreations} times since the canary started (bootloop)`] : [],
        canaryInstances,
        canaryRunnersOnline: unhealthy ? 0 : canaryInstances,
        canaryRecreations: mig.recreations,
        canaryJobs: { succeeded: unhealthy ? 0 : 5, failed: unhealthy ? 3 : 0 },
        baseJobs: { succeeded: 20, failed: 0 },
        observations,
      };
    },
    // The real round's contract over the fake per-canary check: each canary answers, or fails on its own.
    canaryHealthRound: async ({ checks }) => {
      const outcomes: CanaryHealthOutcome[] = [];
      for (const check of checks) {
        try {
          outcomes.push({ mig: check.mig, health: await activities.canaryHealth(check) });
        } catch (error) {
          outcomes.push({ mig: check.mig, failure: error instanceof Error ? error.message : String(error) });
        }
      }
      return outcomes;
    },
    convergence: async ({ mig: locator, targetTemplate }): Promise<ConvergenceProgress> => {
      await fleet.enter('convergence', locator.name);
      const mig = fleet.mig(locator.name);
      const onTarget = mig.instances.filter((template) => template === targetTemplate).length;
      return {
        mig: locator,
        targetTemplate,
        instancesOnTarget: onTarget,
        instancesTotal: mig.instances.length,
        runnersOnTarget: onTarget,
        runnersOld: mig.instances.length - onTarget,
        versionTargetReached: fleet.targetReached(mig),
        isStable: mig.isStable,
      };
    },
    latestRunnerRelease: async () => {
      await fleet.enter('latestRunnerRelease');
      return null;
    },
    verifyRunnerArchive: async ({ url }) => {
      await fleet.enter('verifyRunnerArchive', undefined, url);
      throw ApplicationFailure.nonRetryable(`the fake fleet serves no archive at ${url}`, 'INVALID_REQUEST');
    },
    describeRollouts: async ({ workflowIds }) => {
      await fleet.enter('describeRollouts');
      return workflowIds.map((workflowId) => ({ workflowId, status: 'not-found' as const }));
    },
  };
  return activities;
}
