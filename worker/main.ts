/**
 * The worker's process: runs the worker composed in compose.ts until told to stop, with the process-wide
 * Temporal runtime (JSON log lines) and signal handling. Run directly (`tsx worker/main.ts`) or through
 * `rollout worker`.
 */
import { pathToFileURL } from 'node:url';
import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import { ConfigError } from '../config/env.js';
import { defaultFleet, loadFleetFile } from '../runner-config/default-fleet.js';
import type { FleetDefinition } from '../runner-config/types.js';
import { composeWorker, type WorkerComposition } from './compose.js';
import { describeWorkerConfig, loadWorkerConfig, type WorkerConfig } from './config.js';

export interface RunWorkerOptions extends Partial<WorkerComposition> {
  /** Called once the worker polls its task queue. */
  readonly onReady?: () => void;
  /** Aborting shuts the worker down gracefully; `runWorker` resolves when it has stopped. */
  readonly signal?: AbortSignal;
}

/**
 * Runs a worker until `options.signal` aborts (or the worker fails). The fleet is read from `config.fleetFile`
 * or is the built-in default fleet unless `options.fleet` gives one.
 */
export async function runWorker(config: WorkerConfig, options: RunWorkerOptions = {}): Promise<void> {
  const { onReady, signal, ...composition } = options;
  const fleet = composition.fleet ?? (await loadWorkerFleet(config));
  const { worker, close } = await composeWorker(config, { ...composition, fleet });
  try {
    const stop = (): void => worker.shutdown();
    if (signal?.aborted === true) return;
    signal?.addEventListener('abort', stop, { once: true });
    try {
      const running = worker.run();
      Runtime.instance().logger.info('worker ready', describeWorkerConfig(config));
      onReady?.();
      await running;
    } finally {
      signal?.removeEventListener('abort', stop);
    }
  } finally {
    await close();
  }
}

/**
 * Installs the process-wide Temporal runtime: JSON log lines on stderr, and the Prometheus endpoint when
 * configured. Must run before anything creates a connection or worker.
 */
export function installWorkerRuntime(config: Pick<WorkerConfig, 'logLevel' | 'metricsAddress'>): void {
  Runtime.install({
    logger: new DefaultLogger(config.logLevel, writeJsonLogLine),
    telemetryOptions: {
      logging: { forward: {}, filter: { core: 'WARN', other: 'ERROR' } },
      ...(config.metricsAddress === undefined
        ? {}
        : { metrics: { prometheus: { bindAddress: config.metricsAddress } } }),
    },
    // Signals are handled by the caller, which owns the other things to stop (dev server, simulator).
    shutdownSignals: [],
  });
}

/** Stops the worker on SIGINT/SIGTERM: in-flight activities get the grace time, then the process exits. */
export function shutdownOnSignals(controller: AbortController): () => void {
  const stop = (signal: NodeJS.Signals): void => {
    Runtime.instance().logger.info('shutting down', { signal });
    controller.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
}

/** The fleet file named by ROLLOUT_FLEET_FILE, or the built-in default fleet. */
export async function loadWorkerFleet(config: WorkerConfig): Promise<FleetDefinition> {
  if (config.fleetFile === undefined) return defaultFleet();
  try {
    return await loadFleetFile(config.fleetFile);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') {
      throw new ConfigError(`ROLLOUT_FLEET_FILE: no such file ${config.fleetFile}`);
    }
    throw error;
  }
}

function writeJsonLogLine(entry: LogEntry): void {
  const line = {
    time: new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString(),
    level: entry.level,
    message: entry.message,
    ...entry.meta,
  };
  process.stderr.write(`${JSON.stringify(line, (_key, value: unknown) => serializable(value))}\n`);
}

function serializable(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const config = loadWorkerConfig();
  const fleet = await loadWorkerFleet(config);
  installWorkerRuntime(config);
  const controller = new AbortController();
  shutdownOnSignals(controller);
  await runWorker(config, { fleet, signal: controller.signal });
}
