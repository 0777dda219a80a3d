/**
 * `bin/rollout.js dev` as an operator runs it: through the tsx loader with no build, printing one line per
 * component; CLI commands from "another terminal" work against it; Ctrl-C stops everything.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { runRollout } from './run-cli.js';
import { freePortWithUi, listening } from '../../devstack/ports.js';

const BIN = fileURLToPath(new URL('../../bin/rollout.js', import.meta.url));
const stateDir = mkdtempSync(join(tmpdir(), 'rollout-dev-'));

after(() => rmSync(stateDir, { recursive: true, force: true }));

test('rollout dev starts Temporal, the Web UI, the simulator, the webhook receiver and a worker, and stops on Ctrl-C', async () => {
  const port = await freePortWithUi();
  const child = spawn(process.execPath, [BIN, 'dev', '--state-dir', stateDir, '--port', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ROLLOUT_TASK_QUEUE: 'dev-stack-test' },
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit');
  const lines: string[] = [];
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      lines.push(line);
      if (line.startsWith('Worker ready')) break;
    }
    assert.deepEqual(
      lines.map((line) => line.replace(/\d+/g, 'N')),
      [
        'Temporal:  N.N.N.N:N',
        'Web UI:    http://N.N.N.N:N',
        'Simulator: http://N.N.N.N:N',
        'Webhooks:  http://N.N.N.N:N/',
        'Worker ready on task queue dev-stack-test',
      ],
      stderr,
    );
    assert.equal(lines[0], `Temporal:  127.0.0.1:${port}`);
    assert.equal(lines[1], `Web UI:    http://127.0.0.1:${port + 1000}`);

    // "Worker ready" means the server already lists the worker: a command issued now finds it.
    const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
    try {
      const { pollers } = await connection.workflowService.describeTaskQueue({
        namespace: 'default',
        taskQueue: { name: 'dev-stack-test' },
      });
      assert.ok((pollers ?? []).length > 0, 'the server lists a poller on the task queue');
    } finally {
      await connection.close();
    }

    const fleet = await runRollout(['--json', 'fleet', '--env', 'testing'], {
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
      ROLLOUT_TASK_QUEUE: 'dev-stack-test',
    });
    assert.equal(fleet.code, 0, fleet.stderr);
    assert.ok((JSON.parse(fleet.stdout) as { migs: unknown[] }).migs.length > 0);
  } finally {
    child.kill('SIGINT');
  }
  const [code] = (await exited) as [number | null];
  assert.equal(code, 0, stderr);
  assert.ok(existsSync(join(stateDir, 'temporal.db')), 'history kept in the state directory');
  assert.equal(await listening(port), false, 'the dev server stopped with the CLI');
});
