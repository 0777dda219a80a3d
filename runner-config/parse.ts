import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { FleetConfigError, formatPath, type FleetIssue, type FleetParseResult } from './issues.js';
import { entryNormalisers, sectionNormalisers, type FleetDraft } from './normalise.js';
import { FLEET_RULES } from './rules.js';
import { listSections, sections, type FleetSectionName, type ListSectionName } from './schema.js';
import type { FleetDefinition } from './types.js';

const SECTION_NAMES = Object.keys(sections) as FleetSectionName[];
const isListSection = (name: FleetSectionName): name is ListSectionName => name in listSections;

/**
 * Parses a fleet file (YAML, or JSON, which is YAML too) in three stages: schema, normalisation, rules. Every
 * error and warning of every stage is reported at once, and a fleet is returned only when there is no error.
 */
export function parseFleet(text: string, source = 'fleet file'): FleetParseResult {
  const errors: FleetIssue[] = [];
  const warnings: FleetIssue[] = [];

  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  for (const problem of document.errors) errors.push({ path: '', message: problem.message });
  for (const problem of document.warnings) warnings.push({ path: '', message: problem.message });
  if (errors.length > 0) return { ok: false, errors, warnings };

  const raw: unknown = document.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, errors: [{ path: '', message: `${source} must be a mapping of sections` }], warnings };
  }
  const file = raw as Record<string, unknown>;
  for (const key of Object.keys(file)) {
    if (!(SECTION_NAMES as string[]).includes(key)) {
      errors.push({ path: key, message: `unknown section (known: ${SECTION_NAMES.join(', ')})` });
    }
  }

  const draft: FleetDraft = { regions: [], groups: [], types: [], pools: [], incomplete: new Set() };
  for (const name of SECTION_NAMES) {
    const sectionErrors = isListSection(name)
      ? checkList(draft, name, file[name])
      : checkSection(draft, name, file[name]);
    if (sectionErrors.length > 0) draft.incomplete.add(name);
    errors.push(...sectionErrors);
  }

  for (const rule of FLEET_RULES) {
    for (const { severity, path, message } of rule(draft))
      (severity === 'error' ? errors : warnings).push({ path, message });
  }

  if (errors.length > 0) return { ok: false, errors, warnings };
  return { ok: true, fleet: completeFleet(draft), warnings };
}

/** {@link parseFleet} for callers that cannot continue without a fleet: throws a {@link FleetConfigError}. */
export function parseFleetOrThrow(text: string, source = 'fleet file'): FleetDefinition {
  const result = parseFleet(text, source);
  if (!result.ok) throw new FleetConfigError(source, result.errors);
  return result.fleet;
}

function checkSection(
  draft: FleetDraft,
  name: Exclude<FleetSectionName, ListSectionName>,
  value: unknown,
): FleetIssue[] {
  const parsed = sections[name].safeParse(value, { reportInput: true });
  if (!parsed.success) return describeIssues([name], parsed.error.issues);
  const normalise = sectionNormalisers[name] as (section: unknown) => never;
  draft[name] = normalise(parsed.data);
  return [];
}

function checkList(draft: FleetDraft, name: ListSectionName, value: unknown): FleetIssue[] {
  if (!Array.isArray(value) || value.length === 0) {
    const parsed = sections[name].safeParse(value, { reportInput: true });
    return parsed.success ? [] : describeIssues([name], parsed.error.issues);
  }
  const normalise = entryNormalisers[name] as (entry: unknown) => never;
  const entries = draft[name] as { index: number; value: unknown }[];
  return value.flatMap((element: unknown, index) => {
    const parsed = listSections[name].safeParse(element, { reportInput: true });
    if (!parsed.success) return describeIssues([name, index], parsed.error.issues);
    entries.push({ index, value: normalise(parsed.data) });
    return [];
  });
}

function describeIssues(prefix: PropertyKey[], issues: readonly z.core.$ZodIssue[]): FleetIssue[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: formatPath([...path, key]), message: 'unknown field' }));
    }
    if (issue.code === 'invalid_type' && issue.input === undefined)
      return [{ path: formatPath(path), message: 'is required' }];
    return [{ path: formatPath(path), message: issue.message }];
  });
}

/** Only called without errors, so every section is present and every list entry made it. */
function completeFleet(draft: FleetDraft): FleetDefinition {
  const { project, namePrefix, github, services, environments, runner, rollout } = draft;
  if (
    project === undefined ||
    namePrefix === undefined ||
    github === undefined ||
    services === undefined ||
    environments === undefined ||
    runner === undefined ||
    rollout === undefined
  ) {
    throw new Error('a fleet without errors lacks a section; the schema and the normalisers disagree');
  }
  return {
    project,
    namePrefix,
    github,
    services,
    environments,
    groups: draft.groups.map((entry) => entry.value),
    types: draft.types.map((entry) => entry.value),
    regions: draft.regions.map((entry) => entry.value),
    // Left out when empty: a fleet without pools is the same definition it was before pools existed (the
    // simulator's snapshots compare it).
    ...(draft.pools.length === 0 ? {} : { pools: draft.pools.map((entry) => entry.value) }),
    runner,
    rollout,
  };
}
