import { AUTOSCALER_MODES, canonicalEnum } from './enums.js';
import { ComputeApiError } from './errors.js';
import type { FleetModel } from './fleet-model.js';
import type { MigPatch, SimInstance, SimMig, SimOperation, SimTemplate, UpdatePolicy } from './fleet-types.js';
import { compileFilter, FilterError } from './gcp-filter.js';
import { isStable, isVersionTargetReached } from './mig-status.js';
import { awaitOperation, operationState, planOperation, rememberedOperation } from './operations.js';
import type { ApiRequest, ApiResponse, Route } from './server.js';
import { versionTargets, type VersionSpec } from './versions.js';

/** Resource URLs look like the real API's, whatever address the simulator listens on. */
const SELF_LINK_ROOT = 'https://www.googleapis.com/compute/v1';
const PROJECT_PATH = '/compute/v1/projects/:project';
const MIGS = `${PROJECT_PATH}/regions/:region/instanceGroupManagers`;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAME_PATTERN = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The Compute Engine v1 subset the engine uses, over the fleet model. */
export function computeRoutes(model: FleetModel): Route[] {
  const project = model.fleet.project;
  const base = `${SELF_LINK_ROOT}/projects/${project}`;
  const regionUrl = (region: string): string => `${base}/regions/${region}`;
  const zoneUrl = (zone: string): string => `${base}/zones/${zone}`;
  const migUrl = (mig: SimMig): string => `${regionUrl(mig.region)}/instanceGroupManagers/${mig.name}`;
  const templateUrl = (name: string): string => `${base}/global/instanceTemplates/${name}`;
  const instanceUrl = (instance: SimInstance): string => `${zoneUrl(instance.zone)}/instances/${instance.name}`;
  const iso = (ms: number): string => new Date(ms).toISOString();

  const checkProject = (request: ApiRequest): void => {
    if (request.params['project'] !== project) {
      throw new ComputeApiError(
        404,
        'notFound',
        `The resource 'projects/${request.params['project'] ?? ''}' was not found`,
      );
    }
  };
  const checkRegion = (request: ApiRequest): string => {
    checkProject(request);
    const region = request.params['region'] ?? '';
    if (!model.fleet.regions.some((candidate) => candidate.name === region)) {
      throw new ComputeApiError(404, 'notFound', `The resource 'projects/${project}/regions/${region}' was not found`);
    }
    return region;
  };
  const findMig = (request: ApiRequest, name = request.params['mig'] ?? ''): SimMig => {
    const region = checkRegion(request);
    const mig = model.migs.get(name);
    if (mig === undefined || mig.region !== region) {
      throw new ComputeApiError(
        404,
        'notFound',
        `The resource 'projects/${project}/regions/${region}/instanceGroupManagers/${name}' was not found`,
      );
    }
    return mig;
  };

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

  /**
   * Runs a mutation under GCE's contract: a repeated `requestId` returns the first operation (as it is now) and
   * changes nothing; an injected operation error yields an operation that fails once DONE and has no effect; a
   * ModelError thrown by `apply` is a synchronous HTTP error. The effect applies now, the operation reports it
   * over its duration (operations.ts).
   */
  const mutate = (
    request: ApiRequest,
    target: { link: string; id?: string; region: string | undefined; operationType: string },
    apply: () => boolean,
  ): ApiResponse => {
    const requestId = request.query.get('requestId') ?? undefined;
    if (requestId !== undefined && !UUID_PATTERN.test(requestId)) {
      throw new ComputeApiError(
        400,
        'invalid',
        `Invalid value for field 'requestId': '${requestId}'. The request ID must be a valid UUID (other than the zero UUID).`,
      );
    }
    const previous = rememberedOperation(model, requestId);
    if (previous !== undefined) {
      return {
        status: 200,
        body: operationResource(previous),
        effective: false,
        ...(requestId === undefined ? {} : { requestId }),
      };
    }
    const injected = request.operationError;
    const effective = injected === undefined ? apply() : false;
    const operation = model.recordOperation(
      {
        operationType: target.operationType,
        targetLink: target.link,
        targetId: target.id ?? model.newId(),
        region: target.region,
        ...planOperation(model, target.operationType, request.operationSeconds),
        ...(injected === undefined
          ? {}
          : {
              error: { code: injected.code, message: `Operation failed: ${injected.code}` },
              httpErrorStatusCode: injected.status,
            }),
      },
      requestId,
    );
    return {
      status: 200,
      body: operationResource(operation),
      effective,
      ...(requestId === undefined ? {} : { requestId }),
    };
  };

  const findOperation = (request: ApiRequest, region: string | undefined): SimOperation => {
    const name = request.params['operation'] ?? '';
    const operation = model.operations.get(name);
    if (operation === undefined || operation.region !== region) {
      const scope = region === undefined ? 'global' : `regions/${region}`;
      throw new ComputeApiError(
        404,
        'notFound',
        `The resource 'projects/${project}/${scope}/operations/${name}' was not found`,
      );
    }
    return operation;
  };

  const migTarget = (mig: SimMig, operationType: string): Parameters<typeof mutate>[1] => ({
    link: migUrl(mig),
    id: mig.id,
    region: mig.region,
    operationType,
  });

  return [
    {
      api: 'compute',
      method: 'GET',
      path: `${PROJECT_PATH}/regions`,
      endpoint: 'compute.regions.list',
      handle: (request) => {
        checkProject(request);
        const items = model.fleet.regions.map((region, index) => ({
          kind: 'compute#region',
          id: String(1000 + index),
          creationTimestamp: iso(0),
          name: region.name,
          description: region.name,
          status: 'UP',
          zones: region.zones.map(zoneUrl),
          selfLink: regionUrl(region.name),
        }));
        return {
          status: 200,
          body: listBody(
            'compute#regionList',
            `${base}/regions`,
            filterAndPage(request, items, model.behaviours.regexAndFilter),
          ),
        };
      },
    },
    {
      api: 'compute',
      method: 'GET',
      path: `${PROJECT_PATH}/regions/:region`,
      endpoint: 'compute.regions.get',
      handle: (request) => {
        const name = checkRegion(request);
        const region = model.fleet.regions.find((candidate) => candidate.name === name);
        return {
          status: 200,
          body: {
            kind: 'compute#region',
            name,
            status: 'UP',
            zones: (region?.zones ?? []).map(zoneUrl),
            selfLink: regionUrl(name),
          },
        };
      },
    },
    {
      api: 'compute',
      method: 'GET',
      path: MIGS,
      endpoint: 'compute.regionInstanceGroupManagers.list',
      handle: (request) => {
        const region = checkRegion(request);
        const items = (model.migsByRegion.get(region) ?? []).map(migResource);
        return {
          status: 200,
          body: listBody(
            'compute#regionInstanceGroupManagerList',
            `${regionUrl(region)}/instanceGroupManagers`,
            filterAndPage(request, items, model.behaviours.regexAndFilter),
          ),
        };
      },
    },
    {
      api: 'compute',
      method: 'GET',
      path: `${MIGS}/:mig`,
      endpoint: 'compute.regionInstanceGroupManagers.get',
      handle: (request) => ({ status: 200, body: migResource(findMig(request)) }),
    },
    {
      api: 'compute',
      method: 'PATCH',
      path: `${MIGS}/:mig`,
      endpoint: 'compute.regionInstanceGroupManagers.patch',
      handle: (request) => {
        const mig = findMig(request);
        const patch = parseMigPatch(request.body);
        if (model.behaviours.versionLimit) checkVersionCount(patch);
        return mutate(request, migTarget(mig, 'patch'), () => model.patchMig(mig, patch));
      },
    },
    {
      api: 'compute',
      method: 'POST',
      path: `${MIGS}/:mig/listManagedInstances`,
      endpoint: 'compute.regionInstanceGroupManagers.listManagedInstances',
      handle: (request) => {
        const mig = findMig(request);
        const items = [...mig.instances.values()].map(managedInstance);
        const predicate = compileOrThrow(request.query.get('filter'), model.behaviours.regexAndFilter);
        return { status: 200, body: { managedInstances: items.filter(predicate) } };
      },
    },
    {
      api: 'compute',
      method: 'POST',
      path: `${MIGS}/:mig/deleteInstances`,
      endpoint: 'compute.regionInstanceGroupManagers.deleteInstances',
      handle: (request) => {
        const mig = findMig(request);
        const body = objectBody(request.body);
        const instances = body['instances'];
        if (
          !Array.isArray(instances) ||
          instances.length === 0 ||
          !instances.every((item) => typeof item === 'string')
        ) {
          throw new ComputeApiError(
            400,
            'required',
            "Required field 'resource.instances' not specified (a list of instance URLs).",
          );
        }
        const names = instances.map((url) => url.slice(url.lastIndexOf('/') + 1));
        const skip = body['skipInstancesOnValidationError'] === true;
        return mutate(request, migTarget(mig, 'deleteInstances'), () => model.deleteInstances(mig, names, skip));
      },
    },
    {
      api: 'compute',
      method: 'POST',
      path: `${MIGS}/:mig/resize`,
      endpoint: 'compute.regionInstanceGroupManagers.resize',
      handle: (request) => {
        const mig = findMig(request);
        const raw = request.query.get('size');
        const size = raw === null ? Number.NaN : Number(raw);
        if (!Number.isInteger(size) || size < 0 || size > 2000) {
          throw new ComputeApiError(
            400,
            'invalid',
            `Invalid value for field 'size': '${raw ?? ''}'. Must be an integer from 0 to 2000.`,
          );
        }
        return mutate(request, migTarget(mig, 'compute.regionInstanceGroupManagers.resize'), () =>
          model.resizeMig(mig, size),
        );
      },
    },
    {
      api: 'compute',
      method: 'POST',
      path: `${MIGS}/:mig/applyUpdatesToInstances`,
      endpoint: 'compute.regionInstanceGroupManagers.applyUpdatesToInstances',
      handle: (request) => {
        const mig = findMig(request);
        const body = objectBody(request.body);
        const all = body['allInstances'] === true;
        const instances = Array.isArray(body['instances']) ? (body['instances'] as unknown[]).map(String) : [];
        if (!all && instances.length === 0) {
          throw new ComputeApiError(
            400,
            'invalid',
            "Either 'resource.instances' or 'resource.allInstances' must be set.",
          );
        }
        const names = all ? 'all' : instances.map((url) => url.slice(url.lastIndexOf('/') + 1));
        return mutate(request, migTarget(mig, 'applyUpdatesToInstances'), () => model.applyUpdates(mig, names));
      },
    },
    {
      api: 'compute',
      method: 'GET',
      path: `${PROJECT_PATH}/regions/:region/autoscalers`,
      endpoint: 'compute.regionAutoscalers.list',
      handle: (request) => {
        const region = checkRegion(request);
        const items = (model.migsByRegion.get(region) ?? []).map(autoscalerResource);
        return {
          status: 200,
          body: listBody(
            'compute#regionAutoscalerList',
            `${regionUrl(region)}/autoscalers`,
            filterAndPage(request, items, model.behaviours.regexAndFilter),
          ),
        };
      },
    },
    {
      api: 'compute',
      method: 'GET',
      path: `${PROJECT_PATH}/regions/:region/autoscalers/:autoscaler`,
      endpoint: 'compute.regionAutoscalers.get',
      handle: (request) => ({
        status: 200,
        body: autoscalerResource(findAutoscaled(request, request.params['autoscaler'])),
      }),
    },
    {
      api: 'compute',
      method: 'PATCH',
      path: `${PROJECT_PATH}/regions/:region/autoscalers`,
      endpoint: 'compute.regionAutoscalers.patch',
      handle: (request) => {
        const name = request.query.get('autoscaler');
        if (name === null || name === '') {
          throw new ComputeApiError(
            400,
            'required',
            "Required parameter 'autoscaler' (the autoscaler name) not specified.",
          );
        }
        const mig = findAutoscaled(request, name);
        const patch = parseAutoscalerPatch(request.body, model.behaviours.lowerCaseEnums);
        return mutate(
          request,
          {
            link: `${regionUrl(mig.region)}/autoscalers/${name}`,
            id: mig.autoscaler.id,
            region: mig.region,
            operationType: 'compute.regionAutoscalers.patch',
          },
          () => model.patchAutoscaler(mig, patch),
        );
      },
    },
    {
      api: 'compute',
      method: 'GET',
      path: `${PROJECT_PATH}/global/instanceTemplates`,
      endpoint: 'compute.instanceTemplates.list',
      handle: (request) => {
        checkProject(request);
        const items = [...model.templates.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map(templateResource);
        return {
          status: 200,
          body: listBody(
            'compute#instanceTemplateList',
            `${base}/global/instanceTemplates`,
            filterAndPage(request, items, model.behaviours.regexAndFilter),
          ),
        };
      },
    },
    {
      api: 'compute',
      method: 'GET',
      path: `${PROJECT_PATH}/global/instanceTemplates/:template`,
      endpoint: 'compute.instanceTemplates.get',
      handle: (request) => {
        checkProject(request);
        const name = request.params['template'] ?? '';
        const template = model.templates.get(name);
        if (template === undefined) {
          throw new ComputeApiError(
            404,
            'notFound',
            `The resource 'projects/${project}/global/instanceTemplates/${name}' was not found`,
          );
        }
        return { status: 200, body: templateResource(template) };
      },
    },
    {
      api: 'compute',
      method: 'POST',
      path: `${PROJECT_PATH}/global/instanceTemplates`,
      endpoint: 'compute.instanceTemplates.insert',
      handle: (request) => {
        checkProject(request);
        const body = objectBody(request.body);
        const name = body['name'];
        if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
          throw new ComputeApiError(
            400,
            'invalid',
            `Invalid value for field 'resource.name': '${shown(name ?? '')}'. Must be a match of regex '[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?'`,
          );
        }
        const properties = body['properties'];
        if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) {
          throw new ComputeApiError(400, 'required', "Required field 'resource.properties' not specified");
        }
        if (typeof (properties as Record<string, unknown>)['machineType'] !== 'string') {
          throw new ComputeApiError(400, 'required', "Required field 'resource.properties.machineType' not specified");
        }
        const description = typeof body['description'] === 'string' ? body['description'] : '';
        if (model.templates.has(name) && rememberedOperation(model, request.query.get('requestId')) === undefined) {
          throw new ComputeApiError(
            409,
            'alreadyExists',
            `The resource 'projects/${project}/global/instanceTemplates/${name}' already exists`,
          );
        }
        return mutate(request, { link: templateUrl(name), region: undefined, operationType: 'insert' }, () => {
          model.insertTemplate(name, properties as Record<string, unknown>, description);
          return true;
        });
      },
    },
    {
      api: 'compute',
      method: 'GET',
      path: `${PROJECT_PATH}/regions/:region/operations/:operation`,
      endpoint: 'compute.regionOperations.get',
      handle: (request) => ({ status: 200, body: operationResource(findOperation(request, checkRegion(request))) }),
    },
    {
      api: 'compute',
      method: 'POST',
      path: `${PROJECT_PATH}/regions/:region/operations/:operation/wait`,
      endpoint: 'compute.regionOperations.wait',
      handle: async (request) => {
        const operation = findOperation(request, checkRegion(request));
        await awaitOperation(model, operation);
        return { status: 200, body: operationResource(operation) };
      },
    },
    {
      api: 'compute',
      method: 'GET',
      path: `${PROJECT_PATH}/global/operations/:operation`,
      endpoint: 'compute.globalOperations.get',
      handle: (request) => {
        checkProject(request);
        return { status: 200, body: operationResource(findOperation(request, undefined)) };
      },
    },
    {
      api: 'compute',
      method: 'POST',
      path: `${PROJECT_PATH}/global/operations/:operation/wait`,
      endpoint: 'compute.globalOperations.wait',
      handle: async (request) => {
        checkProject(request);
        const operation = findOperation(request, undefined);
        await awaitOperation(model, operation);
        return { status: 200, body: operationResource(operation) };
      },
    },
    {
      api: 'compute',
      method: 'GET',
      path: `${PROJECT_PATH}/zones/:zone/instances`,
      endpoint: 'compute.instances.list',
      handle: (request) => {
        checkProject(request);
        const zone = request.params['zone'] ?? '';
        const items = [...model.instancesByName.values()]
          .filter((instance) => instance.zone === zone && instance.status !== undefined)
          .sort((a, b) => (a.name < b.name ? -1 : 1))
          .map(instanceResource);
        return {
          status: 200,
          body: listBody(
            'compute#instanceList',
            `${zoneUrl(zone)}/instances`,
            filterAndPage(request, items, model.behaviours.regexAndFilter),
          ),
        };
      },
    },
    {
      api: 'compute',
      method: 'GET',
      path: `${PROJECT_PATH}/zones/:zone/instances/:instance`,
      endpoint: 'compute.instances.get',
      handle: (request) => {
        checkProject(request);
        const zone = request.params['zone'] ?? '';
        const name = request.params['instance'] ?? '';
        const instance = model.instancesByName.get(name);
        if (instance === undefined || instance.zone !== zone || instance.status === undefined) {
          throw new ComputeApiError(
            404,
            'notFound',
            `The resource 'projects/${project}/zones/${zone}/instances/${name}' was not found`,
          );
        }
        return { status: 200, body: instanceResource(instance) };
      },
    },
  ];

  function findAutoscaled(request: ApiRequest, name: string | undefined): SimMig {
    const region = checkRegion(request);
    const mig = [...(model.migsByRegion.get(region) ?? [])].find((candidate) => candidate.autoscaler.name === name);
    if (mig === undefined) {
      throw new ComputeApiError(
        404,
        'notFound',
        `The resource 'projects/${project}/regions/${region}/autoscalers/${name ?? ''}' was not found`,
      );
    }
    return mig;
  }
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

/**
 * A MIG holds at most two versions: the rolling-update guide lets an update name a base and one canary version
 * (https://cloud.google.com/compute/docs/instance-groups/rolling-out-updates-to-managed-instance-groups#starting_a_canary_update),
 * and GCE refuses a third at the request, before any operation exists.
 */
function checkVersionCount(patch: MigPatch): void {
  const count = patch.versions?.length ?? 0;
  if (count <= 2) return;
  throw new ComputeApiError(
    400,
    'invalid',
    `Invalid value for field 'resource.versions': ${count} versions were specified. An instance group manager can have at most 2 versions.`,
  );
}

function compileOrThrow(filter: string | null, refuseRegexWithLogic: boolean): (resource: unknown) => boolean {
  try {
    return compileFilter(filter, { refuseRegexWithLogic });
  } catch (error) {
    if (error instanceof FilterError) throw new ComputeApiError(400, 'invalid', error.message);
    throw error;
  }
}

interface Page {
  readonly items: readonly unknown[];
  readonly nextPageToken?: string;
}

function filterAndPage(request: ApiRequest, all: readonly unknown[], refuseRegexWithLogic: boolean): Page {
  const items = all.filter(compileOrThrow(request.query.get('filter'), refuseRegexWithLogic));
  const maxRaw = request.query.get('maxResults');
  const maxResults = maxRaw === null ? 500 : Number(maxRaw);
  if (!Number.isInteger(maxResults) || maxResults < 0 || maxResults > 500) {
    throw new ComputeApiError(
      400,
      'invalid',
      `Invalid value for field 'maxResults': '${maxRaw ?? ''}'. Must be an integer from 0 to 500.`,
    );
  }
  const token = request.query.get('pageToken');
  let offset = 0;
  if (token !== null && token !== '') {
    offset = Number(
      Buffer.from(token, 'base64url')
        .toString('utf8')
        .replace(/^offset:/, ''),
    );
    if (!Number.isInteger(offset) || offset < 0) {
      throw new ComputeApiError(
        400,
        'invalid',
        `Invalid value for field 'pageToken': '${token}'. Use a nextPageToken from a previous page.`,
      );
    }
  }
  const size = maxResults === 0 ? 500 : maxResults;
  const page = items.slice(offset, offset + size);
  const next = offset + size < items.length ? Buffer.from(`offset:${offset + size}`).toString('base64url') : undefined;
  return { items: page, ...(next === undefined ? {} : { nextPageToken: next }) };
}

function listBody(kind: string, selfLink: string, page: Page): Record<string, unknown> {
  return {
    kind,
    id: selfLink,
    items: page.items,
    selfLink,
    ...(page.nextPageToken === undefined ? {} : { nextPageToken: page.nextPageToken }),
  };
}

/** A request value as text for an error message. */
function shown(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined) return {};
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ComputeApiError(400, 'parseError', 'Invalid JSON payload received. Expected an object.');
  }
  return body as Record<string, unknown>;
}

/** Short name of a template given as a URL, a partial URL or a bare name. */
function templateNameOf(value: string): string {
  return value.slice(value.lastIndexOf('/') + 1);
}

function nonNegativeInt(value: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined || value === null) return undefined;
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 0 || number > max) {
    throw new ComputeApiError(
      400,
      'invalid',
      `Invalid value for field '${field}': '${shown(value)}'. Must be an integer from 0 to ${max}.`,
    );
  }
  return number;
}

function parseFixedOrPercent(value: unknown, field: string): { fixed?: number; percent?: number } | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ComputeApiError(400, 'invalid', `Invalid value for field '${field}': expected {fixed} or {percent}.`);
  }
  const record = value as Record<string, unknown>;
  const fixed = nonNegativeInt(record['fixed'], `${field}.fixed`);
  const percent = nonNegativeInt(record['percent'], `${field}.percent`, 100);
  if (fixed !== undefined && percent !== undefined) {
    throw new ComputeApiError(
      400,
      'invalid',
      `Invalid value for field '${field}': set either fixed or percent, not both.`,
    );
  }
  // The client sends unset message fields as {}: that is "not set", not "zero".
  if (fixed === undefined && percent === undefined) return undefined;
  return fixed !== undefined ? { fixed } : { percent: percent ?? 0 };
}

function parseMigPatch(body: unknown): MigPatch {
  const record = objectBody(body);
  const patch: { -readonly [K in keyof MigPatch]: MigPatch[K] } = {};
  if (typeof record['fingerprint'] === 'string' && record['fingerprint'] !== '')
    patch.fingerprint = record['fingerprint'];
  const versions = record['versions'];
  if (versions !== undefined && versions !== null) {
    if (!Array.isArray(versions))
      throw new ComputeApiError(400, 'invalid', "Invalid value for field 'resource.versions': expected a list.");
    // An empty list is how the client encodes "not set".
    if (versions.length > 0) {
      patch.versions = versions.map((raw: unknown, index): VersionSpec => {
        const field = `resource.versions[${index}]`;
        if (raw === null || typeof raw !== 'object')
          throw new ComputeApiError(400, 'invalid', `Invalid value for field '${field}'.`);
        const version = raw as Record<string, unknown>;
        const template = version['instanceTemplate'];
        if (typeof template !== 'string' || template === '') {
          throw new ComputeApiError(400, 'required', `Required field '${field}.instanceTemplate' not specified`);
        }
        const targetSize = parseFixedOrPercent(version['targetSize'], `${field}.targetSize`);
        return {
          name: typeof version['name'] === 'string' ? version['name'] : '',
          template: templateNameOf(template),
          ...(targetSize === undefined ? {} : { targetSize }),
        };
      });
    }
  }
  const policy = record['updatePolicy'];
  if (policy !== undefined && policy !== null) {
    if (typeof policy !== 'object' || Array.isArray(policy)) {
      throw new ComputeApiError(400, 'invalid', "Invalid value for field 'resource.updatePolicy': expected an object.");
    }
    const raw = policy as Record<string, unknown>;
    const update: Partial<UpdatePolicy> = {};
    for (const key of [
      'type',
      'minimalAction',
      'mostDisruptiveAllowedAction',
      'replacementMethod',
      'instanceRedistributionType',
    ] as const) {
      const value = raw[key];
      if (typeof value === 'string' && value !== '') update[key] = value;
    }
    const maxSurge = parseFixedOrPercent(raw['maxSurge'], 'resource.updatePolicy.maxSurge');
    if (maxSurge !== undefined) update.maxSurge = maxSurge;
    const maxUnavailable = parseFixedOrPercent(raw['maxUnavailable'], 'resource.updatePolicy.maxUnavailable');
    if (maxUnavailable !== undefined) update.maxUnavailable = maxUnavailable;
    patch.updatePolicy = update;
  }
  const targetSize = nonNegativeInt(record['targetSize'], 'resource.targetSize', 2000);
  if (targetSize !== undefined) patch.targetSize = targetSize;
  return patch;
}

/** `anyCase`: the `lowerCaseEnums` behaviour (enums.ts). */
function parseAutoscalerPatch(body: unknown, anyCase: boolean): Parameters<FleetModel['patchAutoscaler']>[1] {
  const record = objectBody(body);
  const policy = record['autoscalingPolicy'];
  if (policy === undefined || policy === null) return {};
  if (typeof policy !== 'object' || Array.isArray(policy)) {
    throw new ComputeApiError(
      400,
      'invalid',
      "Invalid value for field 'resource.autoscalingPolicy': expected an object.",
    );
  }
  const raw = policy as Record<string, unknown>;
  const min = nonNegativeInt(raw['minNumReplicas'], 'resource.autoscalingPolicy.minNumReplicas', 1000);
  const max = nonNegativeInt(raw['maxNumReplicas'], 'resource.autoscalingPolicy.maxNumReplicas', 1000);
  const cool = nonNegativeInt(raw['coolDownPeriodSec'], 'resource.autoscalingPolicy.coolDownPeriodSec', 3600);
  const requestedMode = raw['mode'];
  const mode =
    requestedMode === undefined || requestedMode === ''
      ? undefined
      : canonicalEnum(shown(requestedMode), AUTOSCALER_MODES, anyCase);
  if (requestedMode !== undefined && requestedMode !== '' && mode === undefined) {
    throw new ComputeApiError(
      400,
      'invalid',
      `Invalid value for field 'resource.autoscalingPolicy.mode': '${shown(requestedMode)}'. Must be one of ${AUTOSCALER_MODES.join(', ')}.`,
    );
  }
  const cpu = raw['cpuUtilization'] as { utilizationTarget?: unknown } | undefined;
  const target = typeof cpu?.utilizationTarget === 'number' ? cpu.utilizationTarget : undefined;
  return {
    ...(min === undefined ? {} : { min }),
    ...(max === undefined ? {} : { max }),
    ...(cool === undefined ? {} : { coolDownPeriodSec: cool }),
    // ONLY_UP is the older name of ONLY_SCALE_OUT.
    ...(mode === undefined ? {} : { mode: mode === 'ONLY_UP' ? 'ONLY_SCALE_OUT' : mode }),
    ...(target === undefined ? {} : { cpuUtilizationTarget: target }),
  };
}
