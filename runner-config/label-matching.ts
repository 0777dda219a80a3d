/**
 * Which of the fleet's runners a job's `runs-on` can land on. GitHub hands a job to any runner (of the named
 * runner group, if any) that has every label the job asks for, compared without regard to case:
 * https://docs.github.com/en/actions/hosting-your-own-runners/managing-self-hosted-runners/using-labels-with-self-hosted-runners
 * and https://docs.github.com/en/actions/writing-workflows/choosing-where-your-workflow-runs/choosing-the-runner-for-a-job
 *
 * Pure: the label set of each MIG is derived from the fleet definition alone, so a workflow can be checked
 * before any VM exists. Labels a VM sets from facts of its own (its hostname, zone, CPU platform, config commit,
 * runner version) are matched as the set of values they can take in that MIG.
 */
import { runnerLabels, type RunnerVm } from './labels.js';
import { enumerateMigs, findGroup, migNameOf, zonesOf } from './matrix.js';
import { ENVIRONMENTS, type FleetDefinition, type MigRef, type TrustLevel } from './types.js';

/** The labels every runner of one MIG reports, with the per-VM ones as the values they can take. */
export interface RunnerLabelSet {
  readonly mig: string;
  readonly ref: MigRef;
  /** The runner group the VMs register in (`config.sh --runnergroup`), which `runs-on: { group }` names. */
  readonly group: string;
  readonly trust: TrustLevel;
  /** The events whose jobs the group's pre-job hook (vm/hooks/pre-job.sh) lets the runners run. */
  readonly allowedEvents: ReadonlySet<string>;
  /** Labels every runner of the MIG has, lower-cased. */
  readonly labels: ReadonlySet<string>;
  /** The zones its VMs run in, lower-cased. */
  readonly zones: ReadonlySet<string>;
}

/** What a job asks for: labels, and optionally a runner group. */
export interface RunnerRequest {
  readonly labels: readonly string[];
  readonly group?: string;
}

/** Label keys whose value is a fact of the VM (see labels.ts), not of its MIG. */
const PER_VM_KEYS = new Set(['hostname', 'zone', 'cpu-platform', 'config-ref', 'runner-version']);
/** Of those, the ones any runner of the MIG may carry with any value: they differ per VM or per rollout. */
const ANY_VALUE_KEYS = new Set(['cpu-platform', 'config-ref', 'runner-version']);
/** A VM standing for every VM of a MIG: only its MIG-wide labels are kept. */
const PROBE_VM: RunnerVm = { name: 'probe', zone: 'probe', version: '0000000000-prb' };

function keyOf(label: string): string {
  const separator = label.indexOf('=');
  return separator < 0 ? '' : label.slice(0, separator).toLowerCase();
}

/** The label set of every MIG of the fleet, in every environment. */
export function runnerLabelSets(fleet: FleetDefinition): RunnerLabelSet[] {
  return ENVIRONMENTS.flatMap((environment) => enumerateMigs(fleet, environment)).map((ref) => {
    const group = findGroup(fleet, ref.group);
    // The labels vm/register.sh sets, less those whose value is the VM's own.
    const labels = runnerLabels(fleet, ref, PROBE_VM).filter((label) => !PER_VM_KEYS.has(keyOf(label)));
    return {
      mig: migNameOf(fleet, ref),
      ref,
      group: group.name,
      trust: group.trust,
      allowedEvents: new Set(group.allowedEvents),
      labels: new Set(labels.map((label) => label.toLowerCase())),
      zones: new Set(zonesOf(fleet, ref.region).map((zone) => zone.toLowerCase())),
    };
  });
}

/** Whether a runner of the MIG can carry this one label. */
function carries(set: RunnerLabelSet, label: string): boolean {
  const wanted = label.toLowerCase();
  if (set.labels.has(wanted)) return true;
  const key = keyOf(wanted);
  const value = wanted.slice(key.length + 1);
  if (key === 'zone') return set.zones.has(value);
  // VM names are the MIG's name and a suffix of GCP's choosing.
  if (key === 'hostname') return value.startsWith(`${set.mig.toLowerCase()}-`);
  return ANY_VALUE_KEYS.has(key) && value.length > 0;
}

/** Whether a job asking for `request` can land on a runner of this MIG. */
export function matchesRunner(set: RunnerLabelSet, request: RunnerRequest): boolean {
  if (request.group !== undefined && request.group.toLowerCase() !== set.group.toLowerCase()) return false;
  return request.labels.every((label) => carries(set, label));
}

/** The MIGs whose runners a job asking for `request` can land on. */
export function matchingRunners(sets: readonly RunnerLabelSet[], request: RunnerRequest): RunnerLabelSet[] {
  return sets.filter((set) => matchesRunner(set, request));
}
