import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  activitiesListingEveryRunnerIdle,
  FIXTURE_TIMING,
  activityEnvironment,
  grow,
  inActivity,
  occupyOneRunner,
  NEW,
  OLD,
  presubmitTemplate,
  useQuietFixture,
  type ActivityFixture,
} from './fixture.js';

const template = presubmitTemplate;

let fx: ActivityFixture;
useQuietFixture(NEW, (started) => (fx = started));

function onlineRunners(mig: string): string[] {
  return fx.sim.control
    .mig(mig)
    .instances.filter((instance) => instance.runner !== null)
    .map((instance) => instance.name);
}

describe('runners', () => {
  const mig = { region: 'us-west1', name: 'gh-runner-presubmit-cpu-us-west1' };

  test('listRunners finds a MIG runners by name prefix with their labels', async () => {
    await grow(fx, mig, 3);
    const runners = await fx.run('listRunners', { namePrefix: `${mig.name}-` });
    assert.equal(runners.length, 3);
    for (const runner of runners) {
      assert.ok(runner.name.startsWith(`${mig.name}-`));
      assert.equal(runner.online, true);
      assert.equal(runner.runnerVersion, fx.sim.fleet.runner.version);
      assert.equal(runner.configRef, '0000000000');
      assert.ok(runner.labels.includes('self-hosted'));
    }
  });

  test('drain removes idle runners and their VMs, never a busy one', async () => {
    // A testing pool has a single MIG, so the job surely lands on one of its runners.
    const drainMig = { region: 'us-west1', name: 'gh-runner-testing-postsubmit-cpu-us-west1' };
    await grow(fx, drainMig, 3);
    const busy = occupyOneRunner(fx, drainMig, { group: 'postsubmit', type: 'cpu' }, 60);
    const since = fx.sim.control.mutations().length;

    const result = await fx.run('drainIdleRunners', { mig: drainMig });
    assert.deepEqual(result.skippedBusy, [busy.name]);
    assert.equal(result.drained.length, 2);
    assert.ok(!result.drained.includes(busy.name));
    const deletes = fx.sim.control.mutations({
      endpoint: 'compute.regionInstanceGroupManagers.deleteInstances',
      since,
    });
    assert.equal(deletes.length, 1);
    const deleted = (deletes[0]?.body as { instances: string[] }).instances.map((url) =>
      url.slice(url.lastIndexOf('/') + 1),
    );
    assert.deepEqual(deleted.sort(), [...result.drained].sort());
    const remaining = await fx.run('listRunners', { namePrefix: `${drainMig.name}-` });
    assert.deepEqual(
      remaining.map((runner) => runner.name),
      [busy.name],
    );
  });

  test('a runner that took a job after the list (GitHub 422) is skipped and its VM kept', async () => {
    const raceMig = { region: 'us-west1', name: 'gh-runner-testing-postsubmit-gpu-us-west1' };
    await grow(fx, raceMig, 2);
    const busy = occupyOneRunner(fx, raceMig, { group: 'postsubmit', type: 'gpu' }, 60);
    const staleList = activitiesListingEveryRunnerIdle(fx);
    const since = fx.sim.control.mutations().length;
    const result = await inActivity(activityEnvironment(), () => staleList.drainIdleRunners({ mig: raceMig }));
    assert.deepEqual(result.skippedBusy, [busy.name]);
    const deletes = fx.sim.control.mutations({
      endpoint: 'compute.regionInstanceGroupManagers.deleteInstances',
      since,
    });
    const deleted = deletes.flatMap((entry) => (entry.body as { instances: string[] }).instances);
    assert.ok(!deleted.some((url) => url.endsWith(`/${busy.name}`)), 'the busy VM was not deleted');
    assert.ok(onlineRunners(raceMig.name).includes(busy.name));
  });

  test('a drain whose runner deletions wait their turn among GitHub writes heartbeats throughout', async () => {
    const queuedMig = { region: 'us-west1', name: 'gh-runner-postsubmit-cpu-us-west1' };
    await grow(fx, queuedMig, 2);
    // Each write waits 1.5 s in the queue first, as behind another MIG's when GitHub's writes go one a second.
    const github = fx.github;
    const deleteRunner = github.rest.actions.deleteSelfHostedRunnerFromOrg;
    const queuedWrites = fx.activitiesWith({
      github: {
        ...github,
        rest: {
          ...github.rest,
          actions: {
            ...github.rest.actions,
            deleteSelfHostedRunnerFromOrg: (async (...args: Parameters<typeof deleteRunner>) => {
              await sleep(1500);
              return deleteRunner(...args);
            }) as typeof deleteRunner,
          },
        },
      },
      timing: { ...FIXTURE_TIMING, heartbeatEveryMs: 100 },
    });
    const env = activityEnvironment();
    const beats: Array<{ at: number; details: string | undefined }> = [];
    env.on('heartbeat', (details: unknown) => beats.push({ at: Date.now(), details: JSON.stringify(details) }));
    const started = Date.now();
    const result = await inActivity(env, () => queuedWrites.drainIdleRunners({ mig: queuedMig }));
    assert.equal(result.drained.length, 2);
    const moments = [started, ...beats.map((beat) => beat.at)];
    const gaps = moments.slice(1).map((at, index) => at - (moments[index] ?? at));
    assert.ok(Math.max(...gaps) < 1000, `longest silence ${Math.max(...gaps)} ms in ${Date.now() - started} ms`);
    // The heartbeats in the second wait repeat the progress after the first deletion, so a retry resumes from it.
    const first = result.drained[0];
    assert.ok(
      beats.some((beat) => beat.details === JSON.stringify({ deregistered: [first] })),
      `heartbeat details: ${[...new Set(beats.map((beat) => beat.details))].join(' ')}`,
    );
  });

  test('dry run reports what it would drain and changes nothing', async () => {
    const dryMig = { region: 'us-central1', name: 'gh-runner-presubmit-cpu-us-central1' };
    await grow(fx, dryMig, 2);
    const since = fx.sim.control.mutations().length;
    const result = await fx.run('drainIdleRunners', { mig: dryMig, dryRun: true });
    assert.equal(result.drained.length, 2);
    // listManagedInstances is a POST, so it is logged; nothing else may be.
    const effects = fx.sim.control
      .mutations({ since })
      .filter((entry) => entry.endpoint !== 'compute.regionInstanceGroupManagers.listManagedInstances');
    assert.deepEqual(effects, []);
  });

  test('keepTemplate leaves runners on the new template alone', async () => {
    const keepMig = { region: 'us-central1', name: 'gh-runner-presubmit-cpu-us-central1' };
    const oldRunners = onlineRunners(keepMig.name);
    const result = await fx.run('drainIdleRunners', { mig: keepMig, keepTemplate: template('cpu', OLD), dryRun: true });
    assert.deepEqual(result.drained, []);
    assert.equal(oldRunners.length, 2);
  });

  test('a retried drain deletes the VMs whose runners the failed attempt already removed', async () => {
    const resumeMig = { region: 'us-east4', name: 'gh-runner-presubmit-cpu-us-east4' };
    await grow(fx, resumeMig, 2);
    const [first] = await fx.run('listRunners', { namePrefix: `${resumeMig.name}-` });
    assert.ok(first !== undefined);
    // The earlier attempt deregistered this runner and heartbeated it, then died before deleting the VM.
    await fx.github.rest.actions.deleteSelfHostedRunnerFromOrg({ org: fx.sim.fleet.github.org, runner_id: first.id });
    const since = fx.sim.control.mutations().length;
    const env = activityEnvironment({ attempt: 2, heartbeatDetails: { deregistered: [first.name] } });
    const result = await inActivity(env, () => fx.activities.drainIdleRunners({ mig: resumeMig }));
    assert.ok(result.drained.includes(first.name));
    const deleted = fx.sim.control
      .mutations({ endpoint: 'compute.regionInstanceGroupManagers.deleteInstances', since })
      .flatMap((entry) => (entry.body as { instances: string[] }).instances);
    assert.ok(deleted.some((url) => url.endsWith(`/${first.name}`)));
  });

  test('a drain keeping the old template removes a boot-looping canary VM mid-loop, never a busy runner', async () => {
    const loopMig = { region: 'us-west1', name: 'gh-runner-testing-postsubmit-arm64-us-west1' };
    const baseTemplate = `gh-runner-postsubmit-arm64-${OLD}`;
    const canaryTemplate = `gh-runner-postsubmit-arm64-${NEW}`;
    fx.sim.control.createTemplate({ group: 'postsubmit', type: 'arm64', version: NEW });
    await grow(fx, loopMig, 2);
    const busy = occupyOneRunner(fx, loopMig, { group: 'postsubmit', type: 'arm64' }, 600);
    fx.sim.control.setFaults({ bootloopTemplates: [canaryTemplate] });
    try {
      await fx.run('canaryMig', { mig: loopMig, template: canaryTemplate, canarySize: 1 });
      const making = await fx.run('drainIdleRunners', { mig: loopMig, keepTemplate: canaryTemplate });
      assert.deepEqual(making.skippedBusy, [busy.name]);
      // Past the first crash: the MIG recreates the canary VM again and again and it never registers.
      fx.sim.control.advance(10 * 60);
      const looping = fx.sim.control.mig(loopMig.name).instances.find((i) => i.template === canaryTemplate);
      assert.ok(looping !== undefined && looping.recreations > 0 && looping.runner === null, JSON.stringify(looping));
      assert.notEqual(looping.currentAction, 'NONE', 'the VM is mid-loop, not settled');

      await fx.run('rollbackCanary', { mig: loopMig, canaryTemplate });
      const result = await fx.run('drainIdleRunners', {
        mig: loopMig,
        keepTemplate: baseTemplate,
      });
      assert.deepEqual(result.removedStuck, [looping.name]);
      const after = fx.sim.control.mig(loopMig.name).instances;
      assert.deepEqual(
        after.filter((i) => i.template === canaryTemplate && i.currentAction !== 'DELETING').map((i) => i.name),
        [],
        'nothing is left running the rolled-back template',
      );
      assert.equal(after.find((i) => i.name === busy.name)?.runner?.busy, true, 'the busy runner kept its VM and job');
    } finally {
      fx.sim.control.clearFaults();
    }
  });

  test('a VM that never registered is removed by a drain keeping another template', async () => {
    const stuckMig = { region: 'us-west1', name: 'gh-runner-testing-presubmit-arm64-us-west1' };
    fx.sim.control.setFaults({ neverRegisterTemplates: [template('arm64', OLD)] });
    await grow(fx, stuckMig, 1);
    fx.sim.control.clearFaults();
    const [stuck] = fx.sim.control.mig(stuckMig.name).instances;
    assert.ok(stuck !== undefined && stuck.runner === null);
    const result = await fx.run('drainIdleRunners', { mig: stuckMig, keepTemplate: template('arm64', NEW) });
    assert.deepEqual(result.removedStuck, [stuck.name]);
    assert.equal(
      fx.sim.control.mig(stuckMig.name).instances.find((i) => i.name === stuck.name)?.currentAction ?? 'DELETING',
      'DELETING',
    );
  });

  test('a VM that registers while a drain keeping another template looks again is drained, not left idle', async () => {
    const lateMig = { region: 'us-central1', name: 'gh-runner-presubmit-arm64-us-central1' };
    const oldTemplate = template('arm64', OLD);
    const newTemplate = template('arm64', NEW);
    await grow(fx, lateMig, 1);
    await fx.run('canaryMig', { mig: lateMig, template: newTemplate, canarySize: 1 });
    // Opportunistic update: draining the old idle VM makes the MIG recreate it as the canary, which boots.
    await fx.run('drainIdleRunners', { mig: lateMig, keepTemplate: newTemplate });
    const booting = fx.sim.control.mig(lateMig.name).instances.find((i) => i.template === newTemplate);
    assert.ok(booting !== undefined && booting.runner === null, JSON.stringify(booting));
    await fx.run('rollbackCanary', { mig: lateMig, canaryTemplate: newTemplate });

    // The canary's runner comes online between the drain's first listing and the look right before deleting.
    let listingsStarted = 0;
    const github = fx.github;
    const registeringMeanwhile = fx.activitiesWith({
      github: {
        ...github,
        rest: github.rest,
        paginate: github.paginate,
        request: (async (...args: Parameters<typeof github.request>) => {
          const [route, parameters] = args as [string, { page?: number } | undefined];
          if (route === 'GET /orgs/{org}/actions/runners' && parameters?.page === 1) {
            listingsStarted += 1;
            if (listingsStarted === 2) fx.sim.control.advance(600);
          }
          return github.request(...args);
        }) as typeof github.request,
      },
    });
    const result = await inActivity(activityEnvironment(), () =>
      registeringMeanwhile.drainIdleRunners({ mig: lateMig, keepTemplate: oldTemplate }),
    );
    assert.equal(listingsStarted, 2);
    assert.deepEqual(result.drained, [booting.name]);
    assert.deepEqual(result.removedStuck, []);
    const left = fx.sim.control.mig(lateMig.name).instances.find((i) => i.name === booting.name);
    assert.ok(
      left === undefined || left.currentAction === 'DELETING',
      `left on ${newTemplate}: ${JSON.stringify(left)}`,
    );
    const registered = await fx.run('listRunners', { namePrefix: `${lateMig.name}-` });
    assert.ok(!registered.some((runner) => runner.name === booting.name), 'its runner left GitHub');
  });
});
