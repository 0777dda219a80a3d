import { versionProblem } from '../../runner-config/naming.js';
import {
  OPERATION_WORKFLOWS,
  templatesWorkflowId,
  type CreateTemplatesInput,
  type CreateTemplatesResult,
} from '../../workflows/operations-contract.js';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { runOperation } from '../operations.js';

const RUNNER_VERSION_PATTERN = /^\d+\.\d+\.\d+$/;

export function validateTemplateOptions(input: CreateTemplatesInput): CreateTemplatesInput {
  const problems: string[] = [];
  const badVersion = versionProblem(input.version);
  if (badVersion !== undefined) problems.push(badVersion);
  if (input.runnerVersion !== undefined && !RUNNER_VERSION_PATTERN.test(input.runnerVersion)) {
    problems.push(`--runner-version "${input.runnerVersion}" must look like 2.319.1 (no leading v)`);
  }
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  return input;
}

/** Creates the templates of a version; the id is keyed by version, so a concurrent request joins this one. */
export async function createTemplates(
  ctx: CommandContext,
  input: CreateTemplatesInput,
): Promise<CreateTemplatesResult> {
  const result = await runOperation<CreateTemplatesInput, CreateTemplatesResult>(
    ctx,
    OPERATION_WORKFLOWS.createTemplates,
    input,
    templatesWorkflowId(input.version),
  );
  ctx.output.result(result, ({ version, created, existing }) =>
    [
      `templates of ${version}: ${created.length} created, ${existing.length} already existed`,
      ...created.map((name) => `  + ${name}`),
      ...existing.map((name) => `  = ${name}`),
    ].join('\n'),
  );
  return result;
}
