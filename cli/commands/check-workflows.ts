import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { runnerLabelSets } from '../../runner-config/label-matching.js';
import { checkWorkflows } from '../../workflow-check/check.js';
import { checkReport, renderReport, type CheckReport, type ReportFormat } from '../../workflow-check/report.js';
import { parseWorkflowFile, WorkflowFileError, type WorkflowFile } from '../../workflow-check/workflow-file.js';
import { OperationFailedError, UsageError } from '../errors.js';
import { fleetOfFlag } from '../fleet-flag.js';
import type { Output } from '../output.js';

export interface CheckWorkflowsOptions {
  /** Workflow files, or directories searched for `*.yml` and `*.yaml`. */
  readonly paths: readonly string[];
  readonly fleetFile?: string;
  readonly format: ReportFormat;
}

/** Checks where the workflows' jobs can run on the fleet; exit 1 when any finding is an error. */
export async function checkWorkflowFiles(output: Output, options: CheckWorkflowsOptions): Promise<CheckReport> {
  const fleet = await fleetOfFlag(options.fleetFile);
  const paths = (await Promise.all(options.paths.map(workflowPaths))).flat();
  const files: WorkflowFile[] = [];
  for (const path of paths) {
    const text = await readFile(path, 'utf8').catch((error: unknown) => {
      throw new UsageError(`${path}: cannot be read (${(error as Error).message})`);
    });
    try {
      files.push(parseWorkflowFile(path, text));
    } catch (error) {
      if (error instanceof WorkflowFileError) throw new UsageError(error.message);
      throw error;
    }
  }
  const report = checkReport(files.length, checkWorkflows(files, runnerLabelSets(fleet)));
  output.result(report, (data) => renderReport(data, options.format));
  if (report.errors > 0) {
    throw new OperationFailedError(`${report.errors} errors in where the workflows' jobs run (listed above)`);
  }
  return report;
}

async function workflowPaths(path: string): Promise<string[]> {
  const found = await stat(path).catch(() => undefined);
  if (found === undefined) throw new UsageError(`${path}: no such file or directory`);
  if (!found.isDirectory()) return [path];
  const entries = await readdir(path, { recursive: true });
  const workflows = entries
    .filter((entry) => /\.ya?ml$/.test(entry))
    .map((entry) => join(path, entry))
    .sort();
  if (workflows.length === 0) throw new UsageError(`${path}: no workflow files (*.yml, *.yaml) in it`);
  return workflows;
}
