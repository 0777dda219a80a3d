/**
 * A GitHub Actions workflow file as the check needs it: the events that trigger it, the inputs it takes when
 * another workflow calls it, and per job where it runs (`runs-on`, with its position in the file), its matrix,
 * and the reusable workflow it calls instead. Syntax:
 * https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions
 */
import { isMap, isScalar, LineCounter, parseDocument, type Node, type YAMLMap } from 'yaml';

export interface Position {
  readonly line: number;
  readonly col: number;
}

export interface WorkflowJob {
  readonly id: string;
  /** Where the job is named; its `runs-on` position when it has one. */
  readonly position: Position;
  /** The `runs-on` value as written (string, list, `{ group, labels }`), undefined for a job that calls. */
  readonly runsOn?: unknown;
  /** `strategy.matrix` as written. */
  readonly matrix?: unknown;
  /** `uses`: the reusable workflow this job calls. */
  readonly uses?: string;
  /** `with`: the inputs it passes to that workflow. */
  readonly with?: Readonly<Record<string, unknown>>;
}

export interface WorkflowFile {
  readonly path: string;
  readonly events: readonly string[];
  /** `on.workflow_call.inputs`: name → default (undefined when it has none). */
  readonly callInputs: Readonly<Record<string, unknown>>;
  readonly jobs: readonly WorkflowJob[];
}

/** A file that is not a workflow: invalid YAML, or not the shape of one. */
export class WorkflowFileError extends Error {
  override readonly name = 'WorkflowFileError';
  constructor(
    readonly path: string,
    readonly position: Position,
    readonly reason: string,
  ) {
    super(`${path}:${position.line}:${position.col}: ${reason}`);
  }
}

export function parseWorkflowFile(path: string, text: string): WorkflowFile {
  const lineCounter = new LineCounter();
  // YAML 1.2 (the yaml package's default) reads the `on` key as the string GitHub means, not as true.
  const document = parseDocument(text, { lineCounter });
  const at = (node: Node | null | undefined): Position => {
    const offset = node?.range?.[0] ?? 0;
    return lineCounter.linePos(offset);
  };
  const firstError = document.errors[0];
  if (firstError !== undefined) {
    const [line, col] = [firstError.linePos?.[0].line ?? 1, firstError.linePos?.[0].col ?? 1];
    // The message repeats the position and quotes the lines around it; the position leads the line here.
    const reason = (firstError.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    throw new WorkflowFileError(path, { line, col }, `invalid YAML: ${reason}`);
  }
  const root = document.contents;
  if (!isMap(root)) throw new WorkflowFileError(path, at(root), 'a workflow file is a mapping');
  const jobsNode = root.get('jobs', true);
  if (!isMap(jobsNode)) throw new WorkflowFileError(path, at(jobsNode ?? root), 'a workflow has a `jobs` mapping');

  const jobs: WorkflowJob[] = [];
  for (const pair of jobsNode.items) {
    const id = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!isMap(pair.value)) throw new WorkflowFileError(path, at(pair.key as Node), `job ${id} is not a mapping`);
    const job = pair.value;
    const runsOnNode = job.get('runs-on', true) as Node | undefined;
    const strategy = job.get('strategy', true);
    const matrix = isMap(strategy) ? (strategy.get('matrix', true) as Node | undefined) : undefined;
    const uses = job.get('uses');
    const withNode = job.get('with', true);
    jobs.push({
      id,
      position: at(runsOnNode ?? (pair.key as Node)),
      ...(runsOnNode === undefined ? {} : { runsOn: runsOnNode.toJSON() as unknown }),
      ...(matrix === undefined ? {} : { matrix: matrix.toJSON() as unknown }),
      ...(typeof uses === 'string' ? { uses } : {}),
      ...(isMap(withNode) ? { with: withNode.toJSON() as Record<string, unknown> } : {}),
    });
  }
  const on = root.get('on', true) as Node | undefined;
  return { path, events: eventsOf(on), callInputs: callInputsOf(on), jobs };
}

/** `on: push`, `on: [push, pull_request]` or `on: { push: …, pull_request: … }`. */
function eventsOf(on: Node | undefined): string[] {
  const value: unknown = on?.toJSON();
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((event): event is string => typeof event === 'string');
  if (isMap(on)) return on.items.map((pair) => (isScalar(pair.key) ? String(pair.key.value) : ''));
  return [];
}

function callInputsOf(on: Node | undefined): Record<string, unknown> {
  if (!isMap(on)) return {};
  const call = on.get('workflow_call', true);
  const inputs = isMap(call) ? call.get('inputs', true) : undefined;
  if (!isMap(inputs)) return {};
  return Object.fromEntries(
    (inputs as YAMLMap).items.map((pair) => {
      const name = isScalar(pair.key) ? String(pair.key.value) : '';
      const spec = isMap(pair.value) ? (pair.value.toJSON() as { default?: unknown }) : {};
      return [name, spec.default];
    }),
  );
}
