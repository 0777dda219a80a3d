/** A MIG's autoscaling bounds, read and set through the autoscaler the MIG links. */
import type { protos } from '@google-cloud/compute';
import type { AutoscalingBounds } from '../runner-config/types.js';
import { FailureType, permanentFailure } from './failures.js';
import { getMig, operationOf, resourceName, waitForOperation } from './mig-reads.js';
import type { ActivityRuntime } from './runtime.js';
import type { MigLocator, RolloutActivities } from './contract.js';

type InstanceGroupManager = protos.google.cloud.compute.v1.IInstanceGroupManager;

/** The autoscaler a MIG links, with what a surge needs of it. */
export interface LinkedAutoscaler {
  readonly name: string;
  readonly bounds: AutoscalingBounds;
  /** `ON` (GCP's default when unset), `ONLY_SCALE_OUT` or `OFF`. */
  readonly mode: string;
}

/**
 * The autoscaler `igm` links, or undefined for a fixed-size MIG: the MIG's `status.autoscaler` is "the URL of the
 * Autoscaler that targets this instance group manager", empty when none does
 * (https://cloud.google.com/compute/docs/reference/rest/v1/regionInstanceGroupManagers#InstanceGroupManagerStatus).
 */
export async function linkedAutoscaler(
  runtime: ActivityRuntime,
  mig: MigLocator,
  igm: InstanceGroupManager,
): Promise<LinkedAutoscaler | undefined> {
  const name = resourceName(igm.status?.autoscaler);
  if (name === '') return undefined;
  return readAutoscaler(runtime, mig, name);
}

async function readAutoscaler(runtime: ActivityRuntime, mig: MigLocator, name: string): Promise<LinkedAutoscaler> {
  const [autoscaler] = await runtime.call(
    `get autoscaler of ${mig.name} in ${mig.region}`,
    () => runtime.deps.compute.autoscalers.get({ project: runtime.project, region: mig.region, autoscaler: name }),
    FailureType.MIG_NOT_FOUND,
  );
  const policy = autoscaler.autoscalingPolicy;
  return {
    name,
    bounds: { min: policy?.minNumReplicas ?? 0, max: policy?.maxNumReplicas ?? 0 },
    mode: String(policy?.mode ?? 'ON').toUpperCase(),
  };
}

/** Sets the bounds of the autoscaler `name` and waits for the operation; the requestId makes a re-send one. */
export async function patchAutoscaling(
  runtime: ActivityRuntime,
  mig: MigLocator,
  name: string,
  bounds: AutoscalingBounds,
): Promise<void> {
  const range = `${bounds.min}..${bounds.max}`;
  await patchPolicy(runtime, mig, name, {
    what: `set autoscaling of ${mig.name} in ${mig.region} to ${range}`,
    requestId: runtime.requestId('autoscaling', mig.region, mig.name, range),
    policy: { minNumReplicas: bounds.min, maxNumReplicas: bounds.max },
  });
}

/**
 * Sets the mode of the autoscaler `name` and waits for the operation. The caller reads the mode first, so a retry
 * after a lost answer finds it set; a new id per attempt keeps a failed operation from being answered again.
 */
export async function patchAutoscalerMode(
  runtime: ActivityRuntime,
  mig: MigLocator,
  name: string,
  mode: string,
): Promise<void> {
  await patchPolicy(runtime, mig, name, {
    what: `set the autoscaler mode of ${mig.name} in ${mig.region} to ${mode}`,
    requestId: runtime.attemptRequestId('autoscaler-mode', mig.region, mig.name, mode),
    policy: { mode },
  });
}

/** A patch of the autoscaling policy: the fields given change, the others keep their values. */
async function patchPolicy(
  runtime: ActivityRuntime,
  mig: MigLocator,
  name: string,
  patch: {
    readonly what: string;
    readonly requestId: string;
    readonly policy: protos.google.cloud.compute.v1.IAutoscalingPolicy;
  },
): Promise<void> {
  const result = await runtime.call(
    patch.what,
    () =>
      runtime.deps.compute.autoscalers.patch({
        project: runtime.project,
        region: mig.region,
        autoscaler: name,
        requestId: patch.requestId,
        autoscalerResource: { name, autoscalingPolicy: patch.policy },
      }),
    FailureType.MIG_NOT_FOUND,
  );
  await waitForOperation(runtime, { region: mig.region }, operationOf(result), patch.what);
}

/**
 * Whether restoring an autoscaler's min after a surge is busy-safe: only in ONLY_SCALE_OUT does the autoscaler
 * "create VMs according to the policy, but [not] scale the MIG in"
 * (https://cloud.google.com/compute/docs/reference/rest/v1/regionAutoscalers, AutoscalingPolicy.mode). In ON a
 * lowered min lets it scale in, deleting VMs whatever their runners do; in OFF a raised min creates no VM.
 */
export function surgeable(autoscaler: LinkedAutoscaler | undefined): autoscaler is LinkedAutoscaler {
  return autoscaler?.mode === 'ONLY_SCALE_OUT';
}

export function createAutoscalingActivities(
  runtime: ActivityRuntime,
): Pick<RolloutActivities, 'getAutoscaling' | 'setAutoscaling' | 'surgeableAutoscaling'> {
  async function autoscalerName(mig: MigLocator): Promise<string> {
    const igm = await getMig(runtime, mig);
    // The MIG links its autoscaler; gcloud names it after the MIG, which is the fallback.
    return resourceName(igm.status?.autoscaler) || mig.name;
  }

  return {
    async getAutoscaling(mig) {
      return (await readAutoscaler(runtime, mig, await autoscalerName(mig))).bounds;
    },

    async surgeableAutoscaling(mig) {
      const autoscaler = await linkedAutoscaler(runtime, mig, await getMig(runtime, mig));
      return surgeable(autoscaler) ? autoscaler.bounds : null;
    },

    async setAutoscaling({ mig, bounds }) {
      if (!Number.isInteger(bounds.min) || !Number.isInteger(bounds.max) || bounds.min < 0 || bounds.max < bounds.min) {
        throw permanentFailure(
          FailureType.INVALID_REQUEST,
          `autoscaling bounds must be integers with 0 <= min <= max, got min ${bounds.min}, max ${bounds.max}`,
        );
      }
      const name = await autoscalerName(mig);
      const current = (await readAutoscaler(runtime, mig, name)).bounds;
      if (current.min === bounds.min && current.max === bounds.max) return current;
      await patchAutoscaling(runtime, mig, name, bounds);
      return { min: bounds.min, max: bounds.max };
    },
  };
}
