/**
 * Temporal's time-skipping test server, which only tests and benchmarks run: TEMPORAL_TEST_SERVER_PATH, else the
 * binary scripts/temporal-servers provisioned.
 */
import { accessSync, constants } from 'node:fs';
import { readServersManifest } from '../cli/temporal-binary.js';

const VARIABLE = 'TEMPORAL_TEST_SERVER_PATH';

export function resolveTestServer(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const explicit = env[VARIABLE];
  const path = explicit !== undefined && explicit !== '' ? explicit : readServersManifest(env)[VARIABLE];
  if (path === undefined) {
    throw new Error(
      `the Temporal test server is not provisioned (${VARIABLE}): run \`bash scripts/temporal-servers\` first`,
    );
  }
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`${VARIABLE}=${path} is not an executable file: run \`bash scripts/temporal-servers\``);
  }
  return path;
}
