import { compileSelector } from './selectors.js';
import { migName, templateName } from './naming.js';
import type { AutoscalingBounds, Environment, FleetDefinition, MigRef, RunnerGroup, RunnerType } from './types.js';

/** Every MIG of one environment: each group × type in each of the environment's regions. */
export function enumerateMigs(fleet: FleetDefinition, environment: Environment): MigRef[] {
  return fleet.groups.flatMap((group) =>
    fleet.types.flatMap((type) =>
      fleet.environments[environment].regions.map((region) => ({
        environment,
        group: group.name,
        type: type.name,
        region,
      })),
    ),
  );
}

/** Selector expressions (see selectors.ts) choosing MIGs of one environment. */
export interface MigSelectors {
  readonly environment: Environment;
  readonly regions: string;
  readonly groups: string;
  readonly types: string;
}

/** The MIGs of the fleet matched by all three selectors; throws a SelectorError for a bad expression. */
export function selectMigRefs(fleet: FleetDefinition, selectors: MigSelectors): MigRef[] {
  const regions = compileSelector(selectors.regions);
  const groups = compileSelector(selectors.groups);
  const types = compileSelector(selectors.types);
  return enumerateMigs(fleet, selectors.environment).filter(
    (ref) => regions.matches(ref.region) && groups.matches(ref.group) && types.matches(ref.type),
  );
}

export function migNameOf(fleet: FleetDefinition, ref: MigRef): string {
  return migName(fleet.namePrefix, ref);
}

export interface TemplateRef {
  readonly group: string;
  readonly type: string;
  readonly name: string;
}

/** The instance templates of one version: one per group × type, shared by testing and prod. */
export function versionTemplates(fleet: FleetDefinition, version: string): TemplateRef[] {
  return fleet.groups.flatMap((group) =>
    fleet.types.map((type) => ({
      group: group.name,
      type: type.name,
      name: templateName(fleet.namePrefix, group.name, type.name, version),
    })),
  );
}

/** The template a MIG runs for `version`. */
export function templateNameFor(fleet: FleetDefinition, ref: MigRef, version: string): string {
  return templateName(fleet.namePrefix, ref.group, ref.type, version);
}

/** Normal autoscaling bounds of a MIG: its type's override for the environment, else the environment's. */
export function migAutoscaling(fleet: FleetDefinition, ref: MigRef): AutoscalingBounds {
  return findType(fleet, ref.type).autoscaling?.[ref.environment] ?? fleet.environments[ref.environment].autoscaling;
}

export function findGroup(fleet: FleetDefinition, name: string): RunnerGroup {
  const group = fleet.groups.find((candidate) => candidate.name === name);
  if (group === undefined) {
    throw new RangeError(
      `unknown runner group "${name}" (fleet groups: ${fleet.groups.map((g) => g.name).join(', ')})`,
    );
  }
  return group;
}

export function findType(fleet: FleetDefinition, name: string): RunnerType {
  const type = fleet.types.find((candidate) => candidate.name === name);
  if (type === undefined) {
    throw new RangeError(`unknown runner type "${name}" (fleet types: ${fleet.types.map((t) => t.name).join(', ')})`);
  }
  return type;
}

/** Zones of a region, as the fleet declares them. */
export function zonesOf(fleet: FleetDefinition, region: string): readonly string[] {
  const found = fleet.regions.find((candidate) => candidate.name === region);
  if (found === undefined) throw new RangeError(`unknown region "${region}"`);
  return found.zones;
}
