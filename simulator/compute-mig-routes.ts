/** The instance group manager and autoscaler routes of the Compute API: reads, patches, resizes and deletions. */
import type { ComputeContext } from './compute-context.js';
import type { MutationTarget } from './compute-mutations.js';
import { compileOrThrow, listAnswer } from './compute-paging.js';
import { checkVersionCount, objectBody, parseAutoscalerPatch, parseMigPatch } from './compute-requests.js';
import { PROJECT_PATH } from './compute-urls.js';
import { ComputeApiError } from './errors.js';
import type { SimMig } from './fleet-types.js';
import type { Route } from './routing.js';

const MIGS = `${PROJECT_PATH}/regions/:region/instanceGroupManagers`;

export function migRoutes({ model, urls, resources, lookups, mutate }: ComputeContext): Route[] {
  const { regionUrl, migUrl } = urls;
  const { migResource, managedInstance, autoscalerResource } = resources;
  const { checkRegion, findMig, findAutoscaled } = lookups;

  const migTarget = (mig: SimMig, operationType: string): MutationTarget => ({
    link: migUrl(mig),
    id: mig.id,
    region: mig.region,
    operationType,
  });

  return [
    {
      api: 'compute',
      method: 'GET',
      path: MIGS,
      endpoint: 'compute.regionInstanceGroupManagers.list',
      handle: (request) => {
        const region = checkRegion(request);
        const items = (model.migsByRegion.get(region) ?? []).map(migResource);
        return listAnswer(
          request,
          'compute#regionInstanceGroupManagerList',
          `${regionUrl(region)}/instanceGroupManagers`,
          items,
          model.behaviours.regexAndFilter,
        );
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
        return listAnswer(
          request,
          'compute#regionAutoscalerList',
          `${regionUrl(region)}/autoscalers`,
          items,
          model.behaviours.regexAndFilter,
        );
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
  ];
}
