import { findType } from '../runner-config/index.js';
import type { FleetDefinition } from '../runner-config/types.js';
import type { SimInstance } from './fleet-types.js';

/**
 * The `lastAttempt` error of a managed instance whose creation a used-up regional quota refuses. GCE names the
 * quota of the resource that ran out: per-model GPU quotas (`NVIDIA_T4_GPUS`, `NVIDIA_A100_GPUS`) for a type
 * with an accelerator, `CPUS` otherwise, and reports the region's limit, which the VMs already running there
 * have reached (https://cloud.google.com/compute/resource-usage, "GPU quota" and "CPU quota";
 * https://cloud.google.com/compute/docs/troubleshooting/troubleshooting-resource-availability for QUOTA_EXCEEDED).
 */
export function quotaExceededError(
  fleet: FleetDefinition,
  instances: Iterable<SimInstance>,
  region: string,
  typeName: string,
): { code: string; message: string } {
  const metric = quotaMetric(fleet, typeName);
  let used = 0;
  for (const instance of instances) {
    if (instance.mig.region !== region || instance.status === undefined) continue;
    if (quotaMetric(fleet, instance.mig.ref.type) === metric) used += quotaUnits(fleet, instance.mig.ref.type);
  }
  return {
    code: 'QUOTA_EXCEEDED',
    message: `Quota '${metric}' exceeded. Limit: ${used.toFixed(1)} in region ${region}.`,
  };
}

function quotaMetric(fleet: FleetDefinition, typeName: string): string {
  const accelerator = findType(fleet, typeName).accelerator;
  if (accelerator === undefined) return 'CPUS';
  // nvidia-tesla-t4 → NVIDIA_T4_GPUS, nvidia-l4 → NVIDIA_L4_GPUS.
  const model = accelerator.type
    .replace(/^nvidia-(tesla-)?/, '')
    .toUpperCase()
    .replace(/-/g, '_');
  return `NVIDIA_${model}_GPUS`;
}

/** GPUs per VM, or vCPUs per VM from a predefined machine type's trailing count (`n1-standard-96`). */
function quotaUnits(fleet: FleetDefinition, typeName: string): number {
  const type = findType(fleet, typeName);
  if (type.accelerator !== undefined) return type.accelerator.count;
  const vcpus = /-(\d+)$/.exec(type.machineType)?.[1];
  return vcpus === undefined ? 0 : Number(vcpus);
}
