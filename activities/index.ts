/**
 * The activity factory: every GCP and GitHub effect of a rollout, over injected clients. Activities never read
 * the environment or construct clients (worker/ does), so tests run them on the real clients against the
 * simulator. Each family of activities lives in a file of its own; this composes them over one runtime, which
 * every family shares (the worker's snapshot of the organisation's runners among them).
 */
import { createAutoscalingActivities } from './autoscaling.js';
import { createDrainActivities } from './drain.js';
import { createFleetReadActivities } from './fleet-reads.js';
import { createPoolSizingActivities } from './pool-sizing.js';
import type { ActivityDeps } from './ports.js';
import { createRolloutCheckActivities } from './rollout-checks.js';
import { createRolloutRecordActivities } from './rollout-records.js';
import { ActivityRuntime } from './runtime.js';
import type { EngineActivities } from './contract.js';
import { createVersionArtifactActivities } from './version-artifacts.js';
import { createVersionUpdateActivities } from './version-updates.js';
import { createWaitActivities } from './waits.js';

export { FailureType, NON_RETRYABLE_FAILURE_TYPES } from './failures.js';
export type { ActivityDeps, ActivityLogger, ActivityTiming, ComputeClients, GitHubClient } from './ports.js';
export type * from './contract.js';
export type { WaitProgress } from './waits.js';

export function createActivities(deps: ActivityDeps): EngineActivities {
  const runtime = new ActivityRuntime(deps);
  return {
    ...createFleetReadActivities(runtime),
    ...createVersionArtifactActivities(runtime),
    ...createVersionUpdateActivities(runtime),
    ...createAutoscalingActivities(runtime),
    ...createWaitActivities(runtime),
    ...createDrainActivities(runtime),
    ...createRolloutCheckActivities(runtime),
    ...createRolloutRecordActivities(runtime),
    ...createPoolSizingActivities(runtime),
  };
}
