import type { Environment, FleetDefinition } from '../runner-config/types.js';
import type { Behaviours } from './behaviours.js';

/** How fast a job pool receives work: a Poisson process with exponentially spaced arrivals. */
export interface JobRateRule {
  /** Omitted fields match every environment, group or type; later rules override earlier ones. */
  readonly environment?: Environment;
  readonly group?: string;
  readonly type?: string;
  /** Mean arrivals per simulated hour for the whole pool (all regions of one environment/group/type). */
  readonly perHour: number;
  /** Mean job duration; each job takes uniformly 0.5–1.5 × this. */
  readonly meanDurationMinutes: number;
  /**
   * The day's shape: 24 multipliers of `perHour`, one per hour of the simulated day (UTC). Arrivals then follow
   * the rate of their hour (a non-homogeneous Poisson process); without it the rate is flat.
   */
  readonly hourly?: readonly number[];
  /** Jobs that arrive together: a push or pull request starts a workflow whose jobs queue at once. Default 1. */
  readonly jobsPerArrival?: number;
}

/** What a pool's arrivals follow, resolved from the rules. */
export interface JobRate {
  readonly perHour: number;
  readonly meanDurationMinutes: number;
  readonly hourly?: readonly number[];
  readonly jobsPerArrival: number;
}

/** Durations of the instance lifecycle, in simulated seconds. */
export interface SimulatorTimings {
  /** Creation request to RUNNING. */
  readonly bootSeconds: number;
  /** RUNNING to runner registered (the health check passes from then on). */
  readonly registerSeconds: number;
  /** A bootlooping instance crashes this long after RUNNING, before registering. */
  readonly crashAfterSeconds: number;
  /** Job done to the VM asking its MIG to delete it (ExecStopPost delete_self). */
  readonly selfDeleteSeconds: number;
  /** DELETING to gone. */
  readonly deleteSeconds: number;
  /** Delay between a demand change and the autoscaler acting on it (its cool-down). */
  readonly autoscalerDelaySeconds: number;
  /** How often a creation that failed for lack of capacity is retried. */
  readonly stockoutRetrySeconds: number;
  /** Jobs nobody picked up are cancelled after this long in the queue, as GitHub does. */
  readonly queueTimeoutSeconds: number;
}

export interface InitialRelease {
  readonly version: string;
  /** ISO timestamp; defaults to the fleet runner version 20 days before the start, older ones earlier. */
  readonly publishedAt?: string;
}

export interface ModelOptions {
  readonly fleet: FleetDefinition;
  readonly seed: number;
  /** Template version of the initial fleet: every MIG starts on `<prefix>-<group>-<type>-<initialVersion>`. */
  readonly initialVersion: string;
  readonly jobRates: readonly JobRateRule[];
  readonly timings: SimulatorTimings;
  readonly releases: readonly InitialRelease[];
  readonly behaviours: Behaviours;
}

export const DEFAULT_INITIAL_VERSION = '0000000000-aaa';
export const DEFAULT_SEED = 1;

export const DEFAULT_TIMINGS: SimulatorTimings = {
  bootSeconds: 60,
  registerSeconds: 45,
  crashAfterSeconds: 90,
  selfDeleteSeconds: 10,
  deleteSeconds: 30,
  autoscalerDelaySeconds: 60,
  stockoutRetrySeconds: 300,
  queueTimeoutSeconds: 24 * 3600,
};

/** Prod pools are busy enough that opportunistic updates make progress; testing pools get work only on demand. */
export const DEFAULT_JOB_RATES: readonly JobRateRule[] = [
  { environment: 'prod', perHour: 6, meanDurationMinutes: 30 },
  { environment: 'testing', perHour: 0, meanDurationMinutes: 30 },
];

export function jobRateFor(
  rules: readonly JobRateRule[],
  pool: { environment: Environment; group: string; type: string },
): JobRate {
  let rate: JobRate = { perHour: 0, meanDurationMinutes: 30, jobsPerArrival: 1 };
  for (const rule of rules) {
    if (rule.environment !== undefined && rule.environment !== pool.environment) continue;
    if (rule.group !== undefined && rule.group !== pool.group) continue;
    if (rule.type !== undefined && rule.type !== pool.type) continue;
    rate = {
      perHour: rule.perHour,
      meanDurationMinutes: rule.meanDurationMinutes,
      jobsPerArrival: rule.jobsPerArrival ?? 1,
      ...(rule.hourly === undefined ? {} : { hourly: rule.hourly }),
    };
  }
  return rate;
}

/**
 * A working day of the fleet we model, for day-long runs: presubmit work follows the working hours of its
 * contributors (quiet at night, a peak around midday UTC) and arrives in bursts (a pull request's workflow queues
 * several jobs at once); postsubmit follows merges, flatter; GPU and a100 jobs last long. The daily totals are
 * orders of magnitude, not measurements.
 */
export const WORKDAY_HOURLY: readonly number[] = [
  0.3, 0.2, 0.2, 0.2, 0.3, 0.4, 0.6, 0.9, 1.2, 1.5, 1.7, 1.8, 1.8, 1.8, 1.7, 1.6, 1.5, 1.3, 1.1, 0.9, 0.7, 0.5, 0.4,
  0.3,
];
export const WORKDAY_JOB_RATES: readonly JobRateRule[] = [
  { environment: 'prod', perHour: 6, meanDurationMinutes: 30 },
  {
    environment: 'prod',
    group: 'presubmit',
    perHour: 4,
    meanDurationMinutes: 20,
    hourly: WORKDAY_HOURLY,
    jobsPerArrival: 3,
  },
  {
    environment: 'prod',
    group: 'postsubmit',
    perHour: 3,
    meanDurationMinutes: 30,
    hourly: WORKDAY_HOURLY.map((m) => 0.5 + m / 2),
  },
  {
    environment: 'prod',
    group: 'presubmit',
    type: 'gpu',
    perHour: 1.5,
    meanDurationMinutes: 90,
    hourly: WORKDAY_HOURLY,
    jobsPerArrival: 2,
  },
  { environment: 'prod', group: 'postsubmit', type: 'gpu', perHour: 1, meanDurationMinutes: 90 },
  { environment: 'prod', type: 'a100', perHour: 0.5, meanDurationMinutes: 120 },
  { environment: 'testing', perHour: 0, meanDurationMinutes: 30 },
];
