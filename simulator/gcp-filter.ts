/**
 * The `filter` parameter of Compute list methods, in its two styles (which cannot be mixed):
 * - regex style, one field: `name eq 'gh-runner-.*'` / `name ne .*canary` (RE2 matched against the whole value);
 * - AIP-160 style: `status = UP`, `name != x`, `labels.owner:*`, `(a = 1) (b = "x")`, `a = 1 AND b = 2`, `OR`;
 *   `=` and `!=` accept `*` wildcards.
 */

export type ResourcePredicate = (resource: unknown) => boolean;

export class FilterError extends Error {
  override readonly name = 'FilterError';
}

export interface FilterOptions {
  /** Refuse a regular-expression comparison joined to others by AND or OR (the `regexAndFilter` behaviour). */
  readonly refuseRegexWithLogic?: boolean;
}

export function compileFilter(filter: string | null, options: FilterOptions = {}): ResourcePredicate {
  if (filter === null || filter.trim() === '') return () => true;
  if (options.refuseRegexWithLogic === true && combinesRegexWithLogic(filter)) {
    throw new FilterError(
      `Invalid value for field 'filter': '${filter}'. Invalid list filter expression: a regular expression comparison (eq, ne) cannot be combined with AND or OR. Use a single regular expression, or '=' and '!=' comparisons joined by AND or OR.`,
    );
  }
  const regexStyle = /^\s*([A-Za-z_][\w.]*)\s+(eq|ne)\s+(.+?)\s*$/.exec(filter);
  if (regexStyle !== null) {
    const [, field = '', op, literal = ''] = regexStyle;
    const pattern = toRegExp(unquoteRegex(literal), filter);
    return (resource) => pattern.test(fieldText(resource, field)) === (op === 'eq');
  }
  return new AipParser(filter).parse();
}

/**
 * The Compute list `filter` parameter (e.g. https://cloud.google.com/compute/docs/reference/rest/v1/regionInstanceGroupManagers/list)
 * allows `eq`/`ne` only "against a single un-parenthesized expression ... or against multiple parenthesized
 * expressions"; AND and OR belong to the `=`/`!=` style, and GCE answers 400 to a filter that mixes them. Without
 * the check, the words after a regex operator would be read as part of its pattern and silently match nothing.
 */
function combinesRegexWithLogic(filter: string): boolean {
  const words = filter.match(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s()]+/g) ?? [];
  const regex = words.some((word, index) => index > 0 && (word === 'eq' || word === 'ne'));
  return regex && words.some((word) => word === 'AND' || word === 'OR');
}

function toRegExp(source: string, filter: string): RegExp {
  try {
    return new RegExp(`^(?:${source.replace(/\(\?P</g, '(?<')})$`);
  } catch {
    throw new FilterError(`Invalid value for field 'filter': '${filter}'. Invalid regular expression '${source}'.`);
  }
}

/**
 * A regex-style literal is an RE2 pattern, quoted or not: quotes only delimit it, and a backslash inside them is
 * the pattern's own escape and stays (`name eq 'us-\w+'` matches `us-west1`).
 */
function unquoteRegex(literal: string): string {
  const first = literal[0];
  if ((first === "'" || first === '"') && literal.endsWith(first) && literal.length >= 2) return literal.slice(1, -1);
  return literal;
}

/** An AIP-160 string literal, whose backslashes escape the next character. */
function unquote(literal: string): string {
  const first = literal[0];
  if ((first === "'" || first === '"') && literal.endsWith(first) && literal.length >= 2) {
    return literal.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return literal;
}

function fieldValue(resource: unknown, field: string): unknown {
  let value: unknown = resource;
  for (const part of field.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function fieldText(resource: unknown, field: string): string {
  const value = fieldValue(resource, field);
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function wildcard(value: string): RegExp {
  const source = value
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`);
}

class AipParser {
  private readonly tokens: string[];
  private position = 0;

  constructor(private readonly filter: string) {
    this.tokens = filter.match(/\(|\)|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|!=|=|:|[^\s()=!:]+/g) ?? [];
  }

  parse(): ResourcePredicate {
    const predicate = this.conjunction();
    if (this.position < this.tokens.length) this.fail(`unexpected '${this.tokens[this.position] ?? ''}'`);
    return predicate;
  }

  private fail(why: string): never {
    throw new FilterError(`Invalid value for field 'filter': '${this.filter}'. ${why}.`);
  }

  private peek(): string | undefined {
    return this.tokens[this.position];
  }

  /** AIP-160: OR binds tighter than AND; juxtaposition means AND. */
  private conjunction(): ResourcePredicate {
    const parts = [this.disjunction()];
    for (let next = this.peek(); next !== undefined && next !== ')'; next = this.peek()) {
      if (next === 'AND') this.position++;
      parts.push(this.disjunction());
    }
    return (resource) => parts.every((part) => part(resource));
  }

  private disjunction(): ResourcePredicate {
    const parts = [this.primary()];
    while (this.peek() === 'OR') {
      this.position++;
      parts.push(this.primary());
    }
    return (resource) => parts.some((part) => part(resource));
  }

  private primary(): ResourcePredicate {
    const token = this.peek();
    if (token === undefined) this.fail('the expression ends too early');
    if (token === '(') {
      this.position++;
      const inner = this.conjunction();
      if (this.peek() !== ')') this.fail("missing ')'");
      this.position++;
      return inner;
    }
    const field = token;
    const op = this.tokens[this.position + 1];
    const rawValue = this.tokens[this.position + 2];
    if (
      op === undefined ||
      !['=', '!=', ':'].includes(op) ||
      rawValue === undefined ||
      rawValue === '(' ||
      rawValue === ')'
    ) {
      this.fail(`expected '<field> = <value>', '<field> != <value>' or '<field>:<value>' after '${field}'`);
    }
    this.position += 3;
    const value = unquote(rawValue);
    if (op === ':') {
      return (resource) => {
        const found = fieldValue(resource, field);
        if (value === '*') return found !== undefined && found !== null && found !== '';
        return fieldText(resource, field).includes(value);
      };
    }
    const matcher = wildcard(value);
    return (resource) => matcher.test(fieldText(resource, field)) === (op === '=');
  }
}
