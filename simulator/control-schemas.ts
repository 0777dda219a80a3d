/** The inputs of the control API: their types, the schemas that check them, and the error a bad one gets. */
import { z } from 'zod';

import { ENVIRONMENTS } from '../runner-config/types.js';
import { behaviourOverridesSchema, profileSchema } from './behaviours.js';
import { ControlApiError } from './errors.js';

export interface CreateTemplateInput {
  readonly group: string;
  readonly type: string;
  /** Template version; the name is `<prefix>-<group>-<type>-<version>` unless `name` is given. */
  readonly version?: string;
  readonly name?: string;
  /** `github-runner-version` metadata; defaults to the fleet's runner version. */
  readonly runnerVersion?: string;
  readonly configRef?: string;
  /** Extra or overriding metadata items. */
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface SubmitJobsInput {
  readonly environment: 'prod' | 'testing';
  readonly group: string;
  readonly type: string;
  readonly count?: number;
  readonly durationMinutes?: number;
}

const jobRateSchema = z
  .object({
    environment: z.enum(ENVIRONMENTS).optional(),
    group: z.string().min(1).optional(),
    type: z.string().min(1).optional(),
    perHour: z.number().min(0).max(100_000),
    meanDurationMinutes: z
      .number()
      .positive()
      .max(7 * 24 * 60),
    hourly: z.array(z.number().min(0).max(1000)).length(24).optional(),
    jobsPerArrival: z.number().int().min(1).max(1000).optional(),
  })
  .strict();
export const jobRatesSchema = z.array(jobRateSchema);
export const profileChoiceSchema = z
  .object({ profile: profileSchema, behaviours: behaviourOverridesSchema.optional() })
  .strict();
export const advanceSchema = z
  .object({
    seconds: z
      .number()
      .min(0)
      .max(365 * 24 * 3600),
  })
  .strict();
export const speedSchema = z.object({ speed: z.number().min(0).max(1_000_000) }).strict();
export const releaseSchema = z
  .object({
    version: z.string().min(1),
    publishedAt: z.string().optional(),
    security: z.boolean().optional(),
    digestMismatch: z.boolean().optional(),
    withoutShaLines: z.boolean().optional(),
    prerelease: z.boolean().optional(),
    draft: z.boolean().optional(),
  })
  .strict();
export const templateSchema = z
  .object({
    group: z.string().min(1),
    type: z.string().min(1),
    version: z.string().min(1).optional(),
    name: z.string().min(1).optional(),
    runnerVersion: z.string().min(1).optional(),
    configRef: z.string().min(1).optional(),
    metadata: z.record(z.string(), z.string()).optional(),
  })
  .strict()
  .refine((input) => input.version !== undefined || input.name !== undefined, { message: 'give a version or a name' });
export const submitSchema = z
  .object({
    environment: z.enum(ENVIRONMENTS),
    group: z.string().min(1),
    type: z.string().min(1),
    count: z.number().int().positive().max(10_000).optional(),
    durationMinutes: z
      .number()
      .positive()
      .max(7 * 24 * 60)
      .optional(),
  })
  .strict();

export function parse<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const result = schema.safeParse(input ?? {});
  if (!result.success) throw new ControlApiError(400, `invalid ${what}: ${z.prettifyError(result.error)}`);
  return result.data;
}

/** Drops the fields a schema left undefined, for the model APIs that take partial inputs. */
export function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
