/**
 * What the CLI command tests run against: a real Temporal dev server, a worker on a task queue of its own and the
 * simulator, started once per test file; and the checks they share.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ENGINE_DEFECT_WORKAROUNDS, startSimulator, type SimulatorHandle } from '../../simulator/index.js';
import { loadWorkerConfig } from '../../worker/config.js';
import { runWorker } from '../../worker/main.js';
import { ROLLOUT_SEARCH_ATTRIBUTES, statusQuery, type RolloutState } from '../../workflows/rollout-contract.js';
import { startDevServer, uniqueNames } from '../helpers/temporal.js';
import { runRollout, type CliRun } from './run-cli.js';

export let env: TestWorkflowEnvironment;
export let simulator: SimulatorHandle;
export let cliEnv: Record<string, string>;
const stopWorker = new AbortController();
let worker: Promise<void>;
export const { taskQueue } = uniqueNames('cli commands');

/** Starts the server, simulator and worker before the file's tests, and stops them after. */
export function useCliStack(): void {
  before(async () => {
    env = await startDevServer({ searchAttributes: [...ROLLOUT_SEARCH_ATTRIBUTES] });
    simulator = await startSimulator({ port: 0, speed: 60, behaviours: ENGINE_DEFECT_WORKAROUNDS });
    const address = env.connection.options.address;
    cliEnv = { TEMPORAL_ADDRESS: address, ROLLOUT_TASK_QUEUE: taskQueue, TEMPORAL_UI_URL: 'http://127.0.0.1:1' };
    const config = loadWorkerConfig({
      ...cliEnv,
      COMPUTE_API_ENDPOINT: simulator.url,
      GITHUB_API_URL: simulator.url,
      GITHUB_TOKEN: 'test-token',
      ROLLOUT_LOG_LEVEL: 'ERROR',
    });
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    // Polls every 200 ms, and the runner snapshot it polls ages as fast, so each poll lists the runners again.
    worker = runWorker(config, {
      signal: stopWorker.signal,
      onReady: ready,
      activityTiming: { pollIntervalMs: 200, runnerSnapshotMaxAgeMs: 200, runnerListingsPerHour: 36_000 },
    });
    await Promise.race([isReady, worker]);
  });

  after(async () => {
    stopWorker.abort();
    await worker;
    await simulator?.close();
    await env?.teardown();
  });
}

export const rollout = (...argv: string[]): Promise<CliRun> => runRollout(argv, cliEnv);

/** A failure is exactly one line on stderr, nothing on stdout, and the expected exit code. */
export function assertFailure(run: CliRun, code: number, pattern: RegExp): void {
  assert.equal(run.code, code, `exit code (stderr: ${run.stderr})`);
  assert.equal(run.stdout, '');
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got: ${run.stderr}`);
  assert.match(lines[0] ?? '', /^rollout: /);
  assert.match(lines[0] ?? '', pattern);
}

export async function workflowCount(): Promise<number> {
  let count = 0;
  for await (const _ of env.client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) count++;
  return count;
}

export async function stageReached(workflowId: string, stage: RolloutState['stage']): Promise<void> {
  const handle = env.client.workflow.getHandle(workflowId);
  while ((await handle.query(statusQuery)).stage !== stage) await new Promise((resolve) => setTimeout(resolve, 200));
}
