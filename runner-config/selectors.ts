/**
 * Selectors choose regions, groups and types by name, as the old update tool's `--regions/--groups/--types`
 * flags did: `all`, a plain name, or an RE2-style regular expression matched against the whole name.
 * RE2 has no lookaround and no backreferences; refusing them here keeps selectors portable to the GCP list
 * filters, which are RE2.
 */

export const SELECT_ALL = 'all';

export interface Selector {
  /** The expression as the operator wrote it. */
  readonly expression: string;
  matches(name: string): boolean;
}

export class SelectorError extends Error {
  override readonly name = 'SelectorError';
}

/** Returns why `expression` is not a usable selector, or undefined when it is one. */
export function selectorProblem(expression: string): string | undefined {
  try {
    compileSelector(expression);
    return undefined;
  } catch (error) {
    if (error instanceof SelectorError) return error.message;
    throw error;
  }
}

export function compileSelector(expression: string): Selector {
  if (expression === SELECT_ALL) return { expression, matches: () => true };
  if (expression.trim() === '') {
    throw new SelectorError(`selector is empty; use "${SELECT_ALL}" or a name or regular expression`);
  }
  const source = toJavaScriptSource(expression);
  let pattern: RegExp;
  try {
    pattern = new RegExp(`^(?:${source})$`);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new SelectorError(`selector "${expression}" is not a valid regular expression: ${reason}`);
  }
  return { expression, matches: (name) => pattern.test(name) };
}

/**
 * Scans the expression once, outside and inside character classes, to refuse what RE2 cannot do and to
 * translate RE2's `(?P<name>` groups into JavaScript's `(?<name>`.
 */
function toJavaScriptSource(expression: string): string {
  const refuse = (what: string): never => {
    throw new SelectorError(`selector "${expression}" uses ${what}, which RE2-style selectors do not support`);
  };
  let out = '';
  let inClass = false;
  for (let i = 0; i < expression.length; i++) {
    const char = expression[i];
    const next = expression[i + 1];
    if (char === '\\') {
      if (next === undefined) throw new SelectorError(`selector "${expression}" ends with a lone backslash`);
      if (!inClass && /[1-9]/.test(next)) refuse(`a backreference (\\${next})`);
      if (!inClass && next === 'k' && expression[i + 2] === '<') refuse('a named backreference (\\k<...>)');
      out += char + next;
      i++;
      continue;
    }
    if (inClass) {
      if (char === ']') inClass = false;
      out += char;
      continue;
    }
    if (char === '[') {
      inClass = true;
      out += char;
      // A `]` right after `[` or `[^` is a literal member of the class.
      if (next === '^') {
        out += next;
        i++;
      }
      if (expression[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (char === '(' && next === '?') {
      const rest = expression.slice(i + 2);
      if (rest.startsWith('=') || rest.startsWith('!')) refuse('lookahead ((?=...) or (?!...))');
      if (rest.startsWith('<=') || rest.startsWith('<!')) refuse('lookbehind ((?<=...) or (?<!...))');
      if (rest.startsWith('P<')) {
        out += '(?<';
        i += 3;
        continue;
      }
    }
    out += char;
  }
  return out;
}
