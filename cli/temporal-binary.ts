import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { UsageError } from './errors.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Where scripts/temporal-servers records the binaries it provisioned. */
export function serversManifestPath(env: Env = process.env): string {
  const cacheDir =
    env['ROLLOUT_CACHE_DIR'] ??
    join(env['XDG_CACHE_HOME'] ?? join(env['HOME'] ?? homedir(), '.cache'), 'runner-rollout');
  return join(cacheDir, 'servers.env');
}

/**
 * The Temporal CLI binary (dev server + Web UI): TEMPORAL_CLI_PATH, then `temporal` on PATH, then the one
 * scripts/temporal-servers provisioned.
 */
export function resolveTemporalCli(env: Env = process.env): string {
  const explicit = env['TEMPORAL_CLI_PATH'];
  if (explicit !== undefined && explicit !== '') {
    if (!isExecutable(explicit)) throw new UsageError(`TEMPORAL_CLI_PATH=${explicit} is not an executable file`);
    return explicit;
  }
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, 'temporal');
    if (dir !== '' && isExecutable(candidate)) return candidate;
  }
  const manifest = readServersManifest(env);
  const provisioned = manifest['TEMPORAL_CLI_PATH'];
  if (provisioned !== undefined && isExecutable(provisioned)) return provisioned;
  throw new UsageError(
    'the Temporal CLI was not found (TEMPORAL_CLI_PATH, PATH, or the cache): run `bash scripts/temporal-servers` first',
  );
}

/** What scripts/temporal-servers provisioned, by variable name (empty when it has not run). */
export function readServersManifest(env: Env = process.env): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(serversManifestPath(env), 'utf8');
  } catch {
    return {};
  }
  const entries: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) entries[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return entries;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
