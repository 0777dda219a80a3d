/** `start`, `status` and `list`: starting a rollout and seeing where rollouts stand. */
import { Option, type Command } from 'commander';
import { ENVIRONMENTS, type Environment } from '../../runner-config/types.js';
import { concurrency, MAX_CONCURRENCY, positiveInteger } from './flag-parsers.js';
import { identity } from './identity.js';
import type { CommandRuntime } from './runtime.js';

interface StartFlags {
  version: string;
  env?: Environment;
  regions: string;
  groups: string;
  types: string;
  soak?: string;
  healthCheckInterval?: string;
  unhealthyChecks?: number;
  convergeInterval?: string;
  runnersReadyTimeout?: string;
  maxConcurrency?: number;
  autoApprove?: boolean;
  plan?: boolean;
  allowTestingVersion?: boolean;
  identity?: string;
}

export function rolloutCommands(program: Command, runtime: CommandRuntime): void {
  program
    .command('start')
    .description('start a rollout of a template version (attaches to it if it is already running)')
    .requiredOption('--version <version>', 'template version, e.g. 56e40f6505-9lp')
    .addOption(new Option('--env <env>', 'only this environment (default: testing, then prod)').choices(ENVIRONMENTS))
    .option('--regions <selector>', 'regions: a name, a regular expression or "all"', 'all')
    .option('--groups <selector>', 'runner groups: a name, a regular expression or "all"', 'all')
    .option('--types <selector>', 'runner types: a name, a regular expression or "all"', 'all')
    .option(
      '--soak <duration>',
      'canary soak with a unit, e.g. "3d" or "36h", at least a second (default: the fleet definition\'s)',
    )
    .option(
      '--health-check-interval <duration>',
      'how often canary health is checked during the soak, e.g. "30m" (default: the worker\'s)',
    )
    .option(
      '--unhealthy-checks <n>',
      "failed health checks of one MIG in a row that roll the canaries back (default: the worker's)",
      positiveInteger,
    )
    .option(
      '--converge-interval <duration>',
      "how often convergence is checked and idle old runners drained after promotion (default: the worker's)",
    )
    .option(
      '--runners-ready-timeout <duration>',
      "how long new runners get to come online after an update (default: the worker's)",
    )
    .option(
      '--max-concurrency <n>',
      `MIGs changed or checked at once, at most ${MAX_CONCURRENCY}; each takes one of the workers' activity slots (default: the worker's; 100 suits a fleet of 1,000 MIGs)`,
      concurrency,
    )
    .option('--auto-approve', 'approve every gate without a person')
    .option('--plan', 'print the plan and preflight result; start nothing')
    .option('--allow-testing-version', 'permit a -testing version in prod')
    .option('--identity <name>', 'who starts the rollout (default: the local user)')
    .action(async (flags: StartFlags, command: Command) => {
      const { start, validateStartOptions } = await import('../commands/start.js');
      const options = validateStartOptions({
        version: flags.version,
        ...(flags.env === undefined ? {} : { environment: flags.env }),
        regions: flags.regions,
        groups: flags.groups,
        types: flags.types,
        ...(flags.soak === undefined ? {} : { soak: flags.soak }),
        timing: definedOnly({
          healthCheckInterval: flags.healthCheckInterval,
          unhealthyChecksToRollBack: flags.unhealthyChecks,
          convergeInterval: flags.convergeInterval,
          runnersReadyTimeout: flags.runnersReadyTimeout,
          maxConcurrency: flags.maxConcurrency,
        }),
        autoApprove: flags.autoApprove === true,
        planOnly: flags.plan === true,
        allowTestingVersion: flags.allowTestingVersion === true,
        identity: await identity(flags.identity),
      });
      await runtime.withTemporal(command, (ctx) => start(ctx, options));
    });

  program
    .command('status')
    .description('show stage, gate and per-MIG progress of a rollout (all running rollouts without an id)')
    .argument('[id]', 'rollout workflow id')
    .option('--watch', 'keep refreshing until the rollout finishes')
    .action(async (id: string | undefined, flags: { watch?: boolean }, command: Command) => {
      const { status } = await import('../commands/status.js');
      await runtime.withTemporal(command, (ctx) =>
        status(ctx, { ...(id === undefined ? {} : { id }), watch: flags.watch === true }),
      );
    });

  program
    .command('list')
    .description('list rollouts (running ones first)')
    .option('--limit <n>', 'at most this many', positiveInteger, 20)
    .option('--running', 'only rollouts that are still running')
    .action(async (flags: { limit: number; running?: boolean }, command: Command) => {
      const { list } = await import('../commands/list.js');
      await runtime.withTemporal(command, (ctx) =>
        list(ctx, { limit: flags.limit, runningOnly: flags.running === true }),
      );
    });
}

/** The given fields only: optional properties are exact in this project. */
function definedOnly<T extends object>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
