/**
 * The stack's simulator: both cloud APIs on one port with the engine-defect workarounds on, the environment
 * that points a worker at it, and a version's templates created in it directly.
 */
import { templateName } from '../runner-config/naming.js';
import {
  ENGINE_DEFECT_WORKAROUNDS,
  startSimulator,
  type SimulatorHandle,
  type SimulatorOptions,
} from '../simulator/index.js';

export function startStackSimulator(options: SimulatorOptions = {}): Promise<SimulatorHandle> {
  return startSimulator({ behaviours: ENGINE_DEFECT_WORKAROUNDS, ...options });
}

/** Both APIs' endpoints for a worker's configuration (COMPUTE_API_ENDPOINT, GITHUB_API_URL). */
export function simulatorEndpoints(url: string): Record<string, string> {
  return { COMPUTE_API_ENDPOINT: url, GITHUB_API_URL: url };
}

/**
 * The simulator accepts any token. A worker of the stack gets this one and no GitHub App, so that it never picks
 * up real credentials from the shell.
 */
export const SIMULATOR_CREDENTIALS: Readonly<Record<string, string | undefined>> = {
  GITHUB_TOKEN: 'simulator-token',
  GITHUB_APP_ID: undefined,
  GITHUB_APP_PRIVATE_KEY: undefined,
  GITHUB_APP_PRIVATE_KEY_FILE: undefined,
  GITHUB_APP_INSTALLATION_ID: undefined,
};

/**
 * Creates every (group, type) template of `version` through the simulator's control API, the state that
 * `rollout templates create` leaves behind, without running it. Returns the template names.
 */
export function seedVersionTemplates(simulator: SimulatorHandle, version: string): string[] {
  const fleet = simulator.fleet;
  const names: string[] = [];
  for (const group of fleet.groups) {
    for (const type of fleet.types) {
      simulator.control.createTemplate({ group: group.name, type: type.name, version });
      names.push(templateName(fleet.namePrefix, group.name, type.name, version));
    }
  }
  return names;
}
