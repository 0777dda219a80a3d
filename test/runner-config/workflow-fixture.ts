// A workflow module that uses the pure runner-config API, bundled by workflow-purity.test.ts.
import {
  compileSelector,
  enumerateMigs,
  migName,
  parseDuration,
  parseFleet,
  runnerLabels,
} from '../../runner-config/index.js';

export async function fleetMigNames(fleetText: string, types: string): Promise<string[]> {
  const result = parseFleet(fleetText);
  if (!result.ok) return result.errors.map((issue) => `${issue.path}: ${issue.message}`);
  const selector = compileSelector(types);
  parseDuration(result.fleet.rollout.defaultSoak);
  runnerLabels(result.fleet, enumerateMigs(result.fleet, 'prod')[0]!, {
    name: 'vm',
    zone: 'z',
    version: '0123456789-abc',
  });
  return enumerateMigs(result.fleet, 'prod')
    .filter((ref) => selector.matches(ref.type))
    .map((ref) => migName(result.fleet.namePrefix, ref));
}
