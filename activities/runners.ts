/** GitHub's view of the fleet: org-level self-hosted runners, matched to VMs by name (runner name = VM name). */
import { CancelledFailure } from '@temporalio/common';
import { httpErrorFacts, toFailure } from './failures.js';
import type { GitHubRunner } from './runner-snapshot.js';
import type { ActivityRuntime } from './runtime.js';
import type { RunnerInfo } from './contract.js';

function labelValue(labels: readonly string[], key: string): string | undefined {
  const prefix = `${key}=`;
  return labels.find((label) => label.startsWith(prefix))?.slice(prefix.length);
}

export function toRunnerInfo(runner: GitHubRunner): RunnerInfo {
  const labels = runner.labels.map((label) => label.name);
  const runnerVersion = labelValue(labels, 'runner-version');
  const configRef = labelValue(labels, 'config-ref');
  return {
    id: runner.id,
    name: runner.name,
    online: runner.status === 'online',
    busy: runner.busy,
    labels,
    ...(runnerVersion === undefined ? {} : { runnerVersion }),
    ...(configRef === undefined ? {} : { configRef }),
  };
}

/**
 * Every org runner whose name starts with `namePrefix`, from the worker's shared snapshot; `fresh` lists again now
 * (still conditionally) for a decision that must not rest on a listing some seconds old.
 */
export async function listRunnersByPrefix(
  runtime: ActivityRuntime,
  namePrefix: string,
  fresh = false,
): Promise<RunnerInfo[]> {
  const runners = await runtime.runnerSnapshot.runners(runtime, fresh);
  return runners.filter((runner) => runner.name.startsWith(namePrefix)).map(toRunnerInfo);
}

/** Runner names of one MIG's VMs: `<mig>-<suffix>`; the dash keeps `…-us-west1` from matching `…-us-west10`. */
export function migRunnerPrefix(migName: string): string {
  return `${migName}-`;
}

export type RemoveOutcome = 'removed' | 'gone' | 'busy';

/**
 * Deregisters a runner. GitHub refuses (422) while the runner executes a job, which is what makes draining
 * race-free: a runner that picked up a job after we listed it is left alone.
 */
export async function removeRunner(runtime: ActivityRuntime, runner: RunnerInfo): Promise<RemoveOutcome> {
  const { github, fleet } = runtime.deps;
  try {
    await runtime.keepingAlive(() =>
      github.rest.actions.deleteSelfHostedRunnerFromOrg({ org: fleet.github.org, runner_id: runner.id }),
    );
    runtime.runnerSnapshot.forget(runner.id);
    return 'removed';
  } catch (error) {
    if (error instanceof CancelledFailure) throw error;
    const status = httpErrorFacts(error)?.status;
    if (status === 422) return 'busy';
    if (status === 404) {
      runtime.runnerSnapshot.forget(runner.id);
      return 'gone';
    }
    throw toFailure(error, `remove runner ${runner.name} from ${fleet.github.org}`);
  }
}
