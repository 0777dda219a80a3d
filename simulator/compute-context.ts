import { computeLookups, type ComputeLookups } from './compute-lookups.js';
import { computeMutate, type Mutate } from './compute-mutations.js';
import { computeResources, type ComputeResources } from './compute-resources.js';
import { computeUrls, type ComputeUrls } from './compute-urls.js';
import type { FleetModel } from './fleet-model.js';

/** What every Compute route works with: the model, the URLs and resources it answers with, its path lookups. */
export interface ComputeContext {
  readonly model: FleetModel;
  readonly urls: ComputeUrls;
  readonly resources: ComputeResources;
  readonly lookups: ComputeLookups;
  readonly mutate: Mutate;
}

export function computeContext(model: FleetModel): ComputeContext {
  const urls = computeUrls(model.fleet.project);
  const resources = computeResources(model, urls);
  return { model, urls, resources, lookups: computeLookups(model), mutate: computeMutate(model, resources) };
}
