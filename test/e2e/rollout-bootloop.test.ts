/**
 * A canary template that boot-loops, on the real stack: its canary VMs crash before registering and the MIG keeps
 * recreating them. The rollout's wait for canary runners notices the loop without waiting out its timeout, rolls
 * every canary back by itself and ends rolled-back with the evidence, leaving no prod MIG on the new version.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { templateName } from '../../runner-config/naming.js';
import { statusQuery } from '../../workflows/rollout-contract.js';
import { seedVersionTemplates } from '../../devstack/simulator.js';
import { COMPRESSED_ROLLOUT_TIMING } from '../../devstack/timing.js';
import { startRollout } from '../../testbed/rollouts.js';
import { jobsKilledByTheEngine, startBusyFleetStack, type E2eStack } from '../helpers/e2e-stack.js';

const VERSION = '13579bdf13-bad';

let stack: E2eStack;
before(async () => {
  stack = await startBusyFleetStack();
});
after(async () => {
  await stack?.close();
});

test('a boot-looping canary template is rolled back automatically, with the evidence', async () => {
  const fleet = stack.fleet;
  seedVersionTemplates(stack.simulator, VERSION);
  const bootlooping = templateName(fleet.namePrefix, 'presubmit', 'cpu', VERSION);
  stack.simulator.control.setFaults({ bootloopTemplates: [bootlooping] });
  const handle = await startRollout(stack, {
    version: VERSION,
    requestedBy: 'e2e',
    environments: ['prod'],
    soak: '1 minute',
    autoApprove: true,
    // An hour of simulated time for canary runners to come up: a minute of the test.
    timing: { ...COMPRESSED_ROLLOUT_TIMING, runnersReadyTimeout: '1 hour', maxConcurrency: 16 },
  });
  const result = await handle.result();
  const state = await handle.query(statusQuery);

  assert.equal(result.outcome, 'rolled-back');
  assert.equal(state.stage, 'rolled-back');
  assert.equal(state.stop?.kind, 'health-gate');
  assert.ok(!result.stageTimings.some((timing) => timing.stage === 'promote'), 'never promoted');
  const loopingMigs = state.migs.filter((mig) => mig.toTemplate === bootlooping).map((mig) => mig.name);
  assert.equal(loopingMigs.length, 4, 'presubmit cpu in four regions');
  for (const name of loopingMigs) {
    assert.ok(
      result.evidence.some((line) => line.startsWith(`${name}: `)),
      `evidence names ${name}: ${result.evidence.join('; ')}`,
    );
  }
  assert.ok(
    result.evidence.every((line) => loopingMigs.some((name) => line.startsWith(`${name}: `))),
    `only the boot-looping MIGs are blamed: ${result.evidence.join('; ')}`,
  );
  assert.ok(
    result.evidence.some((line) => line.includes('boot-loops')),
    `the evidence names the boot loop rather than a timeout: ${result.evidence.join('; ')}`,
  );
  assert.ok(state.timeline.some((event) => event.kind === 'health-gate-failed'));

  const prod = stack.simulator.control.state().migs.filter((mig) => mig.environment === 'prod');
  assert.equal(prod.length, 32);
  for (const mig of prod) {
    const old = mig.versions[0]?.template ?? '';
    assert.ok(!old.endsWith(VERSION), `${mig.name} is back on its old template, has ${old}`);
    assert.deepEqual(
      mig.versions.map((version) => version.name),
      ['base'],
      `${mig.name} has no canary left`,
    );
  }
  const rolledBack = result.migs.filter((mig) => mig.phase === 'rolled-back');
  assert.equal(rolledBack.length, 24 + 2, 'every canary and both first-region a100 MIGs');
  assert.ok(
    stack.simulator.control.state().migs.some((mig) => mig.recreations > 0),
    'the canary VMs did crash',
  );
  assert.deepEqual(jobsKilledByTheEngine(stack.simulator), []);
  // The rollback drained the new templates: no idle runner is left on them, and nothing at all on the
  // boot-looping one (its VMs never register, so only deleting them ends the loop). Busy runners finish their job
  // first; a VM that registered while the drain ran is drained with the idle ones.
  const leftOnNew = prod.flatMap((mig) =>
    mig.instances
      .filter(
        (instance) =>
          instance.template.endsWith(VERSION) &&
          instance.currentAction !== 'DELETING' &&
          (instance.runner === null ? instance.template === bootlooping : !instance.runner.busy),
      )
      .map(
        (instance) =>
          `${instance.name} (${instance.currentAction}, runner ${instance.runner === null ? 'none' : 'idle'})`,
      ),
  );
  assert.deepEqual(leftOnNew, [], 'no idle runner on the new templates, nothing on the boot-looping one');
});
