import type { PoolControllerState, PoolSettings } from './pool-contract.js';

/** The markdown the Temporal UI shows as the pool controller's current details: the pool at a glance. */
export function renderPoolDetails(state: PoolControllerState): string {
  const lines = [`**Pool ${state.pool}**: mode **${state.mode}**`];
  if (state.desired !== undefined) {
    lines.push(
      `Desired ${state.desired}, current ${state.current ?? 0}; busy ${state.busy ?? 0}, idle ${state.idle ?? 0}, queued ${state.jobs.queued}`,
    );
  } else {
    lines.push(`Queued ${state.jobs.queued}, busy ${state.jobs.busy}; the pool has not been observed yet`);
  }
  if (state.min !== undefined && state.max !== undefined) lines.push(`Bounds ${state.min}..${state.max}`);
  const settings = describeSettings(state.settings);
  if (settings !== '') lines.push(`Set at run time (over the fleet file): ${settings}`);
  if (state.lastAction !== undefined) lines.push(`Last: ${state.lastAction}`);
  if (state.heldMigs.length > 0) lines.push(`Held by a rollout (not written): ${state.heldMigs.join(', ')}`);
  const takenOver = Object.entries(state.autoscalerModes);
  if (takenOver.length > 0) {
    lines.push(
      `Autoscalers turned off (mode given back in mode off): ${takenOver.map(([mig, mode]) => `${mig} (was ${mode})`).join(', ')}`,
    );
  }
  if (state.problem !== undefined) lines.push(`Problem: ${state.problem}`);
  lines.push(
    `Job events applied: ${state.eventsApplied}; missed webhooks caught: ${state.missedJobs}` +
      (state.reconciledAt === undefined ? '' : `; reconciled at ${state.reconciledAt}`),
  );
  return lines.join('\n');
}

/** `mode off, max 4`; empty when nothing was set. */
export function describeSettings(settings: PoolSettings): string {
  return (['mode', 'min', 'max'] as const)
    .flatMap((field) => (settings[field] === undefined ? [] : [`${field} ${settings[field]}`]))
    .join(', ');
}
