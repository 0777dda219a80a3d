import { loadWorkerConfig } from '../../worker/config.js';
import { installWorkerRuntime, loadWorkerFleet, runWorker } from '../../worker/main.js';

export interface WorkerOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborting shuts the worker down gracefully (in-flight activities get the grace time). */
  readonly signal: AbortSignal;
}

/** Runs a worker in this process until the signal aborts. Logs are JSON lines on stderr. */
export async function worker(options: WorkerOptions): Promise<void> {
  const config = loadWorkerConfig(options.env);
  // Read before the runtime is installed: a runtime with no worker to run would keep the process alive.
  const fleet = await loadWorkerFleet(config);
  installWorkerRuntime(config);
  await runWorker(config, { fleet, signal: options.signal });
}
