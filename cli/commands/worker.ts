import { loadWorkerConfig } from '../../worker/config.js';
import { installWorkerRuntime, runWorker } from '../../worker/main.js';

export interface WorkerOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborting shuts the worker down gracefully (in-flight activities get the grace time). */
  readonly signal: AbortSignal;
}

/** Runs a worker in this process until the signal aborts. Logs are JSON lines on stderr. */
export async function worker(options: WorkerOptions): Promise<void> {
  const config = loadWorkerConfig(options.env);
  installWorkerRuntime(config);
  await runWorker(config, { signal: options.signal });
}
