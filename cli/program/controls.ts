/** `approve`, `pause`, `resume`, `abort` and `rollback`: an operator's controls of a running rollout. */
import { Option, type Command } from 'commander';
import { identity } from './identity.js';
import type { CommandRuntime } from './runtime.js';

interface ControlFlags {
  reason?: string;
  identity?: string;
}

export function controlCommands(program: Command, runtime: CommandRuntime): void {
  program
    .command('approve')
    .description('approve the gate a rollout waits at')
    .argument('<id>', 'rollout workflow id')
    .addOption(
      new Option('--stage <stage>', 'the gate to approve (default: the one pending)').choices(['test', 'promote']),
    )
    .option('--reason <text>', 'why (recorded in the rollout)')
    .option('--identity <name>', 'who approves (default: the local user)')
    .action(async (id: string, flags: ControlFlags & { stage?: 'test' | 'promote' }, command: Command) => {
      const { control } = await import('../commands/control.js');
      const request = { id, identity: await identity(flags.identity), ...reasonOf(flags) };
      await runtime.withTemporal(command, (ctx) =>
        control(ctx, { action: 'approve', ...request, ...(flags.stage === undefined ? {} : { stage: flags.stage }) }),
      );
    });

  for (const [action, description] of [
    ['pause', 'pause a rollout before its next step (in-flight MIG operations finish)'],
    ['resume', 'resume a paused rollout'],
    ['abort', 'stop a rollout and roll back whatever is not yet promoted'],
    ['rollback', 'roll canaries and updated MIGs back to the previous template'],
  ] as const) {
    program
      .command(action)
      .description(description)
      .argument('<id>', 'rollout workflow id')
      .option('--reason <text>', 'why (recorded in the rollout)')
      .option('--identity <name>', 'who asks (default: the local user)')
      .action(async (id: string, flags: ControlFlags, command: Command) => {
        const { control } = await import('../commands/control.js');
        const request = { id, identity: await identity(flags.identity), ...reasonOf(flags) };
        await runtime.withTemporal(command, (ctx) => control(ctx, { action, ...request }));
      });
  }
}

function reasonOf(flags: ControlFlags): { reason?: string } {
  return flags.reason === undefined ? {} : { reason: flags.reason };
}
