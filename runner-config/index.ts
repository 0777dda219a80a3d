/**
 * The pure runner-config API: types, naming, parsing and validation, selectors, labels. Safe to import from
 * workflows. File loading and the bundled default fleet live in default-fleet.ts, which does I/O.
 */
export * from './types.js';
export * from './naming.js';
export { GITHUB_EVENTS, UNTRUSTED_CODE_EVENTS, type GitHubEvent } from './events.js';
export { FleetConfigError, formatFleetIssues, type FleetIssue, type FleetParseResult } from './issues.js';
export { parseFleet, parseFleetOrThrow } from './parse.js';
export { fleetFileSchema, SEGMENT_NAME_PATTERN, type FleetFile } from './schema.js';
export { compileSelector, selectorProblem, SELECT_ALL, SelectorError, type Selector } from './selectors.js';
export { durationProblem, parseDuration, SOAK_MINIMUM, type DurationMinimum } from './durations.js';
export {
  enumerateMigs,
  findGroup,
  findType,
  migAutoscaling,
  migNameOf,
  selectMigRefs,
  templateNameFor,
  versionTemplates,
  zonesOf,
  type MigSelectors,
  type TemplateRef,
} from './matrix.js';
export { customRunnerLabels, defaultRunnerLabels, runnerLabels, type RunnerVm } from './labels.js';
export { METADATA_KEYS, runnerArchiveUrl, templateMetadata, type TemplateMetadataOptions } from './metadata.js';
export { HOOK_ALLOW_LIST_PATH, hookAllowList } from './vm-files.js';
export { fleetJsonSchemaText } from './json-schema.js';
export { compareRunnerVersions } from './runner-versions.js';
