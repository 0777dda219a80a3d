/**
 * The runner requests a job's `runs-on` can make: one per matrix row and per value an input can take, with the
 * `${{ … }}` expressions it can resolve replaced by their literal values. `runs-on` is a label, a list of labels, or
 * `{ group, labels }`:
 * https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions#jobsjob_idruns-on
 * and the matrix is the product of its keys, less `exclude`, plus `include`:
 * https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/running-variations-of-jobs-in-a-workflow
 */
import type { RunnerRequest } from '../runner-config/label-matching.js';

/** What `runs-on` resolves to: the requests, and the expressions it could not resolve. */
export interface ResolvedRunsOn {
  readonly requests: readonly RunnerRequest[];
  readonly unresolved: readonly string[];
}

/** Values that `inputs.<name>` can take in this job: from its callers' `with`, else the input's default. */
export type InputValues = Readonly<Record<string, readonly unknown[]>>;

const EXPRESSION = /\$\{\{\s*(.*?)\s*\}\}/g;
const WHOLE_EXPRESSION = /^\$\{\{\s*(.*?)\s*\}\}$/;
const REFERENCE = /^(matrix|inputs)\.([A-Za-z_][A-Za-z0-9_-]*)$/;

type Row = Readonly<Record<string, unknown>>;

export function resolveRunsOn(runsOn: unknown, matrix: unknown, inputs: InputValues): ResolvedRunsOn {
  const unresolved = new Set<string>();
  const rows = matrixRows(matrix);
  const requests: RunnerRequest[] = [];
  const seen = new Set<string>();
  for (const row of rows ?? [{}]) {
    for (const binding of inputBindings(inputs)) {
      const lookup = (expression: string): unknown => {
        const reference = REFERENCE.exec(expression);
        if (reference === null) return undefined;
        const [, scope, name = ''] = reference;
        if (scope === 'matrix') return rows === undefined ? undefined : row[name];
        return binding[name];
      };
      const request = toRequest(runsOn, lookup, unresolved);
      if (request === undefined) continue;
      const key = JSON.stringify(request);
      if (seen.has(key)) continue;
      seen.add(key);
      requests.push(request);
    }
  }
  return { requests, unresolved: [...unresolved] };
}

/** One request, or undefined when an expression in it has no literal value. */
function toRequest(
  runsOn: unknown,
  lookup: (expression: string) => unknown,
  unresolved: Set<string>,
): RunnerRequest | undefined {
  const value = substitute(runsOn, lookup, unresolved);
  if (value === undefined) return undefined;
  if (typeof value === 'string') return { labels: [value] };
  if (Array.isArray(value)) return labelsOf(value, lookup, unresolved);
  if (typeof value === 'object' && value !== null) {
    const { group, labels } = value as { group?: unknown; labels?: unknown };
    const groupName = substitute(group, lookup, unresolved);
    if (group !== undefined && typeof groupName !== 'string') return undefined;
    const listed = labels === undefined ? { labels: [] } : toRequest(labels, lookup, unresolved);
    if (listed === undefined) return undefined;
    return { labels: listed.labels, ...(typeof groupName === 'string' ? { group: groupName } : {}) };
  }
  return undefined;
}

function labelsOf(
  values: readonly unknown[],
  lookup: (expression: string) => unknown,
  unresolved: Set<string>,
): RunnerRequest | undefined {
  const labels: string[] = [];
  for (const value of values) {
    const label = substitute(value, lookup, unresolved);
    if (typeof label === 'string') labels.push(label);
    else if (Array.isArray(label) && label.every((item) => typeof item === 'string')) labels.push(...label);
    else return undefined;
  }
  return { labels };
}

/**
 * A value with its expressions replaced. A string that is one expression takes the expression's value (a matrix
 * value may be a whole list of labels); expressions inside a longer string are replaced by their text.
 */
function substitute(value: unknown, lookup: (expression: string) => unknown, unresolved: Set<string>): unknown {
  if (typeof value !== 'string') return value;
  const whole = WHOLE_EXPRESSION.exec(value.trim());
  if (whole !== null) {
    const resolved = lookup(whole[1] ?? '');
    if (resolved === undefined || (typeof resolved === 'object' && !Array.isArray(resolved))) {
      unresolved.add(value.trim());
      return undefined;
    }
    return typeof resolved === 'number' || typeof resolved === 'boolean' ? String(resolved) : resolved;
  }
  let missing = false;
  const text = value.replace(EXPRESSION, (written, expression: string) => {
    const resolved = lookup(expression);
    if (typeof resolved === 'string' || typeof resolved === 'number' || typeof resolved === 'boolean') {
      return String(resolved);
    }
    unresolved.add(written);
    missing = true;
    return written;
  });
  return missing ? undefined : text;
}

/** Every combination of one value per input. */
function inputBindings(inputs: InputValues): Row[] {
  let bindings: Row[] = [{}];
  for (const [name, values] of Object.entries(inputs)) {
    if (values.length === 0) continue;
    bindings = bindings.flatMap((binding) => values.map((value) => ({ ...binding, [name]: value })));
  }
  return bindings;
}

/** The matrix's rows; undefined when there is no literal matrix (none, or one built by an expression). */
function matrixRows(matrix: unknown): Row[] | undefined {
  if (typeof matrix !== 'object' || matrix === null || Array.isArray(matrix)) return undefined;
  const { include, exclude, ...axes } = matrix as Record<string, unknown>;
  let rows: Row[] = [{}];
  for (const [key, values] of Object.entries(axes)) {
    if (!Array.isArray(values)) return undefined;
    rows = rows.flatMap((row) => values.map((value: unknown) => ({ ...row, [key]: value })));
  }
  if (Object.keys(axes).length === 0) rows = [];
  const matchesAll = (row: Row, entry: Row): boolean =>
    Object.entries(entry).every(([key, value]) => JSON.stringify(row[key]) === JSON.stringify(value));
  if (Array.isArray(exclude)) {
    const entries = exclude.filter(isRow);
    rows = rows.filter((row) => !entries.some((entry) => matchesAll(row, entry)));
  }
  // Each include extends the original combinations whose values it matches, or is a combination of its own.
  const originals = rows;
  const extended = [...rows];
  const added: Row[] = [];
  for (const entry of Array.isArray(include) ? include.filter(isRow) : []) {
    const onAxes = Object.fromEntries(Object.entries(entry).filter(([key]) => key in axes));
    const matching = originals.flatMap((row, index) => (matchesAll(row, onAxes) ? [index] : []));
    if (matching.length === 0) added.push(entry);
    for (const index of matching) extended[index] = { ...extended[index], ...entry };
  }
  return [...extended, ...added];
}

function isRow(value: unknown): value is Row {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
