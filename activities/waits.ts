/**
 * Waits of a rollout: for a template's runners to come online, and for a MIG to settle. Each polls within one
 * activity, heartbeating its progress so a retried attempt continues the same wait.
 */
import { makeRoomFor } from './canary-room.js';
import { observeCanaryVms, readTemplateVms, recreatedVmProblems } from './canary-health.js';
import { FailureType, permanentFailure } from './failures.js';
import { describeMig } from './mig-reads.js';
import type { ActivityRuntime } from './runtime.js';
import type { CanaryObservations, RolloutActivities } from './contract.js';

/** Progress a wait heartbeats; a retried attempt continues from it (same deadline, same poll count). */
export interface WaitProgress {
  readonly startedAt: string;
  readonly polls: number;
  readonly observed: number;
  /** What waitForRunners saw of the VMs on the awaited template: a boot loop shows only across many polls. */
  readonly observations?: CanaryObservations;
}

export function createWaitActivities(
  runtime: ActivityRuntime,
): Pick<RolloutActivities, 'waitForRunners' | 'waitForMigStable'> {
  return {
    async waitForRunners({ mig, template, runnerVersion, count, timeoutMinutes }) {
      const what = `wait for ${count} runners of ${mig.name} on ${template}`;
      // Each poll makes several reads (MIG, VMs, creation times per zone, runners) for up to an hour: without
      // retries within the attempt, one transient failure among them would fail the attempt.
      const reads = runtime.retryingReads();
      return pollUntil(runtime, what, timeoutMinutes, async (previous) => {
        const { instances, runners, online } = await readTemplateVms(reads, mig, template);
        const observations = observeCanaryVms(previous, instances, online, new Set(), runtime.now().toISOString());
        const onTemplate = new Set(instances.map((instance) => instance.name));
        const ready = runners.filter(
          (runner) =>
            runner.online &&
            onTemplate.has(runner.name) &&
            (runnerVersion === undefined || runner.runnerVersion === runnerVersion),
        ).length;
        if (instances.length < count) {
          // An ephemeral VM on the template may have run its job and deleted itself while the MIG, at its target
          // size, kept the old VMs: without room the wait would last until one of them ran a job.
          await makeRoomFor(runtime, mig, template, count, { remember: false });
        }
        if (ready < count) {
          // A template whose VMs crash before registering never brings its runners up: waiting out the timeout
          // would only hold the MIG's worker, and with it the rollback, for nothing. Only the same-VM rule: an
          // ephemeral VM can register, run a short job and delete itself between two polls, so a stream of VMs
          // never seen with a runner is no evidence here (canaryHealth confirms registrations by their jobs).
          const problems = recreatedVmProblems(observations);
          if (problems.length > 0) {
            throw permanentFailure(
              FailureType.BOOT_LOOP,
              `${what}: MIG ${mig.name} in ${mig.region} boot-loops on template ${template}: ${problems.join('; ')}`,
              { mig: mig.name, region: mig.region, template, problems },
            );
          }
        }
        return {
          done: ready >= count,
          observed: ready,
          value: ready,
          describe: `${ready} of ${count} online`,
          observations,
        };
      });
    },

    async waitForMigStable(mig, options = {}) {
      const reads = runtime.retryingReads();
      return pollUntil(runtime, `wait for MIG ${mig.name} to become stable`, options.timeoutMinutes, async () => {
        const snapshot = await describeMig(reads, mig, { withInstances: true });
        const done = snapshot.isStable && snapshot.versionTargetReached;
        const onTarget = Object.values(snapshot.instancesByTemplate).reduce((sum, n) => sum + n, 0);
        return {
          done,
          observed: onTarget,
          value: snapshot,
          describe: `stable=${snapshot.isStable}, versionTargetReached=${snapshot.versionTargetReached}`,
        };
      });
    },
  };
}

/**
 * Polls `observe` until it reports done. Progress is heartbeated, and a retried attempt keeps the first
 * attempt's start, so `timeoutMinutes` bounds the whole wait rather than each attempt. Observations a poll
 * returns are handed to the next poll, across attempts too.
 */
async function pollUntil<T>(
  runtime: ActivityRuntime,
  what: string,
  timeoutMinutes: number | undefined,
  observe: (
    previous: CanaryObservations | undefined,
  ) => Promise<{ done: boolean; observed: number; value: T; describe: string; observations?: CanaryObservations }>,
): Promise<T> {
  const previous = runtime.previousHeartbeat<WaitProgress>();
  const startedAt = previous?.startedAt ?? runtime.now().toISOString();
  let polls = previous?.polls ?? 0;
  let observations = previous?.observations;
  for (;;) {
    const result = await observe(observations);
    polls++;
    observations = result.observations ?? observations;
    runtime.heartbeat({
      startedAt,
      polls,
      observed: result.observed,
      ...(observations === undefined ? {} : { observations }),
    } satisfies WaitProgress);
    if (result.done) return result.value;
    const waitedMs = runtime.now().getTime() - Date.parse(startedAt);
    if (timeoutMinutes !== undefined && waitedMs >= timeoutMinutes * 60_000) {
      throw permanentFailure(
        FailureType.WAIT_TIMED_OUT,
        `${what}: gave up after ${Math.round(waitedMs / 60_000)} minutes (${polls} polls); last seen: ${result.describe}`,
        { startedAt, polls, observed: result.observed },
      );
    }
    await runtime.sleep(runtime.timing.pollIntervalMs);
  }
}
