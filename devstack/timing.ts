/**
 * The engine's waits in a simulated world that runs faster than real time: what the engine waits an hour for in
 * production (VMs boot, jobs finish, runners register) happens there in an hour divided by the speed, so its
 * intervals and polls shrink by the same factor.
 */
import { DEFAULT_TIMING, type ActivityTiming } from '../activities/ports.js';
import { parseDuration } from '../runner-config/durations.js';
import { DEFAULT_ROLLOUT_TIMING, type RolloutTiming } from '../workflows/rollout-contract.js';

export interface StackTiming {
  /** Defaults for rollouts that set no intervals of their own. */
  readonly rollout: Partial<RolloutTiming>;
  readonly activities: Partial<ActivityTiming>;
}

/** Every workflow timer is history events: a faster world still gets at most one a second per interval. */
const MIN_INTERVAL_MS = 1000;
/** A poll is one API call; more than ten a second only loads the simulator. */
const MIN_POLL_MS = 100;

/** Rollout intervals paced by the fleet's world (counts and the history budget are not). */
const SCALED_INTERVALS = [
  'healthCheckInterval',
  'runnersReadyTimeout',
  'convergeInterval',
  'approvalReminderInterval',
  'migWorkerLivenessInterval',
] as const;

/** Fast polling against a simulator: VM lifecycles last seconds, not minutes. */
export const SIMULATOR_ACTIVITY_TIMING: Partial<ActivityTiming> = {
  pollIntervalMs: 250,
  registrationGraceMs: 10 * 60_000,
};

/**
 * Timings that compress a week into seconds against a simulator running at tens of simulated seconds per real
 * second: health checks and convergence every couple of seconds, readiness measured in simulated time.
 */
export const COMPRESSED_ROLLOUT_TIMING = {
  healthCheckInterval: '2 seconds',
  convergeInterval: '2 seconds',
  runnersReadyTimeout: '12 hours',
  approvalReminderInterval: '1 minute',
  migWorkerLivenessInterval: '1 minute',
} as const;

/** The engine's intervals and polls for a world `speed` times faster than real time. */
export function timingAtSpeed(speed: number): StackTiming {
  const scale = (ms: number, minimum: number): number => Math.max(minimum, Math.round(ms / speed));
  const rollout = Object.fromEntries(
    SCALED_INTERVALS.map((name) => [
      name,
      durationText(scale(parseDuration(DEFAULT_ROLLOUT_TIMING[name]), MIN_INTERVAL_MS)),
    ]),
  );
  return {
    rollout,
    // The runner snapshot ages and paces itself in real time: at speed 60 a 30-second-old listing would be half a
    // simulated hour old, older than most ephemeral runners live. Its listing budget is an hour's, so it grows.
    activities: {
      pollIntervalMs: scale(DEFAULT_TIMING.pollIntervalMs, MIN_POLL_MS),
      runnerSnapshotMaxAgeMs: scale(DEFAULT_TIMING.runnerSnapshotMaxAgeMs, MIN_POLL_MS),
      runnerListingsPerHour: Math.round(DEFAULT_TIMING.runnerListingsPerHour * speed),
    },
  };
}

/** `2m`, `20s`, `1500ms`: the largest whole unit, in a form Temporal's duration parser reads back. */
function durationText(ms: number): string {
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
