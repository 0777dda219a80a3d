/** `pools` and `pools set`: the job-queue pools, their controllers' figures, and their settings at run time. */
import { Option, type Command } from 'commander';
import { POOL_MODES, type PoolMode } from '../../runner-config/types.js';
import type { PoolSettingsChange } from '../../workflows/pool-contract.js';
import { workerFleet } from '../fleet-flag.js';
import { wholeNumber } from './flag-parsers.js';
import type { CommandRuntime } from './runtime.js';

interface SetFlags {
  mode?: PoolMode;
  min?: number;
  max?: number;
  reset?: boolean;
}

export function poolCommands(program: Command, runtime: CommandRuntime): void {
  const pools = program
    .command('pools')
    .description("the fleet's pools: mode, desired and current size, busy, idle, queued jobs, bounds")
    .option('--fleet <file>', 'fleet definition whose pools are listed (default: $ROLLOUT_FLEET_FILE, else built-in)')
    .action(async (flags: { fleet?: string }, command: Command) => {
      const { pools: listPools } = await import('../commands/pools.js');
      const fleet = await workerFleet(flags.fleet, runtime.env);
      await runtime.withTemporal(command, (ctx) => listPools(ctx, fleet));
    });

  pools
    .command('set')
    .description("change a pool's mode and bounds at run time (starts its controller if none runs)")
    .argument('<pool>', 'the pool, <environment>/<group>/<type>, e.g. prod/presubmit/gpu')
    .addOption(
      new Option('--mode <mode>', 'queue: the controller sizes the pool; off: the MIG autoscaler does').choices(
        POOL_MODES,
      ),
    )
    .option('--min <n>', "fewest VMs of the pool, over its regions (default: the fleet file's)", wholeNumber)
    .option('--max <n>', "most VMs of the pool, at most the fleet file's max (default: the fleet file's)", wholeNumber)
    .option('--reset', "clear what was set at run time first: the fleet file's mode and bounds apply again")
    .action(async (poolId: string, flags: SetFlags, command: Command) => {
      const { poolsSet, poolsSetOptions } = await import('../commands/pools-set.js');
      const fleetFlag = command.optsWithGlobals<{ fleet?: string }>().fleet;
      const change: PoolSettingsChange = {
        ...(flags.reset === true ? { reset: true } : {}),
        ...(flags.mode === undefined ? {} : { mode: flags.mode }),
        ...(flags.min === undefined ? {} : { min: flags.min }),
        ...(flags.max === undefined ? {} : { max: flags.max }),
      };
      const options = poolsSetOptions(await workerFleet(fleetFlag, runtime.env), poolId, change);
      await runtime.withTemporal(command, (ctx) => poolsSet(ctx, options));
    });
}
