/**
 * The Compute resources as the API answers them (instance group managers, managed instances, instances,
 * autoscalers, instance templates, operations), from the fleet model's state.
 * Fields follow https://cloud.google.com/compute/docs/reference/rest/v1.
 */
import { iso } from './clock.js';
import type { ComputeUrls } from './compute-urls.js';
import { shown } from './compute-requests.js';
import type { FleetModel } from './fleet-model.js';
import type { SimInstance, SimMig, SimOperation, SimTemplate } from './fleet-types.js';
import { isStable, isVersionTargetReached } from './mig-status.js';
import { operationState } from './operations.js';
import { versionTargets, type VersionSpec } from './versions.js';

export type ComputeResources = ReturnType<typeof computeResources>;

export function computeResources(model: FleetModel, urls: ComputeUrls) {
  const project = model.fleet.project;
  const { base, regionUrl, zoneUrl, migUrl, templateUrl, instanceUrl } = urls;

  const migResource = (mig: SimMig): Record<string, unknown> => {
    const actions = {
      abandoning: 0,
      creating: 0,
      creatingWithoutRetries: 0,
      deleting: 0,
      none: 0,
      recreating: 0,
      refreshing: 0,
      restarting: 0,
      resuming: 0,
      starting: 0,
      stopping: 0,
      suspending: 0,
      verifying: 0,
    };
    for (const instance of mig.instances.values()) {
      const key = instance.currentAction.toLowerCase() as keyof typeof actions;
      actions[key]++;
    }
    const first = mig.versions[0];
    return {
      kind: 'compute#instanceGroupManager',
      id: mig.id,
      creationTimestamp: iso(mig.createdAt),
      name: mig.name,
      description: '',
      region: regionUrl(mig.region),
      distributionPolicy: { zones: mig.zones.map((zone) => ({ zone: zoneUrl(zone) })), targetShape: mig.shape },
      ...(mig.versions.length === 1 && first !== undefined ? { instanceTemplate: templateUrl(first.template) } : {}),
      versions: mig.versions.map((version) => versionResource(version, mig.targetSize, mig.versions)),
      instanceGroup: `${regionUrl(mig.region)}/instanceGroups/${mig.name}`,
      baseInstanceName: mig.name,
      fingerprint: mig.fingerprint,
      currentActions: actions,
      status: {
        isStable: isStable(mig),
        versionTarget: { isReached: isVersionTargetReached(mig) },
        autoscaler: `${regionUrl(mig.region)}/autoscalers/${mig.autoscaler.name}`,
        stateful: { hasStatefulConfig: false, perInstanceConfigs: { allEffective: true } },
      },
      targetSize: mig.targetSize,
      selfLink: migUrl(mig),
      autoHealingPolicies: [{ healthCheck: `${base}/global/healthChecks/http-8080-ok`, initialDelaySec: 300 }],
      updatePolicy: {
        type: mig.updatePolicy.type,
        minimalAction: mig.updatePolicy.minimalAction,
        mostDisruptiveAllowedAction: mig.updatePolicy.mostDisruptiveAllowedAction,
        maxSurge: fixedOrPercent(mig.updatePolicy.maxSurge, mig.zones.length, mig.targetSize),
        maxUnavailable: fixedOrPercent(mig.updatePolicy.maxUnavailable, mig.zones.length, mig.targetSize),
        replacementMethod: mig.updatePolicy.replacementMethod,
        instanceRedistributionType: mig.updatePolicy.instanceRedistributionType,
      },
      listManagedInstancesResults: 'PAGELESS',
    };
  };

  const versionResource = (
    version: VersionSpec,
    targetSize: number,
    all: readonly VersionSpec[],
  ): Record<string, unknown> => ({
    name: version.name,
    instanceTemplate: templateUrl(version.template),
    ...(version.targetSize === undefined
      ? {}
      : {
          targetSize: { ...version.targetSize, calculated: versionTargets(all, targetSize)[all.indexOf(version)] ?? 0 },
        }),
  });

  const managedInstance = (instance: SimInstance): Record<string, unknown> => ({
    instance: instanceUrl(instance),
    id: instance.id,
    name: instance.name,
    ...(instance.status === undefined ? {} : { instanceStatus: instance.status }),
    currentAction: instance.currentAction,
    version: { name: instance.versionName, instanceTemplate: templateUrl(instance.template) },
    instanceHealth: [
      {
        healthCheck: `${base}/global/healthChecks/http-8080-ok`,
        detailedHealthState: healthOf(instance),
      },
    ],
    ...(instance.lastAttemptErrors.length === 0
      ? {}
      : { lastAttempt: { errors: { errors: instance.lastAttemptErrors } } }),
  });

  const instanceResource = (instance: SimInstance): Record<string, unknown> => {
    const template = model.templates.get(instance.template);
    return {
      kind: 'compute#instance',
      id: instance.id,
      name: instance.name,
      zone: zoneUrl(instance.zone),
      status: instance.status,
      creationTimestamp: iso(instance.createdAt),
      machineType: `${zoneUrl(instance.zone)}/machineTypes/${shown(template?.properties['machineType'] ?? 'unknown')}`,
      metadata: {
        items: [
          ...[...(template?.metadata ?? new Map<string, string>())].map(([key, value]) => ({ key, value })),
          {
            key: 'created-by',
            value: `projects/${project}/regions/${instance.mig.region}/instanceGroupManagers/${instance.mig.name}`,
          },
          { key: 'instance-template', value: `projects/${project}/global/instanceTemplates/${instance.template}` },
        ],
      },
      labels: {},
      selfLink: instanceUrl(instance),
    };
  };

  const autoscalerResource = (mig: SimMig): Record<string, unknown> => {
    const autoscaler = mig.autoscaler;
    return {
      kind: 'compute#autoscaler',
      id: autoscaler.id,
      creationTimestamp: iso(autoscaler.createdAt),
      name: autoscaler.name,
      target: migUrl(mig),
      autoscalingPolicy: {
        minNumReplicas: autoscaler.min,
        maxNumReplicas: autoscaler.max,
        coolDownPeriodSec: autoscaler.coolDownPeriodSec,
        cpuUtilization: { utilizationTarget: autoscaler.cpuUtilizationTarget, predictiveMethod: 'NONE' },
        mode: autoscaler.mode,
      },
      region: regionUrl(mig.region),
      selfLink: `${regionUrl(mig.region)}/autoscalers/${autoscaler.name}`,
      status: 'ACTIVE',
      recommendedSize: autoscaler.recommendedSize,
    };
  };

  const templateResource = (template: SimTemplate): Record<string, unknown> => ({
    kind: 'compute#instanceTemplate',
    id: template.id,
    creationTimestamp: iso(template.createdAt),
    name: template.name,
    description: template.description,
    properties: template.properties,
    selfLink: templateUrl(template.name),
  });

  const operationResource = (operation: SimOperation): Record<string, unknown> => {
    const { status, progress } = operationState(operation, model.now());
    return {
      kind: 'compute#operation',
      id: operation.id,
      name: operation.name,
      operationType: operation.operationType,
      targetLink: operation.targetLink,
      targetId: operation.targetId,
      status,
      user: 'rollout-simulator',
      progress,
      insertTime: iso(operation.insertTime),
      ...(status === 'PENDING' ? {} : { startTime: iso(operation.startTime) }),
      ...(status === 'DONE' ? { endTime: iso(operation.endTime) } : {}),
      selfLink:
        operation.region === undefined
          ? `${base}/global/operations/${operation.name}`
          : `${regionUrl(operation.region)}/operations/${operation.name}`,
      ...(operation.region === undefined ? {} : { region: regionUrl(operation.region) }),
      // A failed operation runs like any other and carries its error only once DONE.
      ...(operation.error === undefined || status !== 'DONE'
        ? {}
        : {
            error: { errors: [operation.error] },
            httpErrorStatusCode: operation.httpErrorStatusCode ?? 400,
            httpErrorMessage: httpReason(operation.httpErrorStatusCode ?? 400),
          }),
    };
  };

  return { migResource, managedInstance, instanceResource, autoscalerResource, templateResource, operationResource };
}

function healthOf(instance: SimInstance): string {
  if (instance.currentAction === 'RECREATING' || instance.currentAction === 'DELETING') return 'UNHEALTHY';
  if (instance.status !== 'RUNNING' || instance.currentAction === 'VERIFYING') return 'UNKNOWN';
  return 'HEALTHY';
}

function httpReason(status: number): string {
  return (
    {
      400: 'BAD REQUEST',
      403: 'FORBIDDEN',
      404: 'NOT FOUND',
      409: 'CONFLICT',
      412: 'PRECONDITION FAILED',
      429: 'TOO MANY REQUESTS',
      500: 'INTERNAL SERVER ERROR',
      502: 'BAD GATEWAY',
      503: 'SERVICE UNAVAILABLE',
    }[status] ?? 'ERROR'
  );
}

function fixedOrPercent(
  value: { fixed?: number; percent?: number },
  zones: number,
  targetSize: number,
): Record<string, number> {
  if (value.percent !== undefined)
    return { percent: value.percent, calculated: Math.floor((value.percent * targetSize) / 100) };
  const fixed = value.fixed ?? zones;
  return { fixed, calculated: fixed };
}
