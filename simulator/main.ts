/**
 * Runs the simulator on its own: `node --import tsx simulator/main.ts [--port N] [--host H] [--fleet FILE]
 * [--speed X] [--seed S]`. Prints `listening on http://HOST:PORT` when ready; stops on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';

import { loadFleetFile } from '../runner-config/default-fleet.js';
import { startSimulator } from './index.js';

function number(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) throw new Error(`--${flag} must be a number, got "${value}"`);
  return parsed;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      fleet: { type: 'string' },
      speed: { type: 'string' },
      seed: { type: 'string' },
    },
    strict: true,
  });
  const port = number(values.port, 'port');
  const speed = number(values.speed, 'speed');
  const seed = number(values.seed, 'seed');
  const fleet = values.fleet === undefined ? undefined : await loadFleetFile(values.fleet);
  const simulator = await startSimulator({
    ...(port === undefined ? {} : { port }),
    ...(values.host === undefined ? {} : { host: values.host }),
    ...(fleet === undefined ? {} : { fleet }),
    ...(speed === undefined ? {} : { speed }),
    ...(seed === undefined ? {} : { seed }),
  });
  process.stdout.write(`listening on ${simulator.url}\n`);
  const stop = (): void => {
    simulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`simulator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
