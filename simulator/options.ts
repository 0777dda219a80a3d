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
): { perHour: number; meanDurationMinutes: number } {
  let rate = { perHour: 0, meanDurationMinutes: 30 };
  for (const rule of rules) {
    if (rule.environment !== undefined && rule.environment !== pool.environment) continue;
    if (rule.group !== undefined && rule.group !== pool.group) continue;
    if (rule.type !== undefined && rule.type !== pool.type) continue;
    rate = { perHour: rule.perHour, meanDurationMinutes: rule.meanDurationMinutes };
  }
  return rate;
}
