/**
 * Plan and preflight as pure functions: from the input, the fleet definition and what the MIGs look like now,
 * decide every MIG's role, template and patch, and collect every problem at once.
 */
import type { MigSnapshot, PreflightProblem } from '../activities/contract.js';
import { selectorProblem } from '../runner-config/selectors.js';
import { BASE_VERSION_NAME, parseVersion, templateName, versionProblem } from '../runner-config/naming.js';
import { ENVIRONMENTS, type Environment, type FleetDefinition } from '../runner-config/types.js';
import { SOAK_MINIMUM } from '../runner-config/durations.js';
import { durationMs } from './durations.js';
import {
  DEFAULT_ROLLOUT_TIMING,
  type MigRole,
  type PlannedMig,
  type RolloutInput,
  type RolloutPlan,
  type RolloutStage,
  type RolloutState,
  type RolloutTiming,
} from './rollout-contract.js';
import type { AutoscalingBounds } from '../runner-config/types.js';

export interface Selection {
  readonly environments: readonly Environment[];
  readonly regions: string;
  readonly groups: string;
  readonly types: string;
}

/** Selection with defaults applied: both environments, every region, group and type. */
export function resolveSelection(input: RolloutInput): Selection {
  return {
    environments:
      input.environments === undefined || input.environments.length === 0 ? ENVIRONMENTS : input.environments,
    regions: input.regions ?? 'all',
    groups: input.groups ?? 'all',
    types: input.types ?? 'all',
  };
}

/** The input's intervals, else the fleet's (as the worker defines it), else the engine's defaults. */
export function resolveTiming(input: RolloutInput, fleet?: FleetDefinition): RolloutTiming {
  return { ...DEFAULT_ROLLOUT_TIMING, ...fleet?.rollout.timing, ...input.timing };
}

/** Problems visible from the input alone; the rollout stops before any activity when there are some. */
export function inputProblems(input: RolloutInput): PreflightProblem[] {
  const problems: PreflightProblem[] = [];
  const invalid = (message: string): void => {
    problems.push({ code: 'invalid-input', message });
  };
  const badVersion = versionProblem(input.version);
  if (badVersion !== undefined) invalid(badVersion);
  for (const environment of input.environments ?? []) {
    if (!(ENVIRONMENTS as readonly string[]).includes(environment)) {
      invalid(`environment "${environment}" is not one of ${ENVIRONMENTS.join(', ')}`);
    }
  }
  const selection = resolveSelection(input);
  for (const [what, selector] of Object.entries({
    regions: selection.regions,
    groups: selection.groups,
    types: selection.types,
  })) {
    const problem = selectorProblem(selector);
    if (problem !== undefined) invalid(`${what}: ${problem}`);
  }
  if (input.requestedBy.trim() === '') invalid('requestedBy must name who starts the rollout');
  const timing = resolveTiming(input);
  const durations = { ...timing, ...(input.soak === undefined ? {} : { soak: input.soak }) };
  for (const [name, value] of Object.entries(durations)) {
    if (typeof value !== 'string') continue;
    try {
      durationMs(value, name, name === 'soak' ? SOAK_MINIMUM : undefined);
    } catch (error) {
      invalid((error as Error).message);
    }
  }
  for (const name of ['unhealthyChecksToRollBack', 'maxHistoryEvents', 'maxConcurrency'] as const) {
    const value = timing[name];
    if (!(Number.isInteger(value) && value > 0)) invalid(`${name} must be a positive integer, got ${value}`);
  }
  return problems;
}

export interface PlanFacts {
  readonly input: RolloutInput;
  readonly fleet: FleetDefinition;
  /** The selected MIGs per environment, as they are now. */
  readonly selected: Readonly<Partial<Record<Environment, readonly MigSnapshot[]>>>;
  /** Templates of the version that do not exist. */
  readonly missingTemplates: readonly string[];
  /** Problems found before this point (input, failed reads). */
  readonly earlierProblems: readonly PreflightProblem[];
  /** Activities the planning worker runs at once, when it says. */
  readonly activitySlots?: number;
}

/** Template names the plan needs, to ask which are missing before {@link buildPlan}. */
export function neededTemplates(
  fleet: FleetDefinition,
  version: string,
  selected: PlanFacts['selected'],
): { names: string[]; problems: PreflightProblem[] } {
  const names = new Set<string>();
  const problems: PreflightProblem[] = [];
  for (const snapshot of Object.values(selected).flat()) {
    try {
      names.add(templateName(fleet.namePrefix, snapshot.ref.group, snapshot.ref.type, version));
    } catch (error) {
      problems.push({ mig: snapshot.name, code: 'invalid-template-name', message: (error as Error).message });
    }
  }
  return { names: [...names].sort(), problems };
}

const ROLE_ORDER: readonly MigRole[] = ['testing', 'canary', 'direct-first', 'direct-rest'];

export function buildPlan(facts: PlanFacts): RolloutPlan {
  const { input, fleet } = facts;
  const selection = resolveSelection(input);
  const problems: PreflightProblem[] = [...facts.earlierProblems];
  const notes: string[] = [];
  const missing = new Set(facts.missingTemplates);
  const migs: PlannedMig[] = [];
  const isTestingVersion = versionProblem(input.version) === undefined && parseVersion(input.version).testing;

  if (isTestingVersion && selection.environments.includes('prod') && input.allowTestingVersion !== true) {
    problems.push({
      code: 'testing-version-in-prod',
      message: `version ${input.version} is a testing version; pass allowTestingVersion to roll it out to prod`,
    });
  }

  for (const environment of selection.environments) {
    const snapshots = facts.selected[environment];
    if (snapshots === undefined) continue;
    if (snapshots.length === 0) {
      problems.push({
        code: 'no-migs-selected',
        message: `no ${environment} MIG matches regions=${selection.regions} groups=${selection.groups} types=${selection.types}`,
      });
      continue;
    }
    // Testing MIGs are all updated at once: there is no first region to pick (nor to note as missing).
    const firstRegions =
      environment === 'testing' ? new Map<string, string>() : firstRegionsOfDirectTypes(fleet, snapshots, notes);
    for (const snapshot of snapshots) {
      const type = fleet.types.find((candidate) => candidate.name === snapshot.ref.type);
      if (type === undefined) {
        problems.push({
          mig: snapshot.name,
          code: 'unknown-type',
          message: `MIG ${snapshot.name} has type "${snapshot.ref.type}", which the fleet definition does not define`,
        });
        continue;
      }
      problems.push(...migProblems(snapshot));
      let toTemplate: string;
      try {
        toTemplate = templateName(fleet.namePrefix, snapshot.ref.group, snapshot.ref.type, input.version);
      } catch {
        continue; // reported by neededTemplates
      }
      if (missing.has(toTemplate)) {
        problems.push({
          mig: snapshot.name,
          code: 'missing-template',
          message: `instance template ${toTemplate} (for ${snapshot.name}) does not exist; create the templates of ${input.version} first`,
        });
      }
      const role: MigRole =
        environment === 'testing'
          ? 'testing'
          : type.rolloutPolicy === 'canary'
            ? 'canary'
            : firstRegions.get(type.name) === snapshot.region
              ? 'direct-first'
              : 'direct-rest';
      const fromTemplate = snapshot.versions[0]?.instanceTemplate ?? '';
      migs.push({
        name: snapshot.name,
        region: snapshot.region,
        ref: snapshot.ref,
        role,
        policy: type.rolloutPolicy,
        fromTemplate,
        toTemplate,
        patch: describePatch(role, fromTemplate, toTemplate, fleet),
        targetSize: snapshot.targetSize,
        instancesByTemplate: snapshot.instancesByTemplate,
      });
    }
  }
  migs.sort(
    (a, b) =>
      ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role) ||
      a.region.localeCompare(b.region) ||
      a.name.localeCompare(b.name),
  );

  const soak = input.soak ?? fleet.rollout.defaultSoak;
  if (input.soak !== undefined && input.soak !== fleet.rollout.defaultSoak) {
    notes.push(
      `soak ${soak} instead of the default ${fleet.rollout.defaultSoak}` +
        (input.plannedSoakReason === undefined ? '' : `: ${input.plannedSoakReason}`),
    );
  }
  const plan: RolloutPlan = {
    project: fleet.project,
    version: input.version,
    environments: selection.environments,
    selection: { regions: selection.regions, groups: selection.groups, types: selection.types },
    soak,
    ...(input.plannedSoakReason === undefined ? {} : { plannedSoakReason: input.plannedSoakReason }),
    canarySize: fleet.rollout.canarySize,
    timing: resolveTiming(input, fleet),
    autoscalingWhileTesting: fleet.environments.testing.testAutoscaling,
    testingAutoscalingAtRest: fleet.environments.testing.autoscaling,
    stages: plannedStages(selection.environments),
    migs,
    problems,
    notes,
    ...(facts.activitySlots === undefined ? {} : { workerActivitySlots: facts.activitySlots }),
  };
  const lanes = lanesPastSlots(plan);
  if (lanes !== undefined) notes.push(lanes);
  return plan;
}

/**
 * A pass opens at most one lane per MIG, and each lane holds an activity slot while it runs. Lanes past the
 * slots wait in the task queue rather than fail, and other workers on the queue add their slots, so this is a
 * remark, not a problem: the operator learns how many lanes the planning worker alone runs at once.
 */
export function lanesPastSlots(plan: Pick<RolloutPlan, 'timing' | 'migs' | 'workerActivitySlots'>): string | undefined {
  const slots = plan.workerActivitySlots;
  if (slots === undefined || plan.timing === undefined) return undefined;
  const lanes = Math.min(plan.timing.maxConcurrency, plan.migs.length);
  if (lanes <= slots) return undefined;
  return `${lanes} MIGs at a time asked for, but the worker that planned runs ${slots} activities at once (ROLLOUT_ACTIVITY_SLOTS): lanes past the slots of the task queue's workers together wait for one`;
}

export function plannedStages(environments: readonly Environment[]): RolloutStage[] {
  return [
    'preflight',
    ...(environments.includes('testing') ? (['test'] as const) : []),
    ...(environments.includes('prod') ? (['canary', 'soak', 'promote', 'converge'] as const) : []),
    'done',
  ];
}

function migProblems(snapshot: MigSnapshot): PreflightProblem[] {
  const problems: PreflightProblem[] = [];
  const only = snapshot.versions[0];
  if (snapshot.versions.length !== 1 || only?.name !== BASE_VERSION_NAME) {
    const found = snapshot.versions.map((version) => `${version.name}=${version.instanceTemplate}`).join(', ');
    problems.push({
      mig: snapshot.name,
      code: 'not-single-base-version',
      message: `MIG ${snapshot.name} must have exactly one version named "${BASE_VERSION_NAME}", has [${found}]; promote or roll back its canary first`,
    });
  }
  if (!snapshot.isStable) {
    problems.push({
      mig: snapshot.name,
      code: 'mig-not-stable',
      message: `MIG ${snapshot.name} is not stable (instances are being created, deleted or updated); retry when it settles`,
    });
  }
  return problems;
}

/**
 * The region a direct-policy type is updated and verified in first: its configured `firstRegion` when that
 * region is selected, otherwise the first selected region (noted in the plan).
 */
function firstRegionsOfDirectTypes(
  fleet: FleetDefinition,
  snapshots: readonly MigSnapshot[],
  notes: string[],
): Map<string, string> {
  const firstRegions = new Map<string, string>();
  for (const type of fleet.types) {
    if (type.rolloutPolicy !== 'direct') continue;
    const regions = [...new Set(snapshots.filter((s) => s.ref.type === type.name).map((s) => s.region))].sort();
    const fallback = regions[0];
    if (fallback === undefined) continue;
    if (type.firstRegion !== undefined && regions.includes(type.firstRegion)) {
      firstRegions.set(type.name, type.firstRegion);
    } else {
      firstRegions.set(type.name, fallback);
      notes.push(
        `type ${type.name}: first region ${type.firstRegion ?? '(none configured)'} is not selected; ${fallback} goes first`,
      );
    }
  }
  return firstRegions;
}

function describePatch(role: MigRole, fromTemplate: string, toTemplate: string, fleet: FleetDefinition): string {
  const base = `versions [base=${fromTemplate}]`;
  switch (role) {
    case 'testing': {
      const test = fleet.environments.testing.testAutoscaling;
      return `autoscaling -> ${test.min}..${test.max}; ${base} -> [base=${toTemplate}]; afterwards autoscaling restored and idle runners drained`;
    }
    case 'canary':
      return `${base} -> [base=${fromTemplate}, canary=${toTemplate} fixed ${fleet.rollout.canarySize}]; promote -> [base=${toTemplate}]`;
    case 'direct-first':
      return `${base} -> [base=${toTemplate}] during canary (first region)`;
    case 'direct-rest':
      return `${base} -> [base=${toTemplate}] at promote`;
  }
}

/** How the plans of runs from before the bounds were renamed name them; a run continued from one carries it. */
interface PlanNamedBeforeRename {
  readonly testAutoscaling?: AutoscalingBounds;
  readonly testingAutoscaling?: AutoscalingBounds;
}

/** The state a run continued as new carries, its plan under today's names whichever version wrote it. */
export function adoptCarriedState(state: RolloutState): RolloutState {
  const plan = state.plan as (RolloutPlan & PlanNamedBeforeRename) | undefined;
  if (plan === undefined || plan.testAutoscaling === undefined || plan.testingAutoscaling === undefined) return state;
  const { testAutoscaling, testingAutoscaling, ...rest } = plan;
  return {
    ...state,
    plan: { ...rest, autoscalingWhileTesting: testAutoscaling, testingAutoscalingAtRest: testingAutoscaling },
  };
}
