/**
 * The pool controller on the time-skipping server over a fake pool: a burst of queued jobs scales the pool out
 * within its bounds, completions scale it back in by removing idle runners only, a MIG a rollout holds is never
 * written, and mode `off` changes nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  FakePool,
  jobEvent,
  poolSignals,
  queuePolicy,
  untilPool,
  withPoolController,
} from '../helpers/pool-harness.js';
import { perTestServer } from '../helpers/rollout-harness.js';

const server = perTestServer();

test('a burst of queued jobs scales the pool out over its MIGs, up to its max', async (t) => {
  const pool = new FakePool(queuePolicy(0, 6));
  await withPoolController(server, t.name, pool, async (handle) => {
    const signal = poolSignals(server.env, pool);
    for (let job = 1; job <= 10; job++) await signal(handle, jobEvent('queued', job));
    const state = await untilPool(server.env, handle, (s) => s.current === 6, 'six VMs ordered');
    assert.equal(state.desired, 6, 'ten queued jobs, clamped to the max of 6');
    assert.equal(state.jobs.queued, 10);
    assert.deepEqual(Object.values(pool.targetSizes()), [3, 3], 'spread over the regions');
    // The Web UI shows a workflow's current details, which it reads through this built-in query.
    const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    assert.match(metadata.currentDetails ?? '', /\*\*Pool prod\/presubmit\/gpu\*\*: mode \*\*queue\*\*/);
    assert.match(metadata.currentDetails ?? '', /Desired 6, current 6/);
    assert.ok(pool.calls.every((call) => call.name !== 'removePoolRunners'));
  });
});

test('after the burst only idle runners go, by the busy-safe drain; a busy one survives', async (t) => {
  const pool = new FakePool(queuePolicy(0, 10));
  await withPoolController(server, t.name, pool, async (handle) => {
    const signal = poolSignals(server.env, pool);
    for (let job = 1; job <= 4; job++) await signal(handle, jobEvent('queued', job));
    await untilPool(server.env, handle, (s) => s.current === 4, 'four VMs ordered');
    pool.boot();
    const [a, b, c, d] = pool.vms();
    assert.ok(a !== undefined && b !== undefined && c !== undefined && d !== undefined);
    const runners = [a, b, c, d];
    for (const [index, vm] of runners.entries()) {
      pool.setRunner(vm, 'busy');
      await signal(handle, jobEvent('in_progress', index + 1, vm));
    }
    // Three jobs finish; the fourth runs on. One idle runner takes a new job just as it is removed.
    for (const [index, vm] of runners.slice(0, 3).entries()) {
      pool.setRunner(vm, 'idle');
      await signal(handle, jobEvent('completed', index + 1, vm));
    }
    pool.busyAtRemoval.add(c);
    const state = await untilPool(
      server.env,
      handle,
      (s) => s.lastAction?.startsWith('scale in') === true,
      'idle runners removed',
    );
    assert.deepEqual(pool.vms().sort(), [c, d].sort(), 'the busy runner and the one that took a job stayed');
    assert.deepEqual(pool.killed, []);
    assert.ok(state.lastAction?.includes('busy, kept'), state.lastAction);
    assert.equal(state.jobs.busy, 1);
    assert.ok(
      pool.calls.filter((call) => call.name === 'raisePoolMig').every((call) => /(\d+)->(\d+)/.test(call.detail)),
      'every size change was a raise',
    );
  });
});

test('scale-in removes the runners idle longest, as the controller first saw them idle', async (t) => {
  const pool = new FakePool(queuePolicy(2, 10));
  await withPoolController(server, t.name, pool, async (handle) => {
    const signal = poolSignals(server.env, pool);
    for (let job = 1; job <= 4; job++) await signal(handle, jobEvent('queued', job));
    await untilPool(server.env, handle, (s) => s.current === 4, 'four VMs ordered');
    pool.boot();
    // Names sort the us-central1 VMs first; they are the ones that go idle last.
    const central = pool.vms().filter((vm) => vm.includes('us-central1'));
    const west = pool.vms().filter((vm) => vm.includes('us-west1'));
    assert.equal(central.length, 2);
    for (const [index, vm] of central.entries()) {
      pool.setRunner(vm, 'busy');
      await signal(handle, jobEvent('in_progress', index + 1, vm));
    }
    for (const [index, vm] of west.entries()) {
      await signal(handle, jobEvent('in_progress', index + 3, vm));
      await signal(handle, jobEvent('completed', index + 3, vm));
    }
    await untilPool(server.env, handle, (s) => s.idle === 2 && s.busy === 2, 'the west runners seen idle');
    for (const [index, vm] of central.entries()) {
      pool.setRunner(vm, 'idle');
      await signal(handle, jobEvent('completed', index + 1, vm));
    }
    await untilPool(server.env, handle, (s) => s.current === 2, 'down to the pool min');
    assert.deepEqual(pool.vms().sort(), [...central].sort(), 'the runners idle longest went');
  });
});

test('a MIG a rollout holds is counted but never written', async (t) => {
  const pool = new FakePool(queuePolicy(0, 10));
  const [west, east] = [...pool.migs.keys()];
  assert.ok(west !== undefined && east !== undefined);
  pool.held.add(west);
  await withPoolController(server, t.name, pool, async (handle) => {
    const signal = poolSignals(server.env, pool);
    for (let job = 1; job <= 3; job++) await signal(handle, jobEvent('queued', job));
    const state = await untilPool(server.env, handle, (s) => s.current === 3, 'three VMs ordered');
    assert.deepEqual(state.heldMigs, [west]);
    assert.deepEqual(pool.targetSizes(), { [west]: 0, [east]: 3 });
    assert.ok(
      pool.writes().every((call) => !call.detail.startsWith(west)),
      JSON.stringify(pool.writes()),
    );
  });
});

test('a MIG a rollout takes gets its autoscaler back while held, and is taken over again once free', async (t) => {
  const pool = new FakePool(queuePolicy(0, 10));
  const [west, east] = [...pool.migs.keys()];
  assert.ok(west !== undefined && east !== undefined);
  await withPoolController(server, t.name, pool, async (handle) => {
    const signal = poolSignals(server.env, pool);
    await signal(handle, jobEvent('queued', 1));
    const sized = await untilPool(server.env, handle, (s) => s.current === 1, 'one VM ordered');
    assert.deepEqual(Object.keys(sized.autoscalerModes).sort(), [west, east].sort());
    const modes = (): string[] => [...pool.migs.values()].map((mig) => mig.autoscalerMode);
    assert.deepEqual(modes(), ['OFF', 'OFF']);

    const before = pool.writes().length;
    pool.held.add(west);
    await signal(handle, jobEvent('queued', 2));
    const held = await untilPool(server.env, handle, (s) => s.heldMigs.includes(west), 'the hold seen');
    assert.deepEqual(held.autoscalerModes, { [east]: 'ONLY_SCALE_OUT' });
    assert.equal(pool.migs.get(west)?.autoscalerMode, 'ONLY_SCALE_OUT', 'its own autoscaler sizes it meanwhile');
    assert.ok(
      pool
        .writes()
        .slice(before)
        .every((call) => call.name === 'setPoolAutoscalerMode' || !call.detail.startsWith(west)),
      `only the autoscaler's mode of the held MIG was written: ${JSON.stringify(pool.writes())}`,
    );

    pool.held.delete(west);
    await signal(handle, jobEvent('queued', 3));
    const free = await untilPool(
      server.env,
      handle,
      (s) => s.heldMigs.length === 0 && Object.keys(s.autoscalerModes).length === 2,
      'taken over again',
    );
    assert.deepEqual(free.autoscalerModes, { [west]: 'ONLY_SCALE_OUT', [east]: 'ONLY_SCALE_OUT' });
    assert.deepEqual(modes(), ['OFF', 'OFF']);
  });
});

test('mode off records the jobs and changes nothing', async (t) => {
  const pool = new FakePool({ environment: 'prod', group: 'presubmit', type: 'gpu', mode: 'off' });
  await withPoolController(server, t.name, pool, async (handle) => {
    const signal = poolSignals(server.env, pool);
    for (let job = 1; job <= 5; job++) await signal(handle, jobEvent('queued', job));
    const state = await untilPool(
      server.env,
      handle,
      (s) => s.reconciledAt !== undefined && s.jobs.queued === 5 && s.lastAction !== undefined,
      'the jobs recorded',
    );
    // Past a reconciliation and both cool-downs.
    await untilPool(server.env, handle, (s) => s.reconciledAt !== state.reconciledAt, 'a second reconciliation', {
      step: 60_000,
    });
    assert.equal(state.mode, 'off');
    assert.match(state.lastAction ?? '', /^off: would scale out/);
    assert.deepEqual(pool.writes(), []);
    assert.deepEqual(Object.values(pool.targetSizes()), [0, 0]);
    // Nothing acts on a job event in mode off: the pool is read at reconciliations only, not once per event.
    const observations = pool.calls.filter((call) => call.name === 'observePool');
    assert.ok(observations.length >= 2);
    assert.deepEqual(
      observations.map((call) => call.detail),
      observations.map(() => 'with queued jobs'),
    );
  });
});
