/**
 * Findings about where the jobs of a set of workflow files can run on the fleet. Any runner with all of a job's
 * labels can pick it up, so a job that leaves off its runner group runs on whichever group's runner is free: a
 * pull request's job on a runner holding postsubmit credentials. The VM's pre-job hook refuses such a job at run
 * time (vm/hooks/pre-job.sh, from each group's `allowedEvents`); this check finds it at review time.
 */
import { matchingRunners, type RunnerLabelSet, type RunnerRequest } from '../runner-config/label-matching.js';
import { resolveRunsOn, type InputValues } from './runs-on.js';
import type { Position, WorkflowFile, WorkflowJob } from './workflow-file.js';

export type FindingLevel = 'error' | 'warning';

export interface Finding {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly level: FindingLevel;
  readonly job: string;
  readonly message: string;
}

/** A reusable workflow runs under the event of the workflow that calls it. */
const CALLED = 'workflow_call';

/** How one job is reached: the events of the run and the inputs it was given. */
interface JobContext {
  readonly events: readonly string[];
  readonly inputs: InputValues;
}

export function checkWorkflows(files: readonly WorkflowFile[], runners: readonly RunnerLabelSet[]): Finding[] {
  const findings: Finding[] = [];
  for (const file of files) {
    const contexts = contextsOf(file, files);
    for (const job of file.jobs) {
      if (job.runsOn === undefined) continue;
      const messages = new Map<string, FindingLevel>();
      for (const context of contexts) {
        const { requests, unresolved } = resolveRunsOn(job.runsOn, job.matrix, context.inputs);
        for (const expression of unresolved) {
          messages.set(
            `runs-on uses ${expression}, which the check cannot resolve to literal labels: where this job runs is not checked`,
            'warning',
          );
        }
        for (const request of requests) {
          for (const message of requestProblems(request, context.events, runners)) messages.set(message, 'error');
        }
      }
      for (const [message, level] of messages) findings.push(finding(file, job, job.position, level, message));
    }
  }
  return findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}

function finding(file: WorkflowFile, job: WorkflowJob, at: Position, level: FindingLevel, message: string): Finding {
  return { file: file.path, line: at.line, col: at.col, level, job: job.id, message: `job ${job.id}: ${message}` };
}

function requestProblems(
  request: RunnerRequest,
  events: readonly string[],
  runners: readonly RunnerLabelSet[],
): string[] {
  const asked = describeRequest(request);
  const matches = matchingRunners(runners, request);
  if (matches.length === 0) {
    const selfHosted =
      request.group !== undefined || request.labels.some((label) => label.toLowerCase() === 'self-hosted');
    // Without `self-hosted` (or a group) and matching none of ours, the job is for GitHub-hosted runners.
    return selfHosted ? [`no runner of the fleet has ${asked}: the job would wait for a runner that never comes`] : [];
  }
  const problems: string[] = [];
  const groups = [...new Set(matches.map((runner) => runner.group))];
  const trusts = [...new Set(matches.map((runner) => runner.trust))];
  if (trusts.length > 1) {
    const named = groups.map((group) => `${group} (${matches.find((m) => m.group === group)?.trust} trust)`);
    problems.push(
      `${asked} matches runners of more than one trust level: ${named.join(', ')}; ` +
        `name one group, e.g. runner-group=${groups[0]}`,
    );
  }
  for (const event of events) {
    if (event === CALLED) continue;
    const refusing = groups.filter((name) =>
      matches.some((runner) => runner.group === name && !runner.allowedEvents.has(event)),
    );
    if (refusing.length > 0) {
      problems.push(
        `triggered by ${event}, ${asked} can reach ${refusing.join(', ')} runners, which do not run ${event} jobs ` +
          `(their pre-job hook refuses them)`,
      );
    }
  }
  return problems;
}

function describeRequest(request: RunnerRequest): string {
  const labels = `runs-on [${request.labels.join(', ')}]`;
  return request.group === undefined ? labels : `${labels} in group ${request.group}`;
}

/**
 * The ways a file's jobs are reached: its own events; for a reusable workflow, also the event and inputs of each
 * job among `files` that calls it (or the inputs' defaults when none does).
 */
function contextsOf(file: WorkflowFile, files: readonly WorkflowFile[]): JobContext[] {
  const ownEvents = file.events.filter((event) => event !== CALLED);
  const defaults = Object.fromEntries(
    Object.entries(file.callInputs).flatMap(([name, value]) => (value === undefined ? [] : [[name, [value]]])),
  );
  const contexts: JobContext[] = ownEvents.length > 0 ? [{ events: ownEvents, inputs: defaults }] : [];
  if (!file.events.includes(CALLED)) return contexts;
  const calls = files.flatMap((caller) =>
    caller.jobs
      .filter((job) => job.uses !== undefined && callsFile(job.uses, file.path))
      .map((job) => ({ caller, job })),
  );
  for (const { caller, job } of calls) {
    // A value the caller computes (`${{ matrix.runner }}`) is not known here: the input stays unresolved.
    const given = Object.fromEntries(
      Object.entries(job.with ?? {}).map(([name, value]) => [
        name,
        typeof value === 'string' && value.includes('${{') ? [] : [value],
      ]),
    );
    contexts.push({ events: caller.events.filter((event) => event !== CALLED), inputs: { ...defaults, ...given } });
  }
  // Called from outside the files checked: its runners are checked with the inputs' defaults, events unknown.
  if (calls.length === 0) contexts.push({ events: [], inputs: defaults });
  return contexts;
}

/** `uses: ./.github/workflows/build.yml` names a workflow of the same repository by its path from the root. */
function callsFile(uses: string, path: string): boolean {
  if (!uses.startsWith('./')) return false;
  const target = uses.slice(2);
  const normalised = path.replaceAll('\\', '/');
  return normalised === target || normalised.endsWith(`/${target}`);
}
