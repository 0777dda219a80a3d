/**
 * A rollout survives the Temporal server going away: the dev server is stopped and started again on the same
 * SQLite file during the soak and again during convergence, and the rollout resumes where it was and completes
 * with the fleet a completed rollout leaves.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ENGINE_DEFECT_WORKAROUNDS } from '../../simulator/index.js';
import type { RolloutStage } from '../../workflows/rollout-contract.js';
import { seedVersionTemplates } from '../../devstack/simulator.js';
import { type RolloutHandle, startRollout } from '../../testbed/rollouts.js';
import { scratchPath } from '../../testbed/workflow-bundle.js';
import { fleetOutcome, startE2eStack, type E2eStack } from '../helpers/e2e-stack.js';
import {
  FULL,
  SCENARIO_SIMULATOR,
  expectedOutcome,
  rolloutOutcome,
  isRunning,
  rolloutState,
  scenarioInput,
} from './scenario.js';

let stack: E2eStack;
before(async () => {
  stack = await startE2eStack({
    simulator: {
      ...SCENARIO_SIMULATOR,
      // The restart during convergence needs old runners busy with long jobs, which the queue-driven autoscaler
      // adds for the jobs this test queues; GCP's CPU autoscaler adds a VM only for VMs already busy, so on a MIG
      // whose one slot holds the canary the queued jobs would wait for the new version and convergence would be
      // over before the restart could land in it. What this test checks (durable state across restarts) does not
      // depend on the autoscaler.
      behaviours: { ...ENGINE_DEFECT_WORKAROUNDS, cpuAutoscaler: false },
    },
    dbFilename: scratchPath('server-restart.db'),
  });
});
after(async () => {
  await stack?.close();
});

test('the rollout resumes and completes after server restarts during the soak and during convergence', async (t) => {
  const version = '5e7e7e7e7e-rst';
  seedVersionTemplates(stack.simulator, version);
  const before = fleetOutcome(stack.simulator);
  const handle = await startRollout(
    stack,
    scenarioInput(version, { autoApprove: true, soak: FULL ? '2 minutes' : '15 seconds' }),
  );

  const soak = await waitForStage(handle, 'soak');
  await stack.server.restart();
  t.diagnostic(`restarted during the soak (ends ${soak.soak?.endsAt ?? '?'})`);
  // Long jobs on the old runners keep convergence going (busy runners are never drained) while we restart.
  for (const pool of new Set(
    soak.migs.filter((mig) => mig.ref.environment === 'prod').map((mig) => `${mig.ref.group}/${mig.ref.type}`),
  )) {
    const [group = '', type = ''] = pool.split('/');
    stack.simulator.control.submitJobs({ environment: 'prod', group, type, count: 4, durationMinutes: 40 });
  }
  const converging = await waitForStage(handle, 'converge');
  await stack.server.restart();
  const afterRestart = await rolloutState(handle);
  t.diagnostic(`restarted during convergence (${converging.counts.instancesOld} instances still old)`);
  assert.ok(afterRestart.stage === 'converge' || afterRestart.stage === 'done', `stage ${afterRestart.stage}`);
  // The soak's deadline survived the first restart: it is durable state, not a timer of one server process.
  assert.equal(afterRestart.soak?.endsAt, soak.soak?.endsAt);

  const result = await handle.result();
  assert.equal(result.outcome, 'completed', result.evidence.join('\n'));
  assert.deepEqual(rolloutOutcome(stack, afterRestart), expectedOutcome(before, afterRestart));
  assert.ok(stack.worker.running, `the worker stopped:\n${stack.worker.output}`);
});

async function waitForStage(
  handle: RolloutHandle,
  stage: RolloutStage,
): Promise<Awaited<ReturnType<typeof rolloutState>>> {
  for (;;) {
    const state = await rolloutState(handle);
    if (state.stage === stage) return state;
    assert.ok(await isRunning(handle), `the rollout ended in ${state.stage} before reaching ${stage}`);
    await sleep(200);
  }
}
