/** Instance template properties: those the fleet's own templates have, and the metadata any template carries. */
import { findGroup, findType, templateMetadata } from '../runner-config/index.js';
import type { FleetDefinition } from '../runner-config/types.js';

/** Template properties like the fleet's own templates, for the initial fleet and out-of-band creation. */
export function fleetTemplateProperties(
  fleet: FleetDefinition,
  group: string,
  type: string,
  version: string,
  overrides: { runnerVersion?: string; configRef?: string; metadata?: Readonly<Record<string, string>> } = {},
): Record<string, unknown> {
  const runnerType = findType(fleet, type);
  const metadata = {
    ...templateMetadata(fleet, group, type, version, {
      ...(overrides.runnerVersion === undefined ? {} : { runnerVersion: overrides.runnerVersion }),
      ...(overrides.configRef === undefined ? {} : { configRef: overrides.configRef }),
    }),
    ...overrides.metadata,
  };
  return {
    machineType: runnerType.machineType,
    disks: [
      {
        boot: true,
        autoDelete: true,
        initializeParams: {
          diskType: runnerType.disk.type,
          diskSizeGb: String(runnerType.disk.sizeGb),
          sourceImage: `projects/${fleet.project}/global/images/${runnerType.image}`,
        },
      },
    ],
    metadata: { items: Object.entries(metadata).map(([key, value]) => ({ key, value })) },
    serviceAccounts: [
      {
        email: findGroup(fleet, group).serviceAccount,
        scopes: ['https://www.googleapis.com/auth/cloud-platform'],
      },
    ],
    scheduling: { onHostMaintenance: runnerType.maintenancePolicy, automaticRestart: false },
    ...(runnerType.accelerator === undefined
      ? {}
      : {
          guestAccelerators: [
            { acceleratorType: runnerType.accelerator.type, acceleratorCount: runnerType.accelerator.count },
          ],
        }),
    tags: { items: ['allow-health-checks'] },
  };
}

/** The `metadata.items` of template properties as a map; items that are not key/value strings are left out. */
export function metadataOf(properties: Readonly<Record<string, unknown>>): Map<string, string> {
  const metadata = new Map<string, string>();
  const items = (properties['metadata'] as { items?: unknown } | undefined)?.items;
  if (Array.isArray(items)) {
    for (const item of items as Array<{ key?: unknown; value?: unknown }>) {
      if (typeof item.key === 'string' && typeof item.value === 'string') metadata.set(item.key, item.value);
    }
  }
  return metadata;
}
