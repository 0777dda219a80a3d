import type { FleetDefinition } from './types.js';

/** One problem found in a fleet file. */
export interface FleetIssue {
  /** Where in the file, e.g. `types[2].machineType`; empty for the file as a whole. */
  readonly path: string;
  readonly message: string;
}

export type FleetParseResult =
  | { readonly ok: true; readonly fleet: FleetDefinition; readonly warnings: FleetIssue[] }
  | { readonly ok: false; readonly errors: FleetIssue[]; readonly warnings: FleetIssue[] };

/** A fleet file that cannot be used; `issues` lists every problem, and the message has one per line. */
export class FleetConfigError extends Error {
  override readonly name = 'FleetConfigError';
  /** The message's first line: `fleet.yaml has 3 problems:`. */
  readonly summary: string;
  constructor(
    readonly source: string,
    readonly issues: readonly FleetIssue[],
  ) {
    const summary = `${source} has ${issues.length} ${issues.length === 1 ? 'problem' : 'problems'}:`;
    super(`${summary}\n${formatFleetIssues(issues)}`);
    this.summary = summary;
  }
}

export function formatFleetIssues(issues: readonly FleetIssue[]): string {
  return issues.map((issue) => `  ${formatFleetIssue(issue)}`).join('\n');
}

/**
 * One problem on one line, `path: message`. A YAML syntax error's message continues with an excerpt of the
 * file under its `at line L, column C:` headline; the headline alone locates it.
 */
export function formatFleetIssue(issue: FleetIssue): string {
  const [headline = ''] = issue.message.split('\n');
  return `${issue.path === '' ? '(file)' : issue.path}: ${headline.replace(/:$/, '')}`;
}

/** `['types', 2, 'machineType']` → `types[2].machineType`. */
export function formatPath(segments: readonly PropertyKey[]): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else path += path === '' ? String(segment) : `.${String(segment)}`;
  }
  return path;
}
