/** `fleet`, `drain-idle`, `autoscaling` and `templates create`: reading and changing the fleet outside a rollout. */
import { Option, type Command } from 'commander';
import type { MigSelection } from '../../activities/contract.js';
import { ENVIRONMENTS, type Environment } from '../../runner-config/types.js';
import { UsageError } from '../errors.js';
import { wholeNumber } from './flag-parsers.js';
import type { CommandRuntime } from './runtime.js';

interface SelectionFlags {
  env: Environment;
  regions?: string;
  groups?: string;
  types?: string;
}

export function fleetCommands(program: Command, runtime: CommandRuntime): void {
  program
    .command('fleet')
    .description('inventory: MIGs, versions, templates, autoscaling, runners by version, drift')
    .addOption(new Option('--env <env>', 'only this environment').choices(ENVIRONMENTS))
    .action(async (flags: { env?: Environment }, command: Command) => {
      const { fleet } = await import('../commands/fleet.js');
      await runtime.withTemporal(command, (ctx) =>
        fleet(ctx, flags.env === undefined ? {} : { environments: [flags.env] }),
      );
    });

  selectionOptions(
    program
      .command('drain-idle')
      .description('remove idle runners (GitHub first, then the VM) from the selected MIGs; busy ones are left'),
  )
    .option('--dry-run', 'only report what would be drained')
    .action(async (flags: SelectionFlags & { dryRun?: boolean }, command: Command) => {
      const { drainIdle } = await import('../commands/drain-idle.js');
      const selection = selectionOf(flags);
      await runtime.withTemporal(command, (ctx) => drainIdle(ctx, { selection, dryRun: flags.dryRun === true }));
    });

  selectionOptions(program.command('autoscaling').description('set the autoscaling bounds of the selected MIGs'))
    .requiredOption('--min <n>', 'minimum number of VMs', wholeNumber)
    .requiredOption('--max <n>', 'maximum number of VMs', wholeNumber)
    .action(async (flags: SelectionFlags & { min: number; max: number }, command: Command) => {
      const { autoscaling } = await import('../commands/autoscaling.js');
      const selection = selectionOf(flags);
      if (flags.min > flags.max) throw new UsageError(`--min ${flags.min} is greater than --max ${flags.max}`);
      await runtime.withTemporal(command, (ctx) =>
        autoscaling(ctx, { selection, bounds: { min: flags.min, max: flags.max } }),
      );
    });

  program
    .command('templates')
    .description('instance templates')
    .command('create')
    .description('create every instance template of a version (existing identical ones count as done)')
    .requiredOption('--version <version>', 'template version, e.g. 56e40f6505-9lp')
    .option('--runner-version <version>', "GitHub Actions runner version to bake in (default: the fleet definition's)")
    .action(async (flags: { version: string; runnerVersion?: string }, command: Command) => {
      const { createTemplates, validateTemplateOptions } = await import('../commands/templates.js');
      const options = validateTemplateOptions({
        version: flags.version,
        ...(flags.runnerVersion === undefined ? {} : { runnerVersion: flags.runnerVersion }),
      });
      await runtime.withTemporal(command, (ctx) => createTemplates(ctx, options));
    });
}

function selectionOptions(command: Command): Command {
  return command
    .addOption(new Option('--env <env>', 'environment').choices(ENVIRONMENTS).default('prod'))
    .option('--regions <selector>', 'regions: a name, a regular expression or "all"')
    .option('--groups <selector>', 'runner groups: a name, a regular expression or "all"')
    .option('--types <selector>', 'runner types: a name, a regular expression or "all"');
}

/** Fleet-wide changes must be asked for: at least one selector, `all` when every MIG is meant. */
function selectionOf(flags: SelectionFlags): MigSelection {
  if (flags.regions === undefined && flags.groups === undefined && flags.types === undefined) {
    throw new UsageError('choose MIGs with --regions, --groups or --types (use "all" to mean every MIG)');
  }
  return {
    environment: flags.env,
    regions: flags.regions ?? 'all',
    groups: flags.groups ?? 'all',
    types: flags.types ?? 'all',
  };
}
