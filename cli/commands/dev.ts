import { once } from 'node:events';
import type { Output } from '../output.js';
import { startStack } from '../stack.js';

export interface DevOptions {
  readonly stateDir: string;
  /** Starts Temporal's history and the simulator's world over. */
  readonly fresh: boolean;
  readonly port: number;
  readonly simPort: number;
  readonly speed: number;
  readonly taskQueue: string;
  /** Runs the webhook receiver of the simulator's job events, so the pool controllers hear of jobs. */
  readonly webhooks: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Everything stops when this aborts (Ctrl-C). */
  readonly signal: AbortSignal;
}

/** Runs Temporal, the simulator, a worker and the webhook receiver until Ctrl-C; history and the fleet survive restarts in the state dir. */
export async function dev(output: Output, options: DevOptions): Promise<void> {
  const stack = await startStack(output, options);
  try {
    const stopped = options.signal.aborted ? Promise.resolve() : once(options.signal, 'abort');
    await Promise.race([stopped, stack.worker]);
  } finally {
    output.event('stopping', {}, 'stopping…');
    await stack.stop();
  }
}
