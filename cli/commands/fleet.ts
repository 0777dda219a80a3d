import {
  OPERATION_WORKFLOWS,
  operationWorkflowId,
  type FleetInventory,
  type FleetInventoryInput,
} from '../../workflows/operations-contract.js';
import type { CommandContext } from '../context.js';
import { runOperation } from '../operations.js';
import { table } from '../output.js';
import { randomUUID } from 'node:crypto';

/** The fleet as it is: MIGs, their versions and autoscaling, runners by version, and drift. */
export async function fleet(ctx: CommandContext, input: FleetInventoryInput): Promise<FleetInventory> {
  const inventory = await runOperation<FleetInventoryInput, FleetInventory>(
    ctx,
    OPERATION_WORKFLOWS.fleetInventory,
    input,
    operationWorkflowId('fleet', randomUUID().slice(0, 8)),
  );
  ctx.output.result(inventory, renderInventory);
  return inventory;
}

function renderInventory(inventory: FleetInventory): string {
  const lines = [
    `project ${inventory.project}: ${inventory.migs.length} MIGs`,
    table([
      ['MIG', 'VERSIONS', 'SIZE', 'AUTOSCALING', 'STABLE'],
      ...inventory.migs.map((mig) => [
        mig.name,
        mig.versions.map((version) => `${version.name}=${version.version ?? version.template}`).join(' '),
        String(mig.targetSize),
        `${mig.autoscaling.min}..${mig.autoscaling.max}`,
        mig.isStable ? 'yes' : 'no',
      ]),
    ]),
    '',
    `runners by runner version (fleet expects ${inventory.expectedRunnerVersion}):`,
    ...Object.entries(inventory.runnersByVersion).map(
      ([version, count]) => `  ${version}: ${count.total} (${count.online} online, ${count.busy} busy)`,
    ),
  ];
  lines.push('', inventory.drift.length === 0 ? 'no drift' : `drift (${inventory.drift.length}):`);
  for (const finding of inventory.drift) lines.push(`  ${finding.kind}: ${finding.message}`);
  return lines.join('\n');
}
