import type { MigProgress, RolloutState } from './rollout-contract.js';

const MAX_MIG_ROWS = 40;
const RECENT_EVENTS = 5;

/** The markdown the Temporal UI shows as the rollout's current details: the status at a glance. */
export function renderDetails(state: RolloutState): string {
  const lines = [`**Rollout ${state.version}**: stage **${state.stage}**`];
  if (state.pause !== undefined)
    lines.push(`Paused by ${state.pause.identity} at ${state.pause.at}: ${state.pause.reason}`);
  if (state.stop !== undefined)
    lines.push(`Stopping (${state.stop.kind} by ${state.stop.identity}): ${state.stop.reason}`);
  if (state.gate !== undefined) lines.push(`Waiting since ${state.gate.since} for ${state.gate.waitsFor}`);
  if (state.stage === 'soak' && state.soak !== undefined) lines.push(`Soak ends at ${state.soak.endsAt}`);
  const { counts } = state;
  lines.push(
    `Instances old/new: ${counts.instancesOld}/${counts.instancesNew}; runners old/new: ${counts.runnersOld}/${counts.runnersNew}`,
  );
  if (state.problems.length > 0) {
    lines.push('', '**Problems**', ...state.problems.map((problem) => `- ${problem.message}`));
  }
  if (state.migs.length > 0) {
    lines.push('', '| MIG | role | phase | old | new | note |', '| --- | --- | --- | --- | --- | --- |');
    for (const mig of state.migs.slice(0, MAX_MIG_ROWS)) lines.push(migRow(mig));
    if (state.migs.length > MAX_MIG_ROWS) lines.push(`| … ${state.migs.length - MAX_MIG_ROWS} more | | | | | |`);
  }
  const recent = state.timeline.slice(-RECENT_EVENTS);
  if (recent.length > 0) {
    lines.push('', '**Recent**', ...recent.map((event) => `- ${event.at} ${event.kind}: ${event.message}`));
  }
  return lines.join('\n');
}

function migRow(mig: MigProgress): string {
  const note = mig.problem ?? (mig.health !== undefined && !mig.health.healthy ? mig.health.problems.join('; ') : '');
  return `| ${mig.name} | ${mig.role} | ${mig.phase} | ${mig.instancesOld} | ${mig.instancesNew} | ${note.replaceAll('|', '/')} |`;
}
