/** What every command's declaration is given: the process around the CLI and the ways a command reaches it. */
import type { Command } from 'commander';
import { loadTemporalConfig, type TemporalConfig } from '../../config/temporal.js';
import { connectClient, type CommandContext } from '../context.js';
import { createOutput, type Output, type OutputStream } from '../output.js';

/** The process around the CLI; tests pass their own streams, environment and abort signal. */
export interface CliEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** Aborted on Ctrl-C / SIGTERM. */
  readonly signal: AbortSignal;
}

export interface CommandRuntime {
  readonly env: CliEnvironment['env'];
  readonly signal: AbortSignal;
  /** Text or, with the global `--json`, JSON lines. */
  output(command: Command): Output;
  /** Runs a command that talks to Temporal; the connection is opened after the flags have been validated. */
  withTemporal(command: Command, run: (ctx: CommandContext) => Promise<unknown>): Promise<void>;
  temporalConfig(): TemporalConfig;
}

export function commandRuntime(cli: CliEnvironment): CommandRuntime {
  const output = (command: Command): Output =>
    createOutput({
      json: command.optsWithGlobals<{ json?: boolean }>().json === true,
      stdout: cli.stdout,
      stderr: cli.stderr,
    });
  return {
    env: cli.env,
    signal: cli.signal,
    output,
    async withTemporal(command, run) {
      const temporal = loadTemporalConfig(cli.env);
      const { client, close } = await connectClient(temporal);
      try {
        await run({ client, temporal, output: output(command), signal: cli.signal });
      } finally {
        await close();
      }
    },
    temporalConfig: () => loadTemporalConfig(cli.env),
  };
}
