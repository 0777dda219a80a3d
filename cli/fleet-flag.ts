/** The fleet a local command works on: `--fleet <file>`, or the built-in default fleet. */
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
