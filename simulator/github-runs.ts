/**
 * Workflow runs and their jobs as GitHub shows them. Each simulated run has one job per attempt; a re-run keeps
 * the run id, raises `run_attempt` and gets a new job id, and the run shows its latest attempt
 * (https://docs.github.com/en/rest/actions/workflow-runs#get-a-workflow-run,
 * https://docs.github.com/en/rest/actions/workflow-jobs#list-jobs-for-a-workflow-run).
 */
import { GitHubApiError } from './errors.js';
import type { FleetStore } from './fleet-store.js';
import type { SimJob } from './fleet-types.js';
import type { Random } from './random.js';

/**
 * Share of failed runs someone re-runs, and after how long. Not a GitHub figure: a team re-running flaky
 * failures within minutes is what makes `filter=latest` hide a failed first attempt from a health check.
 */
const RERUN_SHARE = 0.3;
const RERUN_DELAY_MIN_MS = 2 * 60_000;
const RERUN_DELAY_MAX_MS = 10 * 60_000;

/** When a failed job's run is re-run (ms from now), or undefined when nobody re-runs it. */
export function rerunDelayMs(random: Random): number | undefined {
  if (random.next() >= RERUN_SHARE) return undefined;
  return RERUN_DELAY_MIN_MS + random.int(RERUN_DELAY_MAX_MS - RERUN_DELAY_MIN_MS + 1);
}

export function jobStatus(job: SimJob): 'queued' | 'in_progress' | 'completed' {
  return job.completedAt !== undefined ? 'completed' : job.startedAt !== undefined ? 'in_progress' : 'queued';
}

/** Every known attempt, grouped by run, oldest attempt first; runs in the order of their first known job. */
export function runsOf(jobs: readonly SimJob[]): SimJob[][] {
  const runs = new Map<number, SimJob[]>();
  for (const job of jobs) {
    const attempts = runs.get(job.runId) ?? [];
    attempts.push(job);
    runs.set(job.runId, attempts);
  }
  for (const attempts of runs.values()) attempts.sort((a, b) => a.attempt - b.attempt);
  return [...runs.values()];
}

export function latestAttempt(attempts: readonly SimJob[]): SimJob {
  const latest = attempts.at(-1);
  if (latest === undefined) throw new Error('a run has at least one attempt');
  return latest;
}

/** A run as `GET …/actions/runs` lists it: its status, conclusion and attempt are the latest attempt's. */
export function runResource(store: FleetStore, attempts: readonly SimJob[], origin: string): Record<string, unknown> {
  const first = attempts[0] ?? latestAttempt(attempts);
  const latest = latestAttempt(attempts);
  const pool = store.pools.get(latest.pool);
  const base = `${origin}/repos/${store.fleet.github.configRepo}/actions/runs/${latest.runId}`;
  return {
    id: latest.runId,
    name: 'CI',
    run_number: latest.runId,
    run_attempt: latest.attempt,
    previous_attempt_url: latest.attempt > 1 ? `${base}/attempts/${latest.attempt - 1}` : null,
    event: pool?.group === 'presubmit' ? 'pull_request' : 'push',
    head_branch: 'main',
    status: jobStatus(latest),
    conclusion: latest.conclusion ?? null,
    workflow_id: 1,
    created_at: new Date(first.queuedAt).toISOString(),
    updated_at: new Date(latest.completedAt ?? latest.startedAt ?? latest.queuedAt).toISOString(),
    run_started_at: new Date(latest.startedAt ?? latest.queuedAt).toISOString(),
    url: base,
    jobs_url: `${base}/jobs`,
    repository: { full_name: store.fleet.github.configRepo },
  };
}

/** `filter`: `latest` (the default) lists the latest attempt's jobs, `all` every attempt's. */
export function jobsOfRun(attempts: readonly SimJob[], filter: string | null): readonly SimJob[] {
  if (filter === null || filter === 'latest') return [latestAttempt(attempts)];
  if (filter === 'all') return attempts;
  throw new GitHubApiError(422, `Invalid filter "${filter}": use latest or all`);
}

/** A job as GitHub shows it in `GET …/runs/{id}/jobs` and in `workflow_job` webhooks. */
export function workflowJobResource(store: FleetStore, job: SimJob): Record<string, unknown> {
  const pool = store.pools.get(job.pool);
  const groupId = pool === undefined ? null : store.fleet.groups.findIndex((group) => group.name === pool.group) + 2;
  return {
    id: job.id,
    run_id: job.runId,
    run_attempt: job.attempt,
    name: pool === undefined ? job.pool : `${pool.group} ${pool.type}`,
    workflow_name: 'CI',
    head_branch: 'main',
    status: jobStatus(job),
    conclusion: job.conclusion ?? null,
    created_at: new Date(job.queuedAt).toISOString(),
    started_at: new Date(job.startedAt ?? job.queuedAt).toISOString(),
    completed_at: job.completedAt === undefined ? null : new Date(job.completedAt).toISOString(),
    labels:
      pool === undefined
        ? []
        : [
            'self-hosted',
            'os-family=Linux',
            `runner-group=${pool.group}`,
            `environment=${pool.environment}`,
            pool.type,
          ],
    runner_id: job.runnerId ?? null,
    runner_name: job.runnerName ?? null,
    runner_group_id: groupId,
    runner_group_name: pool?.group ?? null,
    steps: [],
  };
}
