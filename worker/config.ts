/**
 * The process configuration, read from the environment once at start-up. This module is the only place that
 * reads these variables; everything downstream receives the typed result.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** Where and how to reach Temporal: the only configuration the CLI needs. */
export interface TemporalConfig {
  readonly address: string;
  readonly namespace: string;
  readonly taskQueue: string;
  /** Temporal Cloud API key. Secret: never logged. */
  readonly apiKey?: string;
  readonly tls?: TemporalTlsFiles;
  /** Base URL of the Temporal Web UI, for links printed by the CLI. */
  readonly uiUrl: string;
}

export interface TemporalTlsFiles {
  readonly certPath?: string;
  readonly keyPath?: string;
  readonly caPath?: string;
}

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
}

export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_TASK_QUEUE = 'runner-rollout';

/** A configuration problem: the message names every offending variable and never contains a value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

// Empty strings count as unset: shells and env files often export `VAR=` to mean "no value".
const optional = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value === '' ? undefined : value));

const hostPort = /^[^\s:/]+:\d{1,5}$/;

const temporalSchema = z.object({
  TEMPORAL_ADDRESS: optional.pipe(
    z.string().regex(hostPort, 'must be host:port, e.g. 127.0.0.1:7233').default(DEFAULT_TEMPORAL_ADDRESS),
  ),
  TEMPORAL_NAMESPACE: optional.pipe(z.string().default('default')),
  TEMPORAL_API_KEY: optional,
  TEMPORAL_TLS_CERT: optional,
  TEMPORAL_TLS_KEY: optional,
  TEMPORAL_TLS_CA: optional,
  TEMPORAL_UI_URL: optional.pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional()),
  ROLLOUT_TASK_QUEUE: optional.pipe(z.string().default(DEFAULT_TASK_QUEUE)),
});

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
});

/** Reads the Temporal connection settings (address, namespace, credentials, task queue). */
export function loadTemporalConfig(env: Env = process.env): TemporalConfig {
  const vars = parse(temporalSchema, env);
  const tls = definedFields({
    certPath: vars.TEMPORAL_TLS_CERT,
    keyPath: vars.TEMPORAL_TLS_KEY,
    caPath: vars.TEMPORAL_TLS_CA,
  });
  if ((tls.certPath === undefined) !== (tls.keyPath === undefined)) {
    throw new ConfigError('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together (mTLS needs both)');
  }
  return {
    address: vars.TEMPORAL_ADDRESS,
    namespace: vars.TEMPORAL_NAMESPACE,
    taskQueue: vars.ROLLOUT_TASK_QUEUE,
    uiUrl: vars.TEMPORAL_UI_URL ?? defaultUiUrl(vars.TEMPORAL_ADDRESS, vars.TEMPORAL_API_KEY !== undefined),
    ...(vars.TEMPORAL_API_KEY === undefined ? {} : { apiKey: vars.TEMPORAL_API_KEY }),
    ...(Object.keys(tls).length === 0 ? {} : { tls }),
  };
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
    vars = parse(workerSchema, env);
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

/**
 * Local dev servers serve the UI on port+1000 (the Temporal CLI default); Temporal Cloud serves one UI for
 * every namespace.
 */
function defaultUiUrl(address: string, cloud: boolean): string {
  const [host = '127.0.0.1', port = '7233'] = address.split(':');
  if (cloud || host.endsWith('.tmprl.cloud')) return 'https://cloud.temporal.io';
  return `http://${host}:${Number(port) + 1000}`;
}

function parse<S extends z.ZodType>(schema: S, env: Env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  // Issues name the variable and the rule, never the value: a malformed value may be a pasted secret.
  throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
}

/** Drops undefined fields, because optional properties are exact in this project. */
function definedFields<T extends Record<string, string | undefined>>(fields: T): { [K in keyof T]?: string } {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: string;
  };
}
