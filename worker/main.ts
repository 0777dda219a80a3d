/**
 * The composition root: the one place that connects to Temporal, builds the GCP and GitHub clients from the
 * configuration and hands them to the activity factory. Run directly (`tsx worker/main.ts`) or through
 * `rollout worker`.
 */
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogEntry } from '@temporalio/worker';
import { createActivities, type ActivityTiming } from '../activities/index.js';
import { defaultFleet, loadFleetFile } from '../runner-config/default-fleet.js';
import type { FleetDefinition } from '../runner-config/types.js';
import { createComputeClients, createGitHubClient } from './clients.js';
import { ConfigError, describeWorkerConfig, loadWorkerConfig, type WorkerConfig } from './config.js';
import { temporalConnectionOptions } from './temporal-connection.js';

/**
 * Workflows are bundled from source at start-up. The bundle entry has this module's extension: `.ts` when run
 * through tsx from a clone, `.js` from a build.
 */
export const WORKFLOWS_PATH = fileURLToPath(new URL(`../workflows/index${extname(import.meta.url)}`, import.meta.url));

/**
 * How long in-flight activities get to finish after a shutdown request before they are cancelled. Every
 * activity is idempotent, so one cut short is simply retried by the next worker; 30 s lets the common short
 * API calls complete instead.
 */
const SHUTDOWN_GRACE_TIME = '30 seconds';

export interface RunWorkerOptions {
  /** Called once the worker polls its task queue. */
  readonly onReady?: () => void;
  /** Aborting shuts the worker down gracefully; `runWorker` resolves when it has stopped. */
  readonly signal?: AbortSignal;
  /** The fleet definition; by default read from `config.fleetFile` or the built-in default fleet. */
  readonly fleet?: FleetDefinition;
  /** Faster polling for demos and tests against the simulator. */
  readonly activityTiming?: Partial<ActivityTiming>;
}

/** Runs a worker until `options.signal` aborts (or the worker fails). */
export async function runWorker(config: WorkerConfig, options: RunWorkerOptions = {}): Promise<void> {
  const fleet = withOverrides(options.fleet ?? (await loadWorkerFleet(config)), config);
  const activities = createActivities({
    fleet,
    compute: createComputeClients(config.gcp),
    github: createGitHubClient({
      ...config.github,
      log: {
        warn: (message) => {
          Runtime.instance().logger.warn(message);
        },
      },
    }),
    ...(options.activityTiming === undefined ? {} : { timing: options.activityTiming }),
  });
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      activities,
      shutdownGraceTime: SHUTDOWN_GRACE_TIME,
    });
    const stop = (): void => worker.shutdown();
    if (options.signal?.aborted === true) return;
    options.signal?.addEventListener('abort', stop, { once: true });
    try {
      const running = worker.run();
      Runtime.instance().logger.info('worker ready', describeWorkerConfig(config));
      options.onReady?.();
      await running;
    } finally {
      options.signal?.removeEventListener('abort', stop);
    }
  } finally {
    await connection.close();
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

/** GCP_PROJECT and GITHUB_ORG retarget a fleet definition without editing it (e.g. a staging project). */
function withOverrides(fleet: FleetDefinition, config: WorkerConfig): FleetDefinition {
  return {
    ...fleet,
    project: config.gcp.project ?? fleet.project,
    github: { ...fleet.github, org: config.github.org ?? fleet.github.org },
  };
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
