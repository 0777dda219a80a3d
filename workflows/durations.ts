import { msToNumber, type StringValue } from '@temporalio/common';

/** Milliseconds of a Temporal duration string (`3 days`, `90m`); throws a clear error for anything else. */
export function durationMs(text: string, what: string): number {
  let ms: number;
  try {
    ms = msToNumber(text as StringValue);
  } catch {
    throw new RangeError(`${what} "${text}" is not a duration (examples: "3 days", "72h", "30 minutes")`);
  }
  if (!(ms > 0)) throw new RangeError(`${what} "${text}" must be longer than zero`);
  return ms;
}
