/**
 * A multi-process Temporal cluster (scripts/temporal-cluster) for one test file, in a state directory of its own:
 * its frontend address, a client on it, and its processes by name, which a test can SIGKILL.
 *
 *     const cluster = await startTemporalCluster();
 *     ...; cluster.kill('history-1'); ...; await cluster.stop();
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';

const SCRIPT = fileURLToPath(new URL('../../scripts/temporal-cluster', import.meta.url));
const run = promisify(execFile);

export type ClusterProcess = 'frontend' | 'history-1' | 'history-2' | 'matching' | 'worker' | 'postgres';

export interface TemporalCluster {
  readonly address: string;
  readonly namespace: string;
  readonly client: Client;
  /** SIGKILL, as a machine failure would end it. */
  kill(process: ClusterProcess): void;
  stop(): Promise<void>;
}

/** Whether `bash scripts/temporal-cluster build` has put the server into the binary cache. */
export function temporalClusterBuilt(): boolean {
  const cacheDir =
    process.env['ROLLOUT_CACHE_DIR'] ??
    join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'runner-rollout');
  return ['temporal-server', 'temporal-sql-tool'].every((name) => existsSync(join(cacheDir, 'bin', `${name}.source`)));
}

export async function startTemporalCluster(): Promise<TemporalCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'rollout-cluster-'));
  const env = { ...process.env, TEMPORAL_CLUSTER_DIR: dir };
  const stop = async (): Promise<void> => {
    await run('bash', [SCRIPT, 'stop'], { env }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await run('bash', [SCRIPT, 'start'], { env });
    const settings = Object.fromEntries(
      readFileSync(join(dir, 'cluster.env'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    ) as Record<string, string | undefined>;
    const address = settings['TEMPORAL_ADDRESS'] ?? '';
    const namespace = settings['TEMPORAL_NAMESPACE'] ?? '';
    const connection = await Connection.connect({ address });
    return {
      address,
      namespace,
      client: new Client({ connection, namespace }),
      kill(name) {
        process.kill(Number(readFileSync(join(dir, 'pids', `${name}.pid`), 'utf8')), 'SIGKILL');
      },
      async stop() {
        await connection.close();
        await stop();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
