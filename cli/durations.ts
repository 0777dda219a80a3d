/**
 * Durations an operator types. Temporal's parser reads a bare number as milliseconds, so `--soak 3` would be a
 * 3 ms soak: the CLI insists on a unit, and refuses values below the shortest one that can be meant.
 */
import { msToNumber, type Duration } from '@temporalio/common';

export interface DurationRule {
  /** The shortest value that can be meant; shorter ones are slips of the unit. */
  readonly minimumMs: number;
  /** The minimum as the message says it (`a second`). */
  readonly minimumText: string;
  /** Why nothing shorter makes sense; ends the message about a value below the minimum. */
  readonly minimumReason: string;
}

/** The examples every message ends with: the forms Temporal's parser reads. */
const EXAMPLES = '"3 days", "72h" or "90m"';

/** Why `text` is not an acceptable value of `flag` (named in the message), or undefined when it is one. */
export function durationFlagProblem(flag: string, text: string, rule: DurationRule): string | undefined {
  let ms: number;
  try {
    ms = msToNumber(text as Duration);
  } catch {
    return `${flag}: "${text}" is not a duration; write e.g. ${EXAMPLES}`;
  }
  if (ms < 0) return `${flag}: duration "${text}" is negative; write e.g. ${EXAMPLES}`;
  if (!/[a-z]$/i.test(text.trim())) {
    return `${flag}: "${text}" has no unit (a bare number would mean milliseconds); write e.g. ${EXAMPLES}`;
  }
  if (ms < rule.minimumMs) {
    return `${flag}: "${text}" is shorter than ${rule.minimumText}: ${rule.minimumReason}; write e.g. ${EXAMPLES}`;
  }
  return undefined;
}

/** The rollout refuses a zero soak; below a second, a soak watches nothing and is a slip of the unit (ms). */
export const SOAK_RULE: DurationRule = {
  minimumMs: 1000,
  minimumText: 'a second',
  minimumReason: 'the rollout needs a soak longer than zero to watch the canaries',
};

/** GitHub's API is rate limited and releases come weeks apart: checks more often than this only spend quota. */
export const CHECK_INTERVAL_RULE: DurationRule = {
  minimumMs: 60_000,
  minimumText: 'a minute',
  minimumReason: 'checks that often only spend GitHub API quota',
};
