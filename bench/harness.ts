/**
 * What the benchmarks share: the rollout's activities run straight against a simulator (no Temporal), request
 * counts read from the simulator's counters, and command-line options.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Info } from '@temporalio/activity';
import { ApplicationFailure, msToNumber, type ActivityOptions, type Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, type ActivityTiming } from '../activities/index.js';
import type { FleetDefinition } from '../runner-config/types.js';
import type { SimulatorHandle } from '../simulator/index.js';
import { createComputeClients, createGitHubClient } from '../worker/clients.js';

const noop = (): void => undefined;
const silent: Logger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };

export type SimulatorActivities = ReturnType<typeof createActivities>;

/**
 * The activities with the production clients pointed at the simulator, on its clock. By default the GitHub client
 * does not throttle, which would serialise writes and wait out limits in-process, for figures about the calls;
 * `asWorker` builds it as the worker does (writes one a second, limits waited out), for figures about wall time.
 */
export function simulatorActivities(
  sim: SimulatorHandle,
  timing: Partial<ActivityTiming> = {},
  { asWorker = false }: { readonly asWorker?: boolean } = {},
): SimulatorActivities {
  return createActivities({
    compute: createComputeClients({ project: sim.fleet.project, apiEndpoint: sim.url }),
    github: createGitHubClient({
      baseUrl: sim.url,
      token: 'bench',
      ...(asWorker ? {} : { throttle: { enabled: false } }),
    }),
    fleet: sim.fleet,
    logger: silent,
    clock: () => new Date(sim.model.now()),
    timing,
  });
}

/** Runs one activity call in a mock activity context (heartbeats go nowhere), as a worker would run it. */
export function inActivity<T>(call: () => Promise<T>): Promise<T> {
  return new MockActivityEnvironment({}, { logger: silent }).run<[], T, () => Promise<T>>(call);
}

export interface TemporalRun<T> {
  readonly value: T;
  readonly attempts: number;
  /** The longest an attempt went without heartbeating: from its start, between heartbeats, to its end. */
  readonly longestSilenceMs: number;
}

/**
 * Runs one activity call as Temporal would under `options`: a failed attempt is retried with the retry policy's
 * backoff (or the failure's next-retry delay) unless it is non-retryable or the attempts are spent, and the next
 * attempt gets the last heartbeat's details. Heartbeat timeouts are not enforced; the longest silence is reported.
 */
export async function asTemporalActivity<T>(
  options: ActivityOptions,
  info: Partial<Info>,
  call: () => Promise<T>,
): Promise<TemporalRun<T>> {
  const retry = options.retry ?? {};
  const initialMs = msToNumber(retry.initialInterval ?? '1 second');
  const maximumMs = retry.maximumInterval === undefined ? 100 * initialMs : msToNumber(retry.maximumInterval);
  const nonRetryable = new Set(retry.nonRetryableErrorTypes ?? []);
  let heartbeatDetails: unknown;
  let longestSilenceMs = 0;
  for (let attempt = 1; ; attempt++) {
    const env = new MockActivityEnvironment({ ...info, attempt, heartbeatDetails }, { logger: silent });
    let last = performance.now();
    const silenceEnds = (): void => {
      const now = performance.now();
      longestSilenceMs = Math.max(longestSilenceMs, now - last);
      last = now;
    };
    env.on('heartbeat', (details: unknown) => {
      silenceEnds();
      heartbeatDetails = details;
    });
    try {
      const value = await env.run<[], T, () => Promise<T>>(call);
      silenceEnds();
      return { value, attempts: attempt, longestSilenceMs };
    } catch (error) {
      silenceEnds();
      const failure = error instanceof ApplicationFailure ? error : undefined;
      const spent = retry.maximumAttempts !== undefined && attempt >= retry.maximumAttempts;
      if (spent || failure?.nonRetryable === true || nonRetryable.has(failure?.type ?? '')) throw error;
      // Duration's string form comes from a types package lint cannot resolve; the activities set milliseconds.
      const hinted = failure?.nextRetryDelay as unknown;
      await sleep(
        typeof hinted === 'number'
          ? hinted
          : Math.min(maximumMs, initialMs * (retry.backoffCoefficient ?? 2) ** (attempt - 1)),
      );
    }
  }
}

export interface ApiCalls {
  readonly total: number;
  /** Requests per endpoint, without the API prefix (`regionInstanceGroupManagers.patch`). */
  readonly byEndpoint: Readonly<Record<string, number>>;
}

/** Requests the simulator answered for one API (`compute` or `github`) since its counters were last reset. */
export function apiCalls(sim: SimulatorHandle, api: 'compute' | 'github'): ApiCalls {
  const byEndpoint: Record<string, number> = {};
  let total = 0;
  for (const [endpoint, counter] of Object.entries(sim.control.counters())) {
    if (!endpoint.startsWith(`${api}.`)) continue;
    byEndpoint[endpoint.slice(api.length + 1)] = counter.requests;
    total += counter.requests;
  }
  return { total, byEndpoint };
}

/** A selector of the fleet's canary-policy types (`cpu|gpu|arm64`). */
export function canaryTypes(fleet: FleetDefinition): string {
  return fleet.types
    .filter((type) => type.rolloutPolicy === 'canary')
    .map((type) => type.name)
    .join('|');
}

/**
 * This bench's options from `process.argv` (what `scripts/bench <name> …` passes on). An unknown option ends the
 * bench with the usage line rather than being ignored.
 */
export function benchOptions<const Options extends NonNullable<ParseArgsConfig['options']>>(
  usage: string,
  options: Options,
) {
  try {
    return parseArgs({ options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\nusage: ${usage}`);
    process.exit(2);
  }
}

/** A whole number option of at least `min`, or the default; anything else ends the bench with a clear message. */
export function wholeNumber(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min) {
    console.error(`--${name} must be a whole number of at least ${min}, got "${value}"`);
    process.exit(2);
  }
  return parsed;
}

export function seconds(milliseconds: number): string {
  return `${(milliseconds / 1000).toFixed(1)} s`;
}
