/** The model objects a Compute request's path names, or the 404 GCE answers when one does not exist. */
import { ComputeApiError } from './errors.js';
import type { FleetModel } from './fleet-model.js';
import type { SimMig, SimOperation } from './fleet-types.js';
import type { ApiRequest } from './routing.js';

export type ComputeLookups = ReturnType<typeof computeLookups>;

export function computeLookups(model: FleetModel) {
  const project = model.fleet.project;

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

  const findAutoscaled = (request: ApiRequest, name: string | undefined): SimMig => {
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
  };

  return { checkProject, checkRegion, findMig, findAutoscaled, findOperation };
}
