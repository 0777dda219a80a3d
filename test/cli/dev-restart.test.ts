/**
 * `rollout dev` keeps the whole world in its state directory: stopped and started again it shows the same fleet,
 * and a rollout it was running goes on; `--fresh` starts both over; a second `rollout dev` on the same directory
 * or port stops at once with a clear line and exit 6, leaving the first one's state alone; a snapshot it cannot
 * read stops it with exit 2 and the advice to start over.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RolloutStatus } from '../../cli/commands/status.js';
import type { FleetInventory } from '../../workflows/operations-contract.js';
import { runRollout } from './run-cli.js';
import { freePortWithUi } from '../../devstack/ports.js';

const BIN = fileURLToPath(new URL('../../bin/rollout.js', import.meta.url));
const VERSION = '1234abcdef-r5t';
const ROLLOUT = `rollout-iree-oss-${VERSION}`;
const TASK_QUEUE = 'dev-restart-test';
const stateDir = mkdtempSync(join(tmpdir(), 'rollout-dev-restart-'));
const children: ChildProcess[] = [];

after(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(stateDir, { recursive: true, force: true });
});

interface Dev {
  readonly child: ChildProcess;
  /** The lines printed up to "Worker ready" (or until the process ended). */
  readonly lines: string[];
  stderr(): string;
}

function spawnDev(args: readonly string[]): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [BIN, 'dev', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ROLLOUT_TASK_QUEUE: TASK_QUEUE },
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, stderr: () => stderr };
}

async function startDev(port: number, ...extra: string[]): Promise<Dev> {
  const { child, stderr } = spawnDev(['--state-dir', stateDir, '--port', String(port), '--speed', '30', ...extra]);
  const lines: string[] = [];
  for await (const line of createInterface({ input: child.stdout! })) {
    lines.push(line);
    if (line.startsWith('Worker ready')) break;
  }
  assert.ok(lines.at(-1)?.startsWith('Worker ready'), stderr());
  return { child, lines, stderr };
}

async function stopDev(dev: Dev): Promise<void> {
  const exited = once(dev.child, 'exit');
  dev.child.kill('SIGINT');
  const [code] = (await exited) as [number | null];
  assert.equal(code, 0, dev.stderr());
}

/** A second `rollout dev` that must give up by itself; one that keeps running fails the test. */
async function refusedDev(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  const { child, stderr } = spawnDev(args);
  const exited = once(child, 'exit') as Promise<[number | null]>;
  const outcome = await Promise.race([exited, sleep(60_000).then(() => undefined)]);
  if (outcome === undefined) {
    child.kill('SIGINT');
    await exited;
    assert.fail(`a second rollout dev kept running: ${stderr()}`);
  }
  return { code: outcome[0], stderr: stderr() };
}

function cli(port: number, ...args: string[]): ReturnType<typeof runRollout> {
  return runRollout(args, { TEMPORAL_ADDRESS: `127.0.0.1:${port}`, ROLLOUT_TASK_QUEUE: TASK_QUEUE });
}

async function migsOnVersion(port: number): Promise<string[]> {
  const fleet = await cli(port, '--json', 'fleet');
  assert.equal(fleet.code, 0, fleet.stderr);
  const inventory = JSON.parse(fleet.stdout) as FleetInventory;
  return inventory.migs
    .filter((mig) => mig.versions.some((version) => version.version === VERSION))
    .map((mig) => mig.name);
}

async function rolloutStatus(port: number): Promise<RolloutStatus> {
  const run = await cli(port, '--json', 'status', ROLLOUT);
  assert.equal(run.code, 0, run.stderr);
  const [status] = JSON.parse(run.stdout) as RolloutStatus[];
  assert.ok(status !== undefined);
  return status;
}

/** How far the rollout got: its stage, new instances and timeline grow as it goes. */
function progress(status: RolloutStatus): string {
  const state = status.state;
  assert.equal(status.execution, 'RUNNING', JSON.stringify(status.result ?? status.failure));
  assert.ok(state !== undefined);
  return `${state.stage} ${state.counts.instancesNew} ${state.timeline.length + state.timelineDropped}`;
}

async function until<T>(what: string | (() => string), look: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const found = await look();
    if (found !== undefined) return found;
    assert.ok(Date.now() < deadline, `timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(500);
  }
}

test('rollout dev: a restart continues the same fleet and rollout, --fresh starts over, one stack per dir and port', async () => {
  const port = await freePortWithUi();
  const first = await startDev(port);
  assert.match((await cli(port, 'templates', 'create', '--version', VERSION)).stdout, /: 8 created/);
  const started = await cli(
    port,
    'start',
    '--version',
    VERSION,
    '--soak',
    '10s',
    '--health-check-interval',
    '5s',
    '--converge-interval',
    '5s',
  );
  assert.equal(started.code, 0, started.stderr);
  const changed = await until('a MIG on the new version', async () => {
    const migs = await migsOnVersion(port);
    return migs.length > 0 ? migs : undefined;
  });
  const before = progress(await rolloutStatus(port));
  await stopDev(first);
  assert.ok(existsSync(join(stateDir, 'simulator.json')), 'the world kept in the state directory');

  const second = await startDev(port);
  assert.match(second.lines.join('\n'), /^Simulator: \S+ \(its world restored from .*simulator\.json\)$/m);
  assert.match((await cli(port, 'templates', 'create', '--version', VERSION)).stdout, /: 0 created, 8 already/);
  const now = await migsOnVersion(port);
  assert.deepEqual(
    changed.filter((name) => !now.includes(name)),
    [],
    'the MIGs on the new version before the restart still are',
  );
  let last = before;
  await until(
    () => `the rollout to go on after the restart (${before}, now ${last})`,
    async () => {
      const status = await rolloutStatus(port);
      assert.deepEqual(status.state?.problems ?? [], [], 'no MIG held by a rollout the fleet does not know');
      last = progress(status);
      // A gate reached before the stop waits for its approval, as it would have without the restart.
      if (status.state?.gate?.kind === 'test-approval') {
        const approval = await cli(port, 'approve', ROLLOUT, '--stage', 'test', '--reason', 'after a restart');
        assert.equal(approval.code, 0, approval.stderr);
      }
      return last !== before ? true : undefined;
    },
  );
  await stopDev(second);

  const fresh = await startDev(port, '--fresh');
  assert.match(fresh.lines.join('\n'), /^Simulator: http:\/\/\S+$/m);
  assert.deepEqual(await migsOnVersion(port), [], 'a new fleet');
  assert.equal((await cli(port, 'status', ROLLOUT)).code, 3, 'a new history');

  const lock = readFileSync(join(stateDir, 'rollout-dev.lock'), 'utf8');
  const otherDir = mkdtempSync(join(tmpdir(), 'rollout-dev-other-'));
  const corruptDir = mkdtempSync(join(tmpdir(), 'rollout-dev-corrupt-'));
  writeFileSync(join(corruptDir, 'simulator.json'), '{"formatVersion": 1, "world": {');
  try {
    const [sameDir, samePort, corrupt] = await Promise.all([
      refusedDev(['--state-dir', stateDir, '--port', String(await freePortWithUi())]),
      refusedDev(['--state-dir', otherDir, '--port', String(port)]),
      refusedDev(['--state-dir', corruptDir, '--port', String(await freePortWithUi())]),
    ]);
    assert.equal(sameDir.code, 6);
    assert.match(
      sameDir.stderr,
      new RegExp(`^rollout: the state directory .* is in use by another rollout dev \\(pid ${fresh.child.pid}\\)`),
    );
    assert.equal(sameDir.stderr.trim().split('\n').length, 1, sameDir.stderr);
    assert.equal(samePort.code, 6);
    assert.match(samePort.stderr, new RegExp(`^rollout: port ${port} \\(Temporal\\) is in use`));
    assert.equal(samePort.stderr.trim().split('\n').length, 1, samePort.stderr);
    assert.equal(corrupt.code, 2, corrupt.stderr);
    assert.match(
      corrupt.stderr,
      /^rollout: the simulator snapshot \S+ is corrupt \(not JSON\); start over with rollout dev --fresh\n$/,
    );
    assert.equal(readFileSync(join(corruptDir, 'simulator.json'), 'utf8'), '{"formatVersion": 1, "world": {');
  } finally {
    rmSync(otherDir, { recursive: true, force: true });
    rmSync(corruptDir, { recursive: true, force: true });
  }
  assert.equal(readFileSync(join(stateDir, 'rollout-dev.lock'), 'utf8'), lock, 'the first stack keeps its lock');
  assert.deepEqual(await migsOnVersion(port), [], 'and its world');
  await stopDev(fresh);
  assert.equal(existsSync(join(stateDir, 'rollout-dev.lock')), false, 'the lock goes with the stack');
});
