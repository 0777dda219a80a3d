/**
 * Running the rollout workflows in tests: one bundle per test file, a worker over a {@link FakeFleet}, and
 * polling the status query until the rollout reaches a point (queries never advance time-skipping time).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { afterEach, before, beforeEach } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Client, WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundle } from '@temporalio/worker';
import type { FleetDefinition } from '../../runner-config/types.js';
import {
  migWorkflowId,
  rolloutWorkflowId,
  statusQuery,
  type RolloutInput,
  type RolloutState,
} from '../../workflows/rollout-contract.js';
import { fakeActivities } from './fake-activities.js';
import { FakeFleet, NEW_VERSION, testFleet } from './fake-fleet.js';
import { startTimeSkippingServer, uniqueNames } from './temporal.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
export const HISTORIES_DIR = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));

const History = proto.temporal.api.history.v1.History;
type IHistory = proto.temporal.api.history.v1.IHistory;

/**
 * History files hold protobufjs's JSON object form (enum names, base64 bytes, int64 as strings), not the
 * proto3 JSON of `temporal workflow show --output json`: the SDK's `historyFromJSON` fails in this install
 * ("type must be a Type") because npm keeps separate protobufjs 8 copies under @temporalio/common and
 * @temporalio/proto next to the top-level protobufjs 7 that @google-cloud/compute needs.
 */
export function historyToFixture(history: IHistory): string {
  const object = History.toObject(History.fromObject(history), { longs: String, enums: String, bytes: String });
  return `${JSON.stringify(object, null, 1)}\n`;
}

export function historyFromFixture(text: string): proto.temporal.api.history.v1.History {
  return History.fromObject(JSON.parse(text) as Record<string, unknown>);
}

/**
 * With ROLLOUT_RECORD_HISTORIES=1, writes the history of a finished run to test/fixtures/histories/<name>.json
 * for the replay tests: `ROLLOUT_RECORD_HISTORIES=1 bash scripts/test test/workflows/rollout*.test.ts`.
 */
export async function recordHistory(client: Client, name: string, workflowId: string, runId?: string): Promise<void> {
  if (process.env['ROLLOUT_RECORD_HISTORIES'] !== '1') return;
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  await mkdir(HISTORIES_DIR, { recursive: true });
  await writeFile(`${HISTORIES_DIR}${name}.json`, historyToFixture(history));
}

export async function rolloutWorkflowBundle(): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
}

export interface RolloutServer {
  /** The running test's time-skipping server. */
  readonly env: TestWorkflowEnvironment;
  /** The rollout workflows, bundled once for the file. */
  readonly bundle: WorkflowBundle;
}

/**
 * A time-skipping server for each test of the file: on a shared one, time skipping stalled after some tests (one
 * continued as new, one ended in a failed preflight) and the next test's handle.result() waited forever.
 */
export function perTestServer(): RolloutServer {
  let env: TestWorkflowEnvironment | undefined;
  let bundle: WorkflowBundle | undefined;
  before(async () => {
    bundle = await rolloutWorkflowBundle();
  });
  beforeEach(async () => {
    env = await startTimeSkippingServer();
  });
  afterEach(async () => {
    await env?.teardown();
    env = undefined;
  });
  return {
    get env() {
      if (env === undefined) throw new Error('the time-skipping server runs only during a test');
      return env;
    },
    get bundle() {
      if (bundle === undefined) throw new Error('the workflow bundle is built before the first test');
      return bundle;
    },
  };
}

/** Runs `fn` while a worker serves the rollout workflows with the fake fleet's activities. */
export async function withRolloutWorker<T>(
  env: TestWorkflowEnvironment,
  bundle: WorkflowBundle,
  fake: FakeFleet,
  taskQueue: string,
  fn: () => Promise<T>,
  options: { maxCachedWorkflows?: number } = {},
): Promise<T> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: fakeActivities(fake),
    ...(options.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: options.maxCachedWorkflows }),
  });
  return worker.runUntil(async () => {
    const result = await fn();
    await finishMigWorkers(env, fake);
    return result;
  });
}

/**
 * Waits for this fleet's per-MIG workers to end while the worker still runs. A released MIG worker ends on its
 * next workflow task; left unprocessed on a queue nobody polls any more, that task would keep the time-skipping
 * server from ever skipping time again, and every later test in the file would hang.
 */
async function finishMigWorkers(env: TestWorkflowEnvironment, fake: FakeFleet): Promise<void> {
  for (const name of fake.migs.keys()) {
    try {
      await env.client.workflow.getHandle(migWorkflowId(fake.fleet.project, name)).result();
    } catch {
      // Never started, or terminated by the test: nothing is left to run.
    }
  }
}

/** This fleet's per-MIG workers, started or not: the runs a rollout's signals reach in turn. */
export function migWorkerHandles(env: TestWorkflowEnvironment, fake: FakeFleet): WorkflowHandle[] {
  return [...fake.migs.keys()].map((name) => env.client.workflow.getHandle(migWorkflowId(fake.fleet.project, name)));
}

export interface RolloutTest {
  readonly fake: FakeFleet;
  readonly taskQueue: string;
  readonly workflowId: string;
}

/** A fake fleet in a project of its own, a task queue and a rollout workflow id: all unique to one test. */
export function rolloutTest(title: string, fleet: (project: string) => FleetDefinition = testFleet): RolloutTest {
  const { taskQueue, workflowId } = uniqueNames(title);
  const project = `p-${taskQueue.slice(-8)}`;
  return {
    fake: new FakeFleet(fleet(project)),
    taskQueue,
    workflowId: `${rolloutWorkflowId(project, NEW_VERSION)}-${workflowId('x')}`,
  };
}

/** Fast timings so a test spends its (skipped) time only where it means to. */
export function testInput(overrides: Partial<RolloutInput> = {}): RolloutInput {
  return {
    version: NEW_VERSION,
    requestedBy: 'alice',
    soak: '3 days',
    ...overrides,
    timing: {
      healthCheckInterval: '6 hours',
      convergeInterval: '10 minutes',
      runnersReadyTimeout: '30 minutes',
      ...overrides.timing,
    },
  };
}

/** Polls the status query until `predicate` holds; fails naming `what` and the last state otherwise. */
export async function waitForState(
  handle: WorkflowHandle,
  predicate: (state: RolloutState) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<RolloutState> {
  const deadline = Date.now() + timeoutMs;
  let last: RolloutState | undefined;
  while (Date.now() < deadline) {
    try {
      last = await handle.query(statusQuery);
      if (predicate(last)) return last;
    } catch (error) {
      // The first workflow task may not have run yet: there is no query handler until it has.
      if (Date.now() + 200 >= deadline) throw error;
    }
    await delay(100);
  }
  throw new Error(
    `rollout never reached: ${what}; last stage ${last?.stage}, gate ${last?.gate?.kind}, timeline: ${JSON.stringify(last?.timeline.slice(-5))}`,
  );
}
