/**
 * The worker's configuration, read from the environment once at start-up: the Temporal settings it shares with
 * the CLI (config/temporal.ts) and the cloud targets only workers hold credentials for. This module is the only
 * place that reads the worker's own variables; everything downstream receives the typed result.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, definedFields, hostPort, optional, parseEnv, type Env } from '../config/env.js';
import { loadTemporalConfig, type TemporalConfig } from '../config/temporal.js';

export interface GitHubAppCredentials {
  readonly appId: string;
  /** PEM private key. Secret: never logged. */
  readonly privateKey: string;
  readonly installationId: string;
}

/** Everything a worker needs: Temporal plus the cloud targets only workers hold credentials for. */
export interface WorkerConfig {
  readonly temporal: TemporalConfig;
  /** Field names match `createComputeClients` options. */
  readonly gcp: { readonly project?: string; readonly apiEndpoint?: string };
  /** Field names match `createGitHubClient` options. */
  readonly github: {
    readonly org?: string;
    readonly baseUrl?: string;
    /** Secret: never logged. */
    readonly token?: string;
    readonly app?: GitHubAppCredentials;
  };
  readonly fleetFile?: string;
  /** `host:port` for the Prometheus scrape endpoint; metrics are off when absent. */
  readonly metricsAddress?: string;
  readonly logLevel: LogLevelName;
  /** Task slots: how many activities and workflow tasks the worker runs at once. */
  readonly slots: WorkerSlots;
}

export interface WorkerSlots {
  /** Each lane of a rollout (`timing.maxConcurrency`) holds one while it runs a per-MIG command. */
  readonly activities: number;
  readonly workflowTasks: number;
}

/**
 * The Temporal TypeScript SDK's own defaults (`maxConcurrentActivityTaskExecutions`,
 * `maxConcurrentWorkflowTaskExecutions`), so a worker without the variables behaves as it always has.
 */
export const DEFAULT_WORKER_SLOTS: WorkerSlots = { activities: 100, workflowTasks: 40 };

/**
 * The worker polls workflow tasks on its sticky and its normal queue with at most as many pollers as it has
 * slots, and needs one poller for each.
 */
const MIN_WORKFLOW_TASK_SLOTS = 2;

export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

const workerSchema = z.object({
  GCP_PROJECT: optional,
  COMPUTE_API_ENDPOINT: optional.pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional()),
  GITHUB_ORG: optional,
  GITHUB_API_URL: optional.pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional()),
  GITHUB_APP_ID: optional.pipe(z.string().regex(/^\d+$/, 'must be a number').optional()),
  GITHUB_APP_PRIVATE_KEY: optional,
  GITHUB_APP_PRIVATE_KEY_FILE: optional,
  GITHUB_APP_INSTALLATION_ID: optional.pipe(z.string().regex(/^\d+$/, 'must be a number').optional()),
  GITHUB_TOKEN: optional,
  ROLLOUT_FLEET_FILE: optional,
  ROLLOUT_METRICS_ADDRESS: optional.pipe(z.string().regex(hostPort, 'must be host:port, e.g. 0.0.0.0:9464').optional()),
  ROLLOUT_LOG_LEVEL: optional.pipe(
    z
      .string()
      .transform((level) => level.toUpperCase())
      .pipe(z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }))
      .default('INFO'),
  ),
  ROLLOUT_ACTIVITY_SLOTS: optional.pipe(slotCount(1).default(DEFAULT_WORKER_SLOTS.activities)),
  ROLLOUT_WORKFLOW_TASK_SLOTS: optional.pipe(
    slotCount(MIN_WORKFLOW_TASK_SLOTS).default(DEFAULT_WORKER_SLOTS.workflowTasks),
  ),
});

function slotCount(minimum: number) {
  return z
    .string()
    .regex(/^\d+$/, `must be a whole number, at least ${minimum}`)
    .transform(Number)
    .pipe(z.number().min(minimum, `must be at least ${minimum}`))
    .optional();
}

/** Reads the whole worker configuration. Problems in several variables are reported together. */
export function loadWorkerConfig(env: Env = process.env): WorkerConfig {
  const problems: string[] = [];
  let temporal: TemporalConfig | undefined;
  try {
    temporal = loadTemporalConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(error.message);
  }
  let vars: z.infer<typeof workerSchema> | undefined;
  try {
    vars = parseEnv(workerSchema, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(error.message);
  }
  if (temporal === undefined || vars === undefined) throw new ConfigError(problems.join('; '));

  const app = gitHubApp(vars);
  if (app === undefined && vars.GITHUB_TOKEN === undefined) {
    throw new ConfigError(
      'GitHub credentials missing: set GITHUB_TOKEN, or GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID and GITHUB_APP_PRIVATE_KEY[_FILE]',
    );
  }
  return {
    temporal,
    gcp: definedFields({ project: vars.GCP_PROJECT, apiEndpoint: vars.COMPUTE_API_ENDPOINT }),
    github: {
      ...definedFields({ org: vars.GITHUB_ORG, baseUrl: vars.GITHUB_API_URL, token: vars.GITHUB_TOKEN }),
      ...(app === undefined ? {} : { app }),
    },
    logLevel: vars.ROLLOUT_LOG_LEVEL,
    slots: { activities: vars.ROLLOUT_ACTIVITY_SLOTS, workflowTasks: vars.ROLLOUT_WORKFLOW_TASK_SLOTS },
    ...definedFields({ fleetFile: vars.ROLLOUT_FLEET_FILE, metricsAddress: vars.ROLLOUT_METRICS_ADDRESS }),
  };
}

/** The configuration with every secret replaced by `(set)`, for start-up logs. */
export function describeWorkerConfig(config: WorkerConfig): Record<string, unknown> {
  return {
    temporalAddress: config.temporal.address,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    temporalAuth: config.temporal.apiKey !== undefined ? 'api-key' : config.temporal.tls?.certPath ? 'mtls' : 'none',
    gcpProject: config.gcp.project ?? '(default credentials)',
    computeApiEndpoint: config.gcp.apiEndpoint ?? '(Google)',
    githubOrg: config.github.org ?? '(fleet definition)',
    githubApiUrl: config.github.baseUrl ?? '(GitHub)',
    githubAuth: config.github.app !== undefined ? 'app' : config.github.token !== undefined ? 'token' : 'none',
    fleetFile: config.fleetFile ?? '(built-in default fleet)',
    metricsAddress: config.metricsAddress ?? '(off)',
    activitySlots: config.slots.activities,
    workflowTaskSlots: config.slots.workflowTasks,
  };
}

function gitHubApp(vars: z.infer<typeof workerSchema>): GitHubAppCredentials | undefined {
  const { GITHUB_APP_ID: appId, GITHUB_APP_INSTALLATION_ID: installationId } = vars;
  if (vars.GITHUB_APP_PRIVATE_KEY !== undefined && vars.GITHUB_APP_PRIVATE_KEY_FILE !== undefined) {
    throw new ConfigError('set only one of GITHUB_APP_PRIVATE_KEY and GITHUB_APP_PRIVATE_KEY_FILE');
  }
  const keyGiven = vars.GITHUB_APP_PRIVATE_KEY !== undefined || vars.GITHUB_APP_PRIVATE_KEY_FILE !== undefined;
  if (appId === undefined && installationId === undefined && !keyGiven) return undefined;
  if (appId === undefined || installationId === undefined || !keyGiven) {
    throw new ConfigError(
      'a GitHub App needs GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID and GITHUB_APP_PRIVATE_KEY (or GITHUB_APP_PRIVATE_KEY_FILE)',
    );
  }
  return {
    appId,
    installationId,
    privateKey: vars.GITHUB_APP_PRIVATE_KEY ?? readKeyFile(vars.GITHUB_APP_PRIVATE_KEY_FILE),
  };
}

function readKeyFile(path: string | undefined): string {
  if (path === undefined) throw new ConfigError('GITHUB_APP_PRIVATE_KEY_FILE is not set');
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`GITHUB_APP_PRIVATE_KEY_FILE: cannot read ${path}`, { cause: error });
  }
}
