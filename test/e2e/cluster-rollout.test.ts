/**
 * A rollout of the default fleet on a real multi-process Temporal cluster (scripts/temporal-cluster: frontend, two
 * history hosts, matching and worker on PostgreSQL), executed by three rollout worker processes, with one worker
 * SIGKILLed during the canary and one history host SIGKILLed during promote. It completes and leaves the fleet
 * exactly as the same rollout does on the dev server, run alongside without any kill.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { statusQuery, type RolloutInput, type RolloutStage } from '../../workflows/rollout-contract.js';
import {
  SIMULATOR_CREDENTIALS,
  seedVersionTemplates,
  simulatorEndpoints,
  startStackSimulator,
} from '../../devstack/simulator.js';
import { COMPRESSED_ROLLOUT_TIMING } from '../../devstack/timing.js';
import type { SimulatorHandle } from '../../simulator/index.js';
import { startRollout, type RolloutHandle } from '../../testbed/rollouts.js';
import { scratchPath, workflowBundlePath } from '../../testbed/workflow-bundle.js';
import { WorkerProcess } from '../../testbed/worker-process.js';
import {
  BUSY_FLEET_ACTIVITY_TIMING,
  BUSY_FLEET_SIMULATOR,
  fleetOutcome,
  jobsKilledByTheEngine,
  startBusyFleetStack,
  type MigOutcome,
} from '../helpers/e2e-stack.js';
import { installQuietRuntime } from '../helpers/temporal.js';
import { startTemporalCluster, temporalClusterBuilt, type TemporalCluster } from '../helpers/temporal-cluster.js';

const VERSION = '3579bdf135-cls';
const TASK_QUEUE = 'cluster-rollout';
const WORKERS = 3;
const INPUT: RolloutInput = {
  version: VERSION,
  requestedBy: 'e2e',
  soak: '20 seconds',
  plannedSoakReason: 'end-to-end test',
  autoApprove: true,
  timing: { ...COMPRESSED_ROLLOUT_TIMING, maxConcurrency: 8 },
};

// The cluster's server is built from source (minutes, once); CI builds it before the tests.
const built = temporalClusterBuilt();
const skip =
  built || process.env['CI'] !== undefined ? false : 'the cluster is not built: bash scripts/temporal-cluster build';

let cluster: TemporalCluster | undefined;
let simulator: SimulatorHandle | undefined;
const workers: WorkerProcess[] = [];
let reference: Promise<Record<string, MigOutcome>> | undefined;

before(async () => {
  if (skip !== false) return;
  installQuietRuntime();
  reference = cleanRolloutOnDevServer();
  // An unobserved rejection would end the process before the test reports it.
  reference.catch(() => undefined);
  const bundle = workflowBundlePath();
  [cluster, simulator] = await Promise.all([startTemporalCluster(), startStackSimulator(BUSY_FLEET_SIMULATOR)]);
  const fleetPath = scratchPath('cluster-fleet.json');
  writeFileSync(fleetPath, JSON.stringify(simulator.fleet));
  const env = {
    TEMPORAL_ADDRESS: cluster.address,
    TEMPORAL_NAMESPACE: cluster.namespace,
    ROLLOUT_TASK_QUEUE: TASK_QUEUE,
    ROLLOUT_LOG_LEVEL: process.env['ROLLOUT_TEST_LOG_LEVEL'] ?? 'WARN',
    ...simulatorEndpoints(simulator.url),
    ...definedOnly(SIMULATOR_CREDENTIALS),
  };
  for (let i = 1; i <= WORKERS; i += 1) {
    workers.push(
      new WorkerProcess({
        env,
        name: `cluster-worker-${i}`,
        worker: {
          bundlePath: await bundle,
          fleetPath,
          simulatorClockUrl: simulator.url,
          activityTiming: BUSY_FLEET_ACTIVITY_TIMING,
        },
      }),
    );
  }
  await Promise.all(workers.map((worker) => worker.start()));
});
after(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
  await cluster?.stop();
  await simulator?.close();
  await reference?.catch(() => undefined);
});

async function cleanRolloutOnDevServer(): Promise<Record<string, MigOutcome>> {
  const stack = await startBusyFleetStack();
  try {
    seedVersionTemplates(stack.simulator, VERSION);
    const result = await (await startRollout(stack, INPUT)).result();
    assert.equal(result.outcome, 'completed', `reference evidence: ${result.evidence.join('; ')}`);
    return fleetOutcome(stack.simulator);
  } finally {
    await stack.close();
  }
}

/** The rollout's stage, or undefined while no worker or history host answers the query. */
async function stageOf(handle: RolloutHandle): Promise<RolloutStage | undefined> {
  try {
    return (await handle.query(statusQuery)).stage;
  } catch {
    return undefined;
  }
}

test(
  'a default-fleet rollout on a Temporal cluster survives a worker and a history host SIGKILLed',
  { skip },
  async () => {
    assert.ok(cluster !== undefined && simulator !== undefined);
    seedVersionTemplates(simulator, VERSION);
    const handle = await startRollout({ client: cluster.client, taskQueue: TASK_QUEUE, fleet: simulator.fleet }, INPUT);
    const kills: string[] = [];
    let ended = false;
    const result = handle.result().finally(() => (ended = true));
    while (!ended && kills.length < 2) {
      const stage = await stageOf(handle);
      if (stage === 'canary' && kills.length === 0) {
        await workers[0]?.kill();
        kills.push(`worker during ${stage}`);
      } else if (stage === 'promote' && kills.length === 1) {
        cluster.kill('history-1');
        kills.push(`history host during ${stage}`);
      }
      await sleep(250);
    }
    const outcome = await result;
    assert.deepEqual(kills, ['worker during canary', 'history host during promote']);
    assert.equal(outcome.outcome, 'completed', `evidence: ${outcome.evidence.join('; ')}`);
    assert.deepEqual(outcome.evidence, []);
    assert.equal((await handle.query(statusQuery)).stage, 'done');
    assert.equal(outcome.counts.migs, 40);
    assert.deepEqual(fleetOutcome(simulator), await reference, 'the fleet of the clean run on the dev server');
    assert.deepEqual(jobsKilledByTheEngine(simulator), [], 'no busy runner was killed');
  },
);

function definedOnly(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
