/**
 * How every configuration variable is read, by the CLI and the worker alike: empty means unset, and a problem
 * names the variable and its rule, never the value.
 */
import { z } from 'zod';

/** A configuration problem: the message names every offending variable and never contains a value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export type Env = Readonly<Record<string, string | undefined>>;

// Empty strings count as unset: shells and env files often export `VAR=` to mean "no value".
export const optional = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value === '' ? undefined : value));

export const hostPort = /^[^\s:/]+:\d{1,5}$/;

export function parseEnv<S extends z.ZodType>(schema: S, env: Env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  // Issues name the variable and the rule, never the value: a malformed value may be a pasted secret.
  throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
}

/** Drops undefined fields, because optional properties are exact in this project. */
export function definedFields<T extends Record<string, string | undefined>>(fields: T): { [K in keyof T]?: string } {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: string;
  };
}
