/**
 * `rollout dev` with its webhook receiver, as an operator runs it: a job the simulator queues reaches the
 * controller of the job's pool through a signed delivery; with `--no-webhooks` no receiver runs and nothing is
 * signalled.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { freePortWithUi } from '../../devstack/ports.js';
import { defaultFleet } from '../../runner-config/default-fleet.js';
import { poolStateQuery, poolWorkflowId, type PoolJobEvent } from '../../workflows/pool-contract.js';

const BIN = fileURLToPath(new URL('../../bin/rollout.js', import.meta.url));
const stateDir = mkdtempSync(join(tmpdir(), 'rollout-dev-webhooks-'));
/** Testing MIGs sit at 0..0 and the simulator queues no testing jobs of its own: the job stays queued, alone. */
const POOL = 'testing/presubmit/cpu';
const CONTROLLER_ID = poolWorkflowId(defaultFleet().project, POOL);

/** Ample for the worker, the receiver, Temporal and the simulator to stop after Ctrl-C. */
const EXIT_TIMEOUT_MS = 30_000;

after(() => rmSync(stateDir, { recursive: true, force: true }));

interface DevRun {
  readonly child: ChildProcess;
  /** The JSON events printed until the worker was ready. */
  readonly events: readonly Record<string, unknown>[];
  readonly simulatorUrl: string;
  readonly client: Client;
  stop(): Promise<void>;
}

async function startDev(name: string, flags: readonly string[]): Promise<DevRun> {
  const port = await freePortWithUi();
  const env: Record<string, string | undefined> = { ...process.env, ROLLOUT_TASK_QUEUE: `dev-webhooks-${name}` };
  // The stack's own random secret and the default fleet's project, whatever the shell says.
  delete env['GITHUB_WEBHOOK_SECRET'];
  delete env['GCP_PROJECT'];
  const args = ['--json', 'dev', '--state-dir', join(stateDir, name), '--port', String(port), ...flags];
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit');
  const events: Record<string, unknown>[] = [];
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      const event = JSON.parse(line) as Record<string, unknown>;
      events.push(event);
      if (event['event'] === 'worker') break;
    }
    assert.equal(events.at(-1)?.['event'], 'worker', stderr);
  } catch (error) {
    child.kill('SIGINT');
    throw error;
  }
  const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
  return {
    child,
    events,
    simulatorUrl: String(events.find((event) => event['event'] === 'simulator')?.['url']),
    client: new Client({ connection }),
    async stop() {
      await connection.close();
      child.kill('SIGINT');
      // The CLI sets an exit code and never exits by force: a handle left open (a receiver not closed) keeps the
      // process alive past this.
      const timeout = setTimeout(() => child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
      const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
      clearTimeout(timeout);
      assert.equal(signal, null, `still running ${EXIT_TIMEOUT_MS} ms after Ctrl-C: ${stderr}`);
      assert.equal(code, 0, stderr);
    },
  };
}

async function queueJob(simulatorUrl: string): Promise<number> {
  const response = await fetch(`${simulatorUrl}/_sim/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ environment: 'testing', group: 'presubmit', type: 'cpu', count: 1, durationMinutes: 5 }),
  });
  const text = await response.text();
  assert.equal(response.status, 201, text);
  const { jobs } = JSON.parse(text) as { jobs: { id: number }[] };
  const [job] = jobs;
  assert.ok(job !== undefined);
  return job.id;
}

test("rollout dev receives the simulator's webhooks: a queued job reaches its pool's controller", async () => {
  const dev = await startDev('on', []);
  try {
    assert.deepEqual(
      dev.events.map((event) => event['event']),
      ['temporal', 'ui', 'simulator', 'webhooks', 'worker'],
    );
    const url = String(dev.events.find((event) => event['event'] === 'webhooks')?.['url']);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    // Only deliveries signed with the run's secret are taken.
    const unsigned = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'workflow_job', 'x-github-delivery': 'd-1' },
      body: '{}',
    });
    assert.equal(unsigned.status, 401);

    const jobId = await queueJob(dev.simulatorUrl);
    const controller = dev.client.workflow.getHandle(CONTROLLER_ID);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const state = await controller.query(poolStateQuery).catch(() => undefined);
      if (state !== undefined && state.jobs.queued === 1) break;
      assert.ok(Date.now() < deadline, `the controller of ${POOL} did not count the job: ${JSON.stringify(state)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const converter = dev.client.options.loadedDataConverter.payloadConverter;
    const signals = ((await controller.fetchHistory()).events ?? []).flatMap((event) => {
      const signalled = event.workflowExecutionSignaledEventAttributes;
      return signalled?.signalName === 'workflow-job'
        ? [converter.fromPayload<PoolJobEvent>(signalled.input?.payloads?.[0] ?? {})]
        : [];
    });
    assert.deepEqual(
      signals.map(({ action, jobId: id }) => ({ action, jobId: id })),
      [{ action: 'queued', jobId }],
    );
  } finally {
    await dev.stop();
  }
});

test('rollout dev --no-webhooks runs no receiver and signals no controller', async () => {
  const dev = await startDev('off', ['--no-webhooks']);
  try {
    assert.deepEqual(
      dev.events.map((event) => event['event']),
      ['temporal', 'ui', 'simulator', 'worker'],
    );
    await queueJob(dev.simulatorUrl);
    // The receiver of the stack above had signalled the job well within this.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await assert.rejects(dev.client.workflow.getHandle(CONTROLLER_ID).describe(), WorkflowNotFoundError);
  } finally {
    await dev.stop();
  }
});
