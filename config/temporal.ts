/**
 * Where and how to reach Temporal, read from the environment: the settings the CLI and the worker share. This
 * module is the only place that reads these variables; everything downstream receives the typed result.
 */
import { z } from 'zod';
import { ConfigError, definedFields, hostPort, optional, parseEnv, type Env } from './env.js';

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

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_TASK_QUEUE = 'runner-rollout';

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

/** Reads the Temporal connection settings (address, namespace, credentials, task queue). */
export function loadTemporalConfig(env: Env = process.env): TemporalConfig {
  const vars = parseEnv(temporalSchema, env);
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

/**
 * Local dev servers serve the UI on port+1000 (the Temporal CLI default); Temporal Cloud serves one UI for
 * every namespace.
 */
function defaultUiUrl(address: string, cloud: boolean): string {
  const [host = '127.0.0.1', port = '7233'] = address.split(':');
  if (cloud || host.endsWith('.tmprl.cloud')) return 'https://cloud.temporal.io';
  return `http://${host}:${Number(port) + 1000}`;
}
