/**
 * The `rollout` program: the global flags and output, and every command, declared by job in cli/program/.
 * Declarations normalise flags into a typed options object and lazy-import the command module (cli/commands/),
 * so `rollout --help` and local commands never load what other commands need.
 */
import { Command } from 'commander';
import { checkRunnerVersionCommand, checkWorkflowsCommand, scheduleCommands } from './program/checks.js';
import { controlCommands } from './program/controls.js';
import { fleetCommands } from './program/fleet-operations.js';
import { localCommands } from './program/local.js';
import { poolCommands } from './program/pools.js';
import { rolloutCommands } from './program/rollouts.js';
import { commandRuntime, type CliEnvironment, type CommandRuntime } from './program/runtime.js';

/** In the order `rollout --help` lists them. */
const DECLARATIONS: readonly ((program: Command, runtime: CommandRuntime) => void)[] = [
  rolloutCommands,
  controlCommands,
  fleetCommands,
  poolCommands,
  localCommands,
  checkRunnerVersionCommand,
  checkWorkflowsCommand,
  scheduleCommands,
];

export function buildProgram(cli: CliEnvironment): Command {
  const program = new Command('rollout')
    .description('Durable, human-gated rollouts of self-hosted GitHub Actions runner fleets, on Temporal')
    .option('--json', 'print machine-readable JSON instead of text')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => cli.stdout.write(text),
      // Usage errors are printed once, by the error boundary in run.ts.
      writeErr: () => undefined,
      outputError: () => undefined,
    })
    .showSuggestionAfterError(true)
    .helpCommand(true);
  const runtime = commandRuntime(cli);
  for (const declare of DECLARATIONS) declare(program, runtime);
  return program;
}
