import { parseDuration, type DurationMinimum } from '../runner-config/durations.js';

/** Every duration the workflows wait for is longer than zero. */
const POSITIVE: DurationMinimum = { ms: 1, text: 'a millisecond', reason: 'it must be longer than zero' };

/** Milliseconds of a duration with a unit (`3 days`, `90m`) of at least `minimum`, or a RangeError naming `what`. */
export function durationMs(text: string, what: string, minimum: DurationMinimum = POSITIVE): number {
  try {
    return parseDuration(text, minimum);
  } catch (error) {
    throw new RangeError(`${what}: ${(error as Error).message}`, { cause: error });
  }
}
