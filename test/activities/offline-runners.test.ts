/**
 * A canary VM that crashes after its runner registered leaves the registration behind, offline (GitHub keeps an
 * ephemeral runner's offline registration for a day), while the MIG's repair recreates the VM on the same bad
 * template. Such a VM runs no job: the rollback's drain must remove it rather than take the listed runner for a
 * working one, or the repair would bring the bad template back for as long as the registration is listed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MigLocator } from '../../activities/contract.js';
import { grow, startActivityFixture, type ActivityFixture } from './fixture.js';

const OLD = '0000000000-aaa';
const NEW = '1111111111-bbb';
const template = (version: string): string => `gh-runner-presubmit-cpu-${version}`;
const mig = { region: 'us-west1', name: 'gh-runner-presubmit-cpu-us-west1' } satisfies MigLocator;

let fx: ActivityFixture;

before(async () => {
  // No job arrivals: the only runners that change are the ones the crash and the engine change.
  fx = await startActivityFixture({ jobRates: [{ perHour: 0, meanDurationMinutes: 30 }] });
  fx.sim.control.createTemplate({ group: 'presubmit', type: 'cpu', version: NEW });
  fx.sim.control.setFaults({ crashAfterRegisterTemplates: [template(NEW)] });
});
after(async () => {
  await fx.close();
});

function canaryVm(): ReturnType<ActivityFixture['sim']['control']['mig']>['instances'][number] | undefined {
  return fx.sim.control.mig(mig.name).instances.find((vm) => vm.template === template(NEW));
}

describe('offline runners of crashed canary VMs', () => {
  let crashed = '';

  test('the simulator: a canary VM crashes after registering, its runner is listed offline, the MIG recreates it', async () => {
    await grow(fx, mig, 2);
    const canary = await fx.run('canaryMig', { mig, template: template(NEW), canarySize: 1 });
    assert.equal(canary.madeRoom?.length, 1);
    // Boot and registration (about 105 s), then the crash 90 s later; stop between the crash and the recreation.
    fx.sim.control.advance(200);
    const vm = canaryVm();
    assert.ok(vm !== undefined);
    crashed = vm.name;
    assert.equal(vm.currentAction, 'RECREATING');
    const listed = (await fx.run('listRunners', { namePrefix: `${mig.name}-` })).find(
      (runner) => runner.name === crashed,
    );
    assert.ok(listed !== undefined, 'the crashed VM left its registration behind');
    assert.equal(listed.online, false);
  });

  test('an offline canary counts against canary health', async () => {
    const since = new Date(Date.parse(fx.sim.control.clock().now) - 600_000).toISOString();
    const health = await fx.run('canaryHealth', { mig, canaryTemplate: template(NEW), since });
    assert.equal(health.healthy, false);
    assert.equal(health.canaryRunnersOnline, 0);
    assert.ok(
      health.problems.some((problem) => problem.includes(crashed)),
      `a problem names ${crashed}: ${health.problems.join('; ')}`,
    );
  });

  test('the rollback drain removes the crashed canary VM despite its listed runner; the bad template does not return', async () => {
    await fx.run('rollbackCanary', { mig, canaryTemplate: template(NEW) });
    const drain = await fx.run('drainIdleRunners', { mig, keepTemplate: template(OLD) });
    assert.ok(drain.removedStuck.includes(crashed), `removed ${drain.removedStuck.join(', ')}`);
    fx.sim.control.advance(600);
    const vms = fx.sim.control.mig(mig.name).instances;
    assert.deepEqual(
      vms.filter((vm) => vm.template !== template(OLD)).map((vm) => vm.name),
      [],
      'no VM on the rolled-back template',
    );
    assert.ok(vms.length > 0);
    assert.deepEqual(fx.sim.control.jobs().killed, []);
  });
});
