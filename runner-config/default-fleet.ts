/**
 * Fleet files on disk, and the IREE-shaped default fleet that ships with the project. This module does I/O;
 * workflows import the pure index.ts instead and receive their fleet through an activity.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseFleetOrThrow } from './parse.js';
import type { FleetDefinition } from './types.js';

export const DEFAULT_FLEET_PATH = fileURLToPath(new URL('fleets/default.yaml', import.meta.url));

/** Reads and validates a fleet file; throws a FleetConfigError listing every problem, one per line. */
export async function loadFleetFile(path: string): Promise<FleetDefinition> {
  return parseFleetOrThrow(await readFile(path, 'utf8'), path);
}

let defaultFleetCache: FleetDefinition | undefined;

/** The default fleet (fleets/default.yaml), read once. */
export function defaultFleet(): FleetDefinition {
  defaultFleetCache ??= parseFleetOrThrow(readFileSync(DEFAULT_FLEET_PATH, 'utf8'), DEFAULT_FLEET_PATH);
  return defaultFleetCache;
}
