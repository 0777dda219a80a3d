/**
 * The CLI's error boundary: every failure becomes one line on stderr (then one per problem, when it lists
 * several) and an exit code.
 */
import { CommanderError } from 'commander';
import { EXIT_CODES, toCliError } from './errors.js';
import { createOutput } from './output.js';
import { buildProgram } from './program.js';
import type { CliEnvironment } from './program/runtime.js';

/** Runs the CLI over `argv` (without the node and script paths) and returns the exit code. */
export async function runCli(argv: readonly string[], cli: CliEnvironment): Promise<number> {
  try {
    await buildProgram(cli).parseAsync([...argv], { from: 'user' });
    return EXIT_CODES.ok;
  } catch (error) {
    // `--help` and `--version` end parsing through an exception too, with exit code 0.
    if (error instanceof CommanderError && error.exitCode === 0) return EXIT_CODES.ok;
    const failure = toCliError(error);
    createOutput({ stdout: cli.stdout, stderr: cli.stderr }).error(failure.message, failure.details);
    if (cli.env['ROLLOUT_DEBUG'] !== undefined && failure.cause instanceof Error) {
      cli.stderr.write(`${failure.cause.stack ?? ''}\n`);
    }
    return failure.exitCode;
  }
}
