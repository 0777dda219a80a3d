/**
 * History stays bounded whatever the fleet size: every per-MIG pass (claiming workers, commands, runner checks,
 * health checks, convergence reads, drains, releases) stops starting MIGs once the history is long, continues as
 * new, and the next run picks up exactly the MIGs left. A budget far below one pass over the 36-MIG test fleet
 * makes every pass cross a continue-as-new.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type proto from '@temporalio/proto';
import { migWorker } from '../../workflows/mig-worker.js';
import { rollout } from '../../workflows/rollout.js';
import type { FleetDefinition } from '../../runner-config/types.js';
import { migWorkflowId, ROLLOUT_FAILURE_TYPES } from '../../workflows/rollout-contract.js';
import { testFleet } from '../helpers/fake-fleet.js';
import { recordHistory, rolloutTest, perTestServer, testInput, withRolloutWorker } from '../helpers/rollout-harness.js';

/** Far below one pass over the 36 MIGs (each command costs about six events). */
const MAX_HISTORY_EVENTS = 150;
/** What lanes already running may add once the budget is reached, plus the continue-as-new itself. */
const OVERSHOOT_ALLOWED = 80;

const server = perTestServer();

/** The test fleet over eight prod regions: 36 MIGs, 16 of them canaried. */
const PROD_REGIONS = [
  'us-central1',
  'us-west1',
  'us-east1',
  'us-east4',
  'us-south1',
  'europe-west4',
  'asia-east1',
  'me-west1',
];

/** The test fleet over eight prod regions. */
function wideFleet(project: string): FleetDefinition {
  const fleet = testFleet(project);
  return {
    ...fleet,
    environments: { ...fleet.environments, prod: { ...fleet.environments.prod, regions: PROD_REGIONS } },
  };
}

/** Event count of every run of `workflowId`, first to last, following the continue-as-new chain. */
async function runLengths(client: Client, workflowId: string, firstRunId: string): Promise<number[]> {
  const lengths: number[] = [];
  let runId: string | undefined = firstRunId;
  while (runId !== undefined) {
    const history: proto.temporal.api.history.v1.IHistory = await client.workflow
      .getHandle(workflowId, runId)
      .fetchHistory();
    const events = history.events ?? [];
    lengths.push(events.length);
    runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return lengths;
}

test('a whole rollout on a tight history budget: every run stays near it, every MIG is changed once', async (t) => {
  const { fake, taskQueue, workflowId } = rolloutTest(t.name, wideFleet);
  fake.drainBatch = 2;
  const { result, lengths } = await withRolloutWorker(server.env, server.bundle, fake, taskQueue, async () => {
    const handle = await server.env.client.workflow.start(rollout, {
      taskQueue,
      workflowId,
      args: [
        testInput({
          autoApprove: true,
          soak: '12 hours',
          timing: { healthCheckInterval: '2 hours', maxHistoryEvents: MAX_HISTORY_EVENTS, maxConcurrency: 4 },
        }),
      ],
    });
    const result = await handle.result();
    await recordHistory(server.env.client, 'rollout-bounded-fan-out-first-run', workflowId, handle.firstExecutionRunId);
    return { result, lengths: await runLengths(server.env.client, workflowId, handle.firstExecutionRunId) };
  });

  assert.equal(result.outcome, 'completed');
  assert.equal(result.counts.migs, 36);
  assert.equal(result.counts.converged, 32, 'every prod MIG converged');
  assert.ok(lengths.length >= 10, `a pass over 36 MIGs crosses runs: ${lengths.length} runs`);
  const longest = Math.max(...lengths);
  assert.ok(longest <= MAX_HISTORY_EVENTS + OVERSHOOT_ALLOWED, `longest run ${longest} events: ${lengths.join(', ')}`);

  const mutationsPerMig = (activity: string): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const call of fake.calls.filter((candidate) => candidate.activity === activity)) {
      counts.set(call.mig ?? '', (counts.get(call.mig ?? '') ?? 0) + 1);
    }
    return counts;
  };
  const canaries = mutationsPerMig('canaryMig');
  const promotions = mutationsPerMig('promoteCanary');
  assert.equal(canaries.size, 16);
  assert.ok(
    [...canaries.values()].every((count) => count === 1),
    'each canary placed once',
  );
  assert.deepEqual([...promotions.keys()].sort(), [...canaries.keys()].sort());
  assert.ok(
    [...promotions.values()].every((count) => count === 1),
    'each canary promoted once',
  );
  // Rounds at 2, 4, 6, 8 and 10 hours and at the soak's end, wherever the continue-as-new chain cuts them.
  const healthChecks = mutationsPerMig('canaryHealth');
  assert.deepEqual(
    [...canaries.keys()].map((mig) => [mig, healthChecks.get(mig) ?? 0]),
    [...canaries.keys()].map((mig) => [mig, 6]),
    'every canary checked once in each of the six rounds of the 12-hour soak, none skipped by a cut-short round',
  );
  for (const mig of result.migs) {
    assert.ok(
      fake.calls.some((call) => call.activity === 'convergence' && call.mig === mig.name) || mig.role === 'testing',
    );
  }
});

test('a failed preflight whose claims and releases cross runs reports every owned MIG and leaves no worker', async (t) => {
  const { fake, taskQueue, workflowId } = rolloutTest(t.name, wideFleet);
  const owned = [...fake.migs.keys()].filter((name) => name.includes('a100'));
  assert.ok(owned.length >= 2);
  const failure = await withRolloutWorker(server.env, server.bundle, fake, taskQueue, async () => {
    for (const name of owned) {
      await server.env.client.workflow.start(migWorker, {
        taskQueue,
        workflowId: migWorkflowId(fake.fleet.project, name),
        args: [
          {
            rolloutWorkflowId: 'another-rollout',
            migName: name,
            mig: { region: fake.mig(name).region, name },
            livenessInterval: '1 day',
            maxHistoryEvents: 1000,
          },
        ],
      });
    }
    const handle = await server.env.client.workflow.start(rollout, {
      taskQueue,
      workflowId,
      args: [testInput({ timing: { maxHistoryEvents: MAX_HISTORY_EVENTS } })],
    });
    const error = await handle.result().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    for (const name of owned)
      await server.env.client.workflow.getHandle(migWorkflowId(fake.fleet.project, name)).terminate();
    return error;
  });
  assert.ok(failure instanceof WorkflowFailedError);
  assert.ok(failure.cause instanceof ApplicationFailure);
  assert.equal(failure.cause.type, ROLLOUT_FAILURE_TYPES.preflightFailed);
  for (const name of owned) assert.match(failure.cause.message, new RegExp(`${name}: MIG ${name} is being changed`));
  assert.deepEqual(fake.mutationCalls(), [], 'nothing changed');
});
