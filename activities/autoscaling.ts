/** A MIG's autoscaling bounds, read and set through the autoscaler the MIG links. */
import type { AutoscalingBounds } from '../runner-config/types.js';
import { FailureType, permanentFailure } from './failures.js';
import { getMig, operationOf, resourceName, waitForOperation } from './mig-state.js';
import type { ActivityRuntime } from './runtime.js';
import type { MigLocator, RolloutActivities } from './types.js';

export function createAutoscalingActivities(
  runtime: ActivityRuntime,
): Pick<RolloutActivities, 'getAutoscaling' | 'setAutoscaling'> {
  const { compute } = runtime.deps;
  const project = runtime.project;

  async function autoscalerName(mig: MigLocator): Promise<string> {
    const igm = await getMig(runtime, mig);
    // The MIG links its autoscaler; gcloud names it after the MIG, which is the fallback.
    return resourceName(igm.status?.autoscaler) || mig.name;
  }

  async function readAutoscaling(mig: MigLocator, name: string): Promise<AutoscalingBounds> {
    const [autoscaler] = await runtime.call(
      `get autoscaler of ${mig.name} in ${mig.region}`,
      () => compute.autoscalers.get({ project, region: mig.region, autoscaler: name }),
      FailureType.MIG_NOT_FOUND,
    );
    return {
      min: autoscaler.autoscalingPolicy?.minNumReplicas ?? 0,
      max: autoscaler.autoscalingPolicy?.maxNumReplicas ?? 0,
    };
  }

  return {
    async getAutoscaling(mig) {
      return readAutoscaling(mig, await autoscalerName(mig));
    },

    async setAutoscaling({ mig, bounds }) {
      if (!Number.isInteger(bounds.min) || !Number.isInteger(bounds.max) || bounds.min < 0 || bounds.max < bounds.min) {
        throw permanentFailure(
          FailureType.INVALID_REQUEST,
          `autoscaling bounds must be integers with 0 <= min <= max, got min ${bounds.min}, max ${bounds.max}`,
        );
      }
      const name = await autoscalerName(mig);
      const current = await readAutoscaling(mig, name);
      if (current.min === bounds.min && current.max === bounds.max) return current;
      const what = `set autoscaling of ${mig.name} in ${mig.region} to ${bounds.min}..${bounds.max}`;
      const result = await runtime.call(
        what,
        () =>
          compute.autoscalers.patch({
            project,
            region: mig.region,
            autoscaler: name,
            requestId: runtime.requestId('autoscaling', mig.region, mig.name, `${bounds.min}..${bounds.max}`),
            autoscalerResource: {
              name,
              autoscalingPolicy: { minNumReplicas: bounds.min, maxNumReplicas: bounds.max },
            },
          }),
        FailureType.MIG_NOT_FOUND,
      );
      await waitForOperation(runtime, { region: mig.region }, operationOf(result), what);
      return { min: bounds.min, max: bounds.max };
    },
  };
}
