import { runCli } from '../../cli/run.js';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process with captured output, as a script would see it (stdout not a terminal). */
export async function runRollout(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  signal: AbortSignal = new AbortController().signal,
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    env,
    signal,
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, stdout, stderr };
}
