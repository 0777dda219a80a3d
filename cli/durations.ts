/**
 * Durations an operator types, checked by the fleet's one duration rule (runner-config/durations.ts): a unit is
 * required, because Temporal's parser reads a bare number as milliseconds (`--soak 3` would be a 3 ms soak).
 */
import { durationProblem, SOAK_MINIMUM, type DurationMinimum } from '../runner-config/durations.js';

/** Why `text` is not an acceptable value of `flag` (named in the message), or undefined when it is one. */
export function durationFlagProblem(flag: string, text: string, minimum: DurationMinimum): string | undefined {
  const problem = durationProblem(text, minimum);
  return problem === undefined ? undefined : `${flag}: ${problem}`;
}

export const SOAK_RULE = SOAK_MINIMUM;

/** GitHub's API is rate limited and releases come weeks apart: checks more often than this only spend quota. */
export const CHECK_INTERVAL_RULE: DurationMinimum = {
  ms: 60_000,
  text: 'a minute',
  reason: 'checks that often only spend GitHub API quota',
};

/** Health checks and convergence rounds: each is API calls and history events, so a second is the least. */
export const INTERVAL_RULE: DurationMinimum = {
  ms: 1000,
  text: 'a second',
  reason: 'a check more often than that only loads the cloud APIs and the rollout history',
};

/** No VM boots and registers its runner faster, even in the simulator. */
export const RUNNERS_READY_RULE: DurationMinimum = {
  ms: 1000,
  text: 'a second',
  reason: 'no VM boots and registers its runner that fast',
};
