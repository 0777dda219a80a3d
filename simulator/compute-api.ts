import { iso } from './clock.js';
import { computeContext } from './compute-context.js';
import { migRoutes } from './compute-mig-routes.js';
import { listAnswer } from './compute-paging.js';
import { objectBody, shown } from './compute-requests.js';
import { PROJECT_PATH } from './compute-urls.js';
import { ComputeApiError } from './errors.js';
import type { FleetModel } from './fleet-model.js';
import { awaitOperation, rememberedOperation } from './operations.js';
import type { Route } from './routing.js';

const NAME_PATTERN = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The Compute Engine v1 subset the engine uses, over the fleet model: regions, instance templates, operations and
 * instances here, instance group managers and autoscalers in compute-mig-routes.ts.
 */
export function computeRoutes(model: FleetModel): Route[] {
  const context = computeContext(model);
  const project = model.fleet.project;
  const { base, regionUrl, zoneUrl, templateUrl } = context.urls;
  const { instanceResource, templateResource, operationResource } = context.resources;
  const { checkProject, checkRegion, findOperation } = context.lookups;
  const mutate = context.mutate;

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
        return listAnswer(request, 'compute#regionList', `${base}/regions`, items, model.behaviours.regexAndFilter);
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
    ...migRoutes(context),
    {
      api: 'compute',
      method: 'GET',
      path: `${PROJECT_PATH}/global/instanceTemplates`,
      endpoint: 'compute.instanceTemplates.list',
      handle: (request) => {
        checkProject(request);
        const items = [...model.templates.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map(templateResource);
        return listAnswer(
          request,
          'compute#instanceTemplateList',
          `${base}/global/instanceTemplates`,
          items,
          model.behaviours.regexAndFilter,
        );
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
        return listAnswer(
          request,
          'compute#instanceList',
          `${zoneUrl(zone)}/instances`,
          items,
          model.behaviours.regexAndFilter,
        );
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
}
