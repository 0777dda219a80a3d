import type { FleetDefinition } from './types.js';

/** Where the generated allow-list lives, relative to runner-config/. */
export const HOOK_ALLOW_LIST_PATH = 'vm/hooks/allowed-events';

/**
 * The pre-job hook's allow-list: one `<group> <event>` line per event a group may run. Generated from the
 * fleet definition (`npm run schema`) so that the hook and the fleet cannot disagree.
 */
export function hookAllowList(fleet: FleetDefinition): string {
  const lines = fleet.groups.flatMap((group) => group.allowedEvents.map((event) => `${group.name} ${event}`));
  return [
    '# Generated from the fleet definition by `npm run schema`; do not edit.',
    '# The pre-job hook runs a job only if "<runner group> <triggering event>" is a line here.',
    ...lines,
    '',
  ].join('\n');
}
