import { msToNumber, type Duration } from '@temporalio/common';

/** Returns why `text` is not a Temporal duration string (`3 days`, `72h`, `90m`), or undefined when it is one. */
export function durationProblem(text: string): string | undefined {
  let ms: number;
  try {
    ms = msToNumber(text as Duration);
  } catch {
    return `"${text}" is not a duration; write e.g. "3 days", "72h" or "90m"`;
  }
  if (ms < 0) return `duration "${text}" is negative`;
  return undefined;
}

/** Milliseconds of a Temporal duration string; throws with the reason when it is not one. */
export function parseDuration(text: string): number {
  const problem = durationProblem(text);
  if (problem !== undefined) throw new RangeError(problem);
  return msToNumber(text as Duration);
}
