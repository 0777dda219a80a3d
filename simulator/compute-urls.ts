/** The route paths of the Compute API and the resource URLs its answers carry. */
import type { SimInstance, SimMig } from './fleet-types.js';

/** Resource URLs look like the real API's, whatever address the simulator listens on. */
const SELF_LINK_ROOT = 'https://www.googleapis.com/compute/v1';
export const PROJECT_PATH = '/compute/v1/projects/:project';

export type ComputeUrls = ReturnType<typeof computeUrls>;

export function computeUrls(project: string) {
  const base = `${SELF_LINK_ROOT}/projects/${project}`;
  const regionUrl = (region: string): string => `${base}/regions/${region}`;
  const zoneUrl = (zone: string): string => `${base}/zones/${zone}`;
  const migUrl = (mig: SimMig): string => `${regionUrl(mig.region)}/instanceGroupManagers/${mig.name}`;
  const templateUrl = (name: string): string => `${base}/global/instanceTemplates/${name}`;
  const instanceUrl = (instance: SimInstance): string => `${zoneUrl(instance.zone)}/instances/${instance.name}`;
  return { base, regionUrl, zoneUrl, migUrl, templateUrl, instanceUrl };
}
