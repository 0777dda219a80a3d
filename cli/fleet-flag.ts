/** The fleet a command works on: `--fleet <file>`, or the built-in default fleet. */
import { defaultFleet, loadFleetFile } from '../runner-config/default-fleet.js';
import type { FleetDefinition } from '../runner-config/types.js';
import { UsageError } from './errors.js';

export async function fleetOfFlag(path: string | undefined): Promise<FleetDefinition> {
  if (path === undefined) return defaultFleet();
  try {
    return await loadFleetFile(path);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') throw new UsageError(`--fleet: no such file ${path}`);
    throw error;
  }
}

/** The fleet as the worker reads it, and the project of its workflow ids. */
export interface WorkerFleet {
  readonly fleet: FleetDefinition;
  readonly project: string;
}

/**
 * The fleet the worker reads (`--fleet`, else `ROLLOUT_FLEET_FILE`, else the built-in one), which `GCP_PROJECT`
 * retargets as it does the worker's: commands that name a workflow by its pool need both.
 */
export async function workerFleet(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Promise<WorkerFleet> {
  const fleet = await fleetOfFlag(flag ?? env['ROLLOUT_FLEET_FILE']);
  return { fleet, project: env['GCP_PROJECT'] ?? fleet.project };
}
