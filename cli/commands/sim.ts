import { once } from 'node:events';
import { startSimulator, type BehaviourOverrides, type ProfileName } from '../../simulator/index.js';
import { UsageError } from '../errors.js';
import { fleetOfFlag } from '../fleet-flag.js';
import type { Output } from '../output.js';

export interface SimOptions {
  readonly port: number;
  readonly host?: string;
  readonly fleetFile?: string;
  readonly speed: number;
  readonly seed?: number;
  readonly profile: ProfileName;
  readonly behaviours: BehaviourOverrides;
  /** The simulator runs until this aborts. */
  readonly signal: AbortSignal;
  /** Called with the URL once it listens (tests use it instead of parsing output). */
  readonly onListening?: (url: string) => void;
}

/** Serves the simulated GCP Compute and GitHub APIs until the signal aborts. */
export async function sim(output: Output, options: SimOptions): Promise<{ url: string }> {
  const fleet = await fleetOfFlag(options.fleetFile);
  const simulator = await startSimulator({
    port: options.port,
    ...(options.host === undefined ? {} : { host: options.host }),
    fleet,
    speed: options.speed,
    profile: options.profile,
    behaviours: options.behaviours,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
  }).catch((error: unknown) => {
    const code = (error as { code?: unknown }).code;
    if (code === 'EADDRINUSE') throw new UsageError(`port ${options.port} is already in use`);
    throw error;
  });
  try {
    output.event('listening', { url: simulator.url }, `listening on ${simulator.url}`);
    options.onListening?.(simulator.url);
    if (!options.signal.aborted) await once(options.signal, 'abort');
    return { url: simulator.url };
  } finally {
    await simulator.close();
  }
}
