/**
 * One-shot operations run as short workflows (contract: operations-contract.ts). They exist so the CLI needs
 * only Temporal access: the worker holds the cloud credentials, and each operation is recorded in history.
 */
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { MigSnapshot, RolloutActivities, RunnerInfo } from '../activities/contract.js';
import { compareRunnerVersions } from '../runner-config/runner-versions.js';
import { ENVIRONMENTS, type Environment, type FleetDefinition } from '../runner-config/types.js';
import {
  OperationFailureType,
  type CreateTemplatesInput,
  type CreateTemplatesResult,
  type DrainIdleInput,
  type DrainIdleResult,
  type DriftFinding,
  type FleetInventory,
  type FleetInventoryInput,
  type MigInventory,
  type SetAutoscalingInput,
  type SetAutoscalingResult,
} from './operations-contract.js';

// An operator is waiting at a terminal: after a few attempts the failure is reported instead of retried for
// hours. Activities mark permanent failures non-retryable themselves, so those end the operation at once.
const interactiveRetry = { initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 5 };

const reads = proxyActivities<RolloutActivities>({ startToCloseTimeout: '2 minutes', retry: interactiveRetry });

/** Patches wait for their GCE operation (up to a few minutes) and heartbeat meanwhile. */
const mutations = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: interactiveRetry,
});

/** Template inserts run one global operation per group and type of the fleet. */
const templates = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '20 minutes',
  heartbeatTimeout: '2 minutes',
  retry: interactiveRetry,
});

/** GitHub deletes are throttled to one write per second; a big MIG takes minutes. Heartbeats per runner. */
const drains = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '1 minute',
  retry: interactiveRetry,
});

/** Inventory of the fleet: MIGs, versions, templates, autoscaling, runners by version, and drift. */
export async function fleetInventory(input: FleetInventoryInput = {}): Promise<FleetInventory> {
  const fleet = await reads.loadFleet();
  const environments = input.environments ?? ENVIRONMENTS;
  const [snapshots, runners] = await Promise.all([
    Promise.all(
      environments.map((environment) => reads.selectMigs({ environment, regions: 'all', groups: 'all', types: 'all' })),
    ).then((perEnvironment) => perEnvironment.flat()),
    reads.listRunners({ namePrefix: fleet.namePrefix }),
  ]);
  const autoscaling = await Promise.all(
    snapshots.map((mig) => reads.getAutoscaling({ region: mig.region, name: mig.name })),
  );
  const migs = snapshots.map((snapshot, index) =>
    migInventory(fleet, snapshot, autoscaling[index] ?? { min: 0, max: 0 }),
  );
  return {
    project: fleet.project,
    migs,
    baseVersions: baseVersions(migs),
    runnersByVersion: runnersByVersion(runners),
    expectedRunnerVersion: fleet.runner.version,
    drift: drift(migs, runners, fleet.runner.version),
  };
}

/** Creates every instance template of a version; templates that already exist identically count as done. */
export async function createTemplatesOperation(input: CreateTemplatesInput): Promise<CreateTemplatesResult> {
  const result = await templates.createTemplates({
    version: input.version,
    ...(input.runnerVersion === undefined ? {} : { runnerVersion: input.runnerVersion }),
  });
  return { version: input.version, created: result.created, existing: result.existing };
}

/** Removes idle runners (GitHub first, then the VM) from every selected MIG; busy runners are left alone. */
export async function drainIdleOperation(input: DrainIdleInput): Promise<DrainIdleResult> {
  const selected = await selectOrFail(input.selection);
  const results = await Promise.all(
    selected.map((mig) =>
      drains.drainIdleRunners({ mig: { region: mig.region, name: mig.name }, dryRun: input.dryRun }),
    ),
  );
  return { dryRun: input.dryRun, migs: results };
}

/** Sets the autoscaling bounds of every selected MIG, reporting the bounds before and after. */
export async function setAutoscalingOperation(input: SetAutoscalingInput): Promise<SetAutoscalingResult> {
  const { min, max } = input.bounds;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || min > max) {
    throw ApplicationFailure.nonRetryable(
      `autoscaling bounds must be whole numbers with 0 <= min <= max (got min ${min}, max ${max})`,
      OperationFailureType.INVALID_INPUT,
    );
  }
  const selected = await selectOrFail(input.selection);
  const migs = await Promise.all(
    selected.map(async ({ region, name }) => {
      const mig = { region, name };
      const before = await reads.getAutoscaling(mig);
      const after = await mutations.setAutoscaling({ mig, bounds: input.bounds });
      return { mig, before, after };
    }),
  );
  return { migs };
}

async function selectOrFail(selection: DrainIdleInput['selection']): Promise<MigSnapshot[]> {
  const selected = await reads.selectMigs(selection);
  if (selected.length === 0) {
    throw ApplicationFailure.nonRetryable(
      `no ${selection.environment} MIG matches regions=${selection.regions} groups=${selection.groups} types=${selection.types}`,
      OperationFailureType.NO_MATCHING_MIGS,
    );
  }
  return selected;
}

function migInventory(
  fleet: FleetDefinition,
  snapshot: MigSnapshot,
  autoscaling: MigInventory['autoscaling'],
): MigInventory {
  const templatePrefix = `${fleet.namePrefix}-${snapshot.ref.group}-${snapshot.ref.type}-`;
  return {
    region: snapshot.region,
    name: snapshot.name,
    ref: snapshot.ref,
    versions: snapshot.versions.map((version) => ({
      name: version.name,
      template: version.instanceTemplate,
      ...(version.instanceTemplate.startsWith(templatePrefix)
        ? { version: version.instanceTemplate.slice(templatePrefix.length) }
        : {}),
    })),
    targetSize: snapshot.targetSize,
    isStable: snapshot.isStable,
    instancesByTemplate: snapshot.instancesByTemplate,
    autoscaling,
  };
}

function baseVersions(migs: readonly MigInventory[]): FleetInventory['baseVersions'] {
  const counts: Record<Environment, Record<string, number>> = { prod: {}, testing: {} };
  for (const mig of migs) {
    const base = baseVersion(mig);
    const perVersion = counts[mig.ref.environment];
    perVersion[base] = (perVersion[base] ?? 0) + 1;
  }
  return counts;
}

function baseVersion(mig: MigInventory): string {
  const base = mig.versions.find((version) => version.name === 'base') ?? mig.versions[0];
  return base?.version ?? base?.template ?? 'none';
}

function runnersByVersion(runners: readonly RunnerInfo[]): FleetInventory['runnersByVersion'] {
  const counts: Record<string, { total: number; busy: number; online: number }> = {};
  for (const runner of runners) {
    const entry = (counts[runner.runnerVersion ?? 'unknown'] ??= { total: 0, busy: 0, online: 0 });
    entry.total++;
    if (runner.busy) entry.busy++;
    if (runner.online) entry.online++;
  }
  return counts;
}

function drift(migs: readonly MigInventory[], runners: readonly RunnerInfo[], expectedRunner: string): DriftFinding[] {
  const findings: DriftFinding[] = [];
  const usual = baseVersions(migs);
  for (const mig of migs) {
    if (mig.versions.length > 1) {
      findings.push({
        kind: 'two-versions',
        mig: mig.name,
        message: `${mig.name} runs ${mig.versions.map((version) => `${version.name}=${version.template}`).join(', ')}`,
      });
    }
    const named = new Set(mig.versions.map((version) => version.template));
    const stale = Object.entries(mig.instancesByTemplate).filter(
      ([template, count]) => count > 0 && !named.has(template),
    );
    for (const [template, count] of stale) {
      findings.push({
        kind: 'stale-instances',
        mig: mig.name,
        message: `${mig.name} has ${count} VM(s) on ${template}`,
      });
    }
    const mostCommon = mostCommonKey(usual[mig.ref.environment]);
    const version = baseVersion(mig);
    if (mostCommon !== undefined && version !== mostCommon) {
      findings.push({
        kind: 'odd-version',
        mig: mig.name,
        message: `${mig.name} base runs ${version}; most ${mig.ref.environment} MIGs run ${mostCommon}`,
      });
    }
    if (!mig.isStable) findings.push({ kind: 'unstable', mig: mig.name, message: `${mig.name} is not stable` });
  }
  const behind = runners.filter(
    (runner) => runner.runnerVersion !== undefined && compareRunnerVersions(runner.runnerVersion, expectedRunner) < 0,
  );
  if (behind.length > 0) {
    const versions = [...new Set(behind.map((runner) => runner.runnerVersion))].sort().join(', ');
    findings.push({
      kind: 'runner-behind',
      message: `${behind.length} runner(s) report runner version ${versions}, older than ${expectedRunner}`,
    });
  }
  return findings;
}

function mostCommonKey(counts: Readonly<Record<string, number>>): string | undefined {
  let best: [string, number] | undefined;
  for (const entry of Object.entries(counts)) if (best === undefined || entry[1] > best[1]) best = entry;
  return best?.[0];
}
