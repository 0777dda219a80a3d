/**
 * A full rollout of the default fleet on the real stack: Temporal dev server, the simulator, real activities on
 * the production clients, a worker. Days of soak and convergence are compressed: the simulator runs a minute per
 * second, the rollout checks every couple of seconds and approves its own gates.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { templateName } from '../../runner-config/naming.js';
import { statusQuery } from '../../workflows/rollout-contract.js';
import { seedVersionTemplates } from '../../devstack/simulator.js';
import { COMPRESSED_ROLLOUT_TIMING } from '../../devstack/timing.js';
import { startRollout } from '../../testbed/rollouts.js';
import { jobsKilledByTheEngine, startBusyFleetStack, type E2eStack } from '../helpers/e2e-stack.js';

const VERSION = '2468ace024-new';

let stack: E2eStack;
before(async () => {
  stack = await startBusyFleetStack();
});
after(async () => {
  await stack?.close();
});

test('a rollout of the default fleet ends with every MIG on the new template', async () => {
  seedVersionTemplates(stack.simulator, VERSION);
  const handle = await startRollout(stack, {
    version: VERSION,
    requestedBy: 'e2e',
    soak: '20 seconds',
    plannedSoakReason: 'end-to-end test',
    autoApprove: true,
    timing: { ...COMPRESSED_ROLLOUT_TIMING, maxConcurrency: 8 },
  });
  const result = await handle.result();
  const state = await handle.query(statusQuery);
  assert.equal(result.outcome, 'completed', `evidence: ${result.evidence.join('; ')}`);
  assert.deepEqual(result.evidence, []);

  const fleet = stack.fleet;
  const migs = stack.simulator.control.state().migs;
  assert.equal(migs.length, 40, 'the default fleet: 32 prod and 8 testing MIGs');
  assert.equal(result.counts.migs, migs.length);
  for (const mig of migs) {
    const target = templateName(fleet.namePrefix, mig.group, mig.type, VERSION);
    assert.deepEqual(
      mig.versions.map((version) => `${version.name}=${version.template}`),
      [`base=${target}`],
      `${mig.name} versions`,
    );
    const templates = Object.entries(mig.instancesByTemplate).filter(([, count]) => count > 0);
    assert.ok(
      templates.every(([template]) => template === target),
      `${mig.name} runs only ${target}, has ${JSON.stringify(mig.instancesByTemplate)}`,
    );
    if (mig.environment === 'testing') {
      assert.deepEqual([mig.autoscaler.min, mig.autoscaler.max], [0, 0], `${mig.name} autoscaling restored`);
    }
  }
  assert.equal(result.counts.canaried, 24, 'cpu, gpu and arm64 MIGs of both groups in four regions');
  assert.equal(result.counts.promoted, 24);
  assert.equal(result.counts.converged, 32);
  assert.deepEqual(
    result.approvals.map((approval) => [approval.stage, approval.identity]),
    [
      ['test', 'auto-approve'],
      ['promote', 'auto-approve'],
    ],
  );
  assert.deepEqual(
    result.stageTimings.map((timing) => timing.stage),
    ['preflight', 'test', 'canary', 'soak', 'promote', 'converge', 'done'],
  );
  assert.equal(state.stage, 'done');
  assert.deepEqual(jobsKilledByTheEngine(stack.simulator), [], 'no busy runner was killed');
});
