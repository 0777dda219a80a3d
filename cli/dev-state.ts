/**
 * The state directory of `rollout dev`: Temporal's database and the simulator's snapshot side by side, so a
 * restart continues both, and a lock file naming the process that uses them, so a second `rollout dev` on the
 * same directory stops before it changes anything.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { InUseError } from './errors.js';

export interface StatePaths {
  readonly temporalDb: string;
  readonly simulatorSnapshot: string;
  readonly lock: string;
}

export function statePaths(stateDir: string): StatePaths {
  const dir = resolve(stateDir);
  return {
    temporalDb: join(dir, 'temporal.db'),
    simulatorSnapshot: join(dir, 'simulator.json'),
    lock: join(dir, 'rollout-dev.lock'),
  };
}

/**
 * Takes the state directory for this process; returns what gives it back. A lock left by a process that no
 * longer runs (killed, the machine restarted) is taken over.
 */
export function lockStateDir(stateDir: string): () => void {
  mkdirSync(stateDir, { recursive: true });
  const { lock } = statePaths(stateDir);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const owner = lockOwner(lock);
      if (owner !== undefined && running(owner)) {
        throw new InUseError(
          `the state directory ${stateDir} is in use by another rollout dev (pid ${owner}); stop it or choose another --state-dir`,
        );
      }
      rmSync(lock, { force: true });
    }
  }
  return () => {
    if (lockOwner(lock) === process.pid) rmSync(lock, { force: true });
  };
}

/** `--fresh`: both halves of the world start over together, or a restart would pair a new one with an old one. */
export function clearState(stateDir: string): void {
  const { temporalDb, simulatorSnapshot } = statePaths(stateDir);
  for (const file of [temporalDb, `${temporalDb}-wal`, `${temporalDb}-shm`, simulatorSnapshot]) {
    rmSync(file, { force: true });
  }
}

/** Refuses a port something already listens on, before anything is started. */
export async function assertPortFree(port: number, what: string, flag: string): Promise<void> {
  const server = createServer();
  server.listen(port, '127.0.0.1');
  try {
    await once(server, 'listening');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new InUseError(
      `port ${port} (${what}) is in use, perhaps by another rollout dev; choose another with ${flag}`,
    );
  }
  server.close();
  await once(server, 'close');
}

function lockOwner(lock: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lock, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
