import { findGroup, findType } from './matrix.js';
import { parseVersion } from './naming.js';
import type { FleetDefinition, MigRef } from './types.js';

/** What a runner VM knows about itself when it registers. */
export interface RunnerVm {
  /** The VM's name, which is also its hostname and its GitHub runner name. */
  readonly name: string;
  readonly zone: string;
  /** Version of the template the VM was created from. */
  readonly version: string;
  /** Defaults to the fleet's runner version. */
  readonly runnerVersion?: string;
  /** Defaults to the config ref inside the version. */
  readonly configRef?: string;
  /** The metadata server's `cpu-platform`; the label is left out when unknown. */
  readonly cpuPlatform?: string;
}

/** Labels the GitHub runner adds by itself to every self-hosted Linux runner. */
export function defaultRunnerLabels(fleet: FleetDefinition, ref: MigRef): string[] {
  return ['self-hosted', 'Linux', findType(fleet, ref.type).arch === 'arm64' ? 'ARM64' : 'X64'];
}

/** The labels vm/register.sh passes to `config.sh --labels`, in that order. */
export function customRunnerLabels(fleet: FleetDefinition, ref: MigRef, vm: RunnerVm): string[] {
  const group = findGroup(fleet, ref.group);
  const type = findType(fleet, ref.type);
  return [
    'os-family=Linux',
    `hostname=${vm.name}`,
    `runner-group=${group.name}`,
    `runner-version=${vm.runnerVersion ?? fleet.runner.version}`,
    `trust=${group.trust}`,
    `environment=${ref.environment}`,
    `zone=${vm.zone}`,
    ...(vm.cpuPlatform !== undefined && vm.cpuPlatform !== '' ? [`cpu-platform=${vm.cpuPlatform}`] : []),
    `machine-type=${type.machineType}`,
    `config-ref=${vm.configRef ?? parseVersion(vm.version).configRef}`,
    type.name,
  ];
}

/** Every label a runner of MIG `ref` reports to GitHub: the runner's defaults, then the fleet's own. */
export function runnerLabels(fleet: FleetDefinition, ref: MigRef, vm: RunnerVm): string[] {
  return [...defaultRunnerLabels(fleet, ref), ...customRunnerLabels(fleet, ref, vm)];
}
