/** The `rollout` process: wires signals and the real streams to the CLI. */
import { runCli } from './run.js';

const controller = new AbortController();
// The first Ctrl-C asks commands to stop cleanly; a second one exits at once.
const onSignal = (): void => {
  if (controller.signal.aborted) process.exit(130);
  controller.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
});
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
