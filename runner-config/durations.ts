/**
 * Durations written in fleet files and runner-version-check inputs. Temporal's parser reads a bare number as
 * milliseconds, so `defaultSoak: 3` would be a 3 ms soak: a duration must carry its unit, as on the CLI.
 */
import { msToNumber, type Duration } from '@temporalio/common';

/** The shortest value a duration field can mean; a shorter one is a slip of the unit. */
export interface DurationMinimum {
  readonly ms: number;
  /** The minimum as the message says it (`a second`). */
  readonly text: string;
  /** Why nothing shorter makes sense. */
  readonly reason: string;
}

/** The rollout refuses a zero soak; below a second, a soak watches nothing and is a slip of the unit (ms). */
export const SOAK_MINIMUM: DurationMinimum = {
  ms: 1000,
  text: 'a second',
  reason: 'the rollout needs a soak longer than zero to watch the canaries',
};

/** The examples every message ends with: forms Temporal's parser reads. */
const EXAMPLES = '"3 days", "72h" or "90m"';

/**
 * Returns why `text` is not a duration with a unit (`3d`, `72h`, `90 minutes`) of at least `minimum`, or undefined
 * when it is one. The caller names the field.
 */
export function durationProblem(text: string, minimum?: DurationMinimum): string | undefined {
  let ms: number;
  try {
    ms = msToNumber(text as Duration);
  } catch {
    return `"${text}" is not a duration; write e.g. ${EXAMPLES}`;
  }
  if (ms < 0) return `duration "${text}" is negative; write e.g. ${EXAMPLES}`;
  if (!/[a-z]$/i.test(text.trim())) {
    return `"${text}" has no unit (a bare number would mean milliseconds); write e.g. ${EXAMPLES}`;
  }
  if (minimum !== undefined && ms < minimum.ms) {
    return `"${text}" is shorter than ${minimum.text}: ${minimum.reason}; write e.g. ${EXAMPLES}`;
  }
  return undefined;
}

/** Milliseconds of a duration with a unit; throws a RangeError with the reason when `text` is not one. */
export function parseDuration(text: string, minimum?: DurationMinimum): number {
  const problem = durationProblem(text, minimum);
  if (problem !== undefined) throw new RangeError(problem);
  return msToNumber(text as Duration);
}
