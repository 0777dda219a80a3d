import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { ConfigError } from './env.js';
import type { TemporalConfig } from './temporal.js';

/** Options shared by the client `Connection` (CLI) and the worker's `NativeConnection`. */
export interface TemporalConnectionOptions {
  readonly address: string;
  readonly tls?: TLSConfig | boolean;
  readonly apiKey?: string;
}

/** Reads the TLS files named by the configuration; an API key alone implies TLS (Temporal Cloud). */
export function temporalConnectionOptions(config: TemporalConfig): TemporalConnectionOptions {
  const { certPath, keyPath, caPath } = config.tls ?? {};
  let tls: TLSConfig | boolean | undefined;
  if (certPath !== undefined && keyPath !== undefined) {
    tls = {
      clientCertPair: { crt: readPem('TEMPORAL_TLS_CERT', certPath), key: readPem('TEMPORAL_TLS_KEY', keyPath) },
    };
  }
  if (caPath !== undefined)
    tls = { ...(typeof tls === 'object' ? tls : {}), serverRootCACertificate: readPem('TEMPORAL_TLS_CA', caPath) };
  if (tls === undefined && config.apiKey !== undefined) tls = true;
  return {
    address: config.address,
    ...(tls === undefined ? {} : { tls }),
    ...(config.apiKey === undefined ? {} : { apiKey: config.apiKey }),
  };
}

function readPem(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(`${variable}: cannot read ${path}`, { cause: error });
  }
}
