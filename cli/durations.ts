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
