/**
 * The pool controller's run-time settings (`rollout pools set`) on the time-skipping server: the validator refuses
 * bad ones with their reason (and a refused change changes nothing), the next decision sizes by the new bounds,
 * mode `off` stops the controller's writes, and the settings cross continue-as-new.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { poolSettingsUpdate, poolStateQuery, type PoolSettings } from '../../workflows/pool-contract.js';
import { timerClearance } from '../helpers/timer-clearance.js';
import {
  FakePool,
  POOL,
  jobEvent,
  poolSignals,
  queuePolicy,
  untilPool,
  withPoolController,
} from '../helpers/pool-harness.js';
import { perTestServer } from '../helpers/rollout-harness.js';

const OFF = { environment: 'prod', group: 'presubmit', type: 'gpu', mode: 'off' } as const;

const server = perTestServer();

/** The update failed with the validator's reason. */
async function refused(update: Promise<unknown>, reason: RegExp): Promise<void> {
  await assert.rejects(update, (error: unknown) => {
    assert.ok(error instanceof WorkflowUpdateFailedError, String(error));
    assert.match(error.cause?.message ?? '', reason);
    return true;
  });
}

test('the validator refuses bad settings with their reason, and a refused change changes nothing', async (t) => {
  const pool = new FakePool(queuePolicy(0, 6));
  await withPoolController(server, t.name, pool, async (handle) => {
    const settings = timerClearance(server.env, () => []);
    await untilPool(server.env, handle, (s) => s.max === 6, "the fleet file's policy read");
    const refusals: [PoolSettings, RegExp][] = [
      [{ mode: 'auto' as never }, /unknown mode "auto"/],
      [{ min: -1 }, /min of pool prod\/presubmit\/gpu must be a whole number/],
      [{ min: 5, max: 3 }, /min 5 is more than max 3/],
      [{ max: 10 }, /max 10 is beyond the fleet file's max 6/],
      [{}, /nothing to set/],
    ];
    for (const [change, reason] of refusals) {
      await refused(settings.update(handle, poolSettingsUpdate, change), reason);
    }
    const state = await untilPool(server.env, handle, () => true, 'the state');
    assert.deepEqual(state.settings, {});
    assert.equal(state.mode, 'queue');
    assert.deepEqual([state.min, state.max], [0, 6]);
  });
});

test('the next decision sizes by the new bounds, and mode off stops the controller writing', async (t) => {
  const pool = new FakePool(queuePolicy(0, 10));
  await withPoolController(server, t.name, pool, async (handle) => {
    const settings = timerClearance(server.env, () => []);
    const signal = poolSignals(server.env, pool);
    await untilPool(server.env, handle, (s) => s.max === 10, "the fleet file's policy read");
    const ack = await settings.update(handle, poolSettingsUpdate, { max: 4 });
    assert.deepEqual(ack, { pool: POOL, settings: { max: 4 }, mode: 'queue', min: 0, max: 4 });
    for (let job = 1; job <= 8; job++) await signal(handle, jobEvent('queued', job));
    const capped = await untilPool(server.env, handle, (s) => s.current === 4, 'four VMs ordered');
    assert.equal(capped.desired, 4, 'eight queued jobs, clamped to the max set');
    assert.equal(capped.max, 4);

    await settings.update(handle, poolSettingsUpdate, { min: 1, max: 6 });
    const raised = await untilPool(server.env, handle, (s) => s.current === 6, 'six VMs ordered');
    assert.equal(raised.desired, 6);
    assert.deepEqual(raised.settings, { min: 1, max: 6 });
    // GCP resizes an autoscaled MIG only with its autoscaler off: the controller took both over, once.
    const migNames = [...pool.migs.keys()];
    assert.deepEqual(raised.autoscalerModes, Object.fromEntries(migNames.map((name) => [name, 'ONLY_SCALE_OUT'])));
    assert.deepEqual(
      pool.writes().filter((call) => call.name === 'setPoolAutoscalerMode'),
      migNames.map((name) => ({ name: 'setPoolAutoscalerMode', detail: `${name} OFF` })),
    );

    const writes = pool.writes().length;
    await settings.update(handle, poolSettingsUpdate, { mode: 'off' });
    for (let job = 9; job <= 12; job++) await signal(handle, jobEvent('queued', job));
    const off = await untilPool(
      server.env,
      handle,
      (s) => s.jobs.queued === 12 && s.lastAction?.startsWith('off: would scale out') === true,
      'the new jobs recorded in mode off',
    );
    assert.equal(off.mode, 'off');
    assert.deepEqual(off.settings, { min: 1, max: 6, mode: 'off' });
    await untilPool(server.env, handle, (s) => s.reconciledAt !== off.reconciledAt, 'a reconciliation later', {
      step: 60_000,
    });
    assert.deepEqual(
      pool.writes().slice(writes),
      migNames.map((name) => ({ name: 'setPoolAutoscalerMode', detail: `${name} ONLY_SCALE_OUT` })),
      'in mode off no size changed: the autoscalers got their mode back, once',
    );
    assert.deepEqual(
      [...pool.migs.values()].map((mig) => mig.autoscalerMode),
      migNames.map(() => 'ONLY_SCALE_OUT'),
    );
    assert.deepEqual((await handle.query(poolStateQuery)).autoscalerModes, {});
  });
});

test('a pool the fleet file leaves off is sized once an operator sets mode queue with bounds', async (t) => {
  const pool = new FakePool(OFF);
  await withPoolController(server, t.name, pool, async (handle) => {
    const settings = timerClearance(server.env, () => []);
    const signal = poolSignals(server.env, pool);
    await untilPool(server.env, handle, (s) => s.lastAction !== undefined, 'the first decision');
    await refused(settings.update(handle, poolSettingsUpdate, { mode: 'queue' }), /no bounds in the fleet file/);
    await settings.update(handle, poolSettingsUpdate, { mode: 'queue', min: 0, max: 3 });
    for (let job = 1; job <= 5; job++) await signal(handle, jobEvent('queued', job));
    const state = await untilPool(server.env, handle, (s) => s.current === 3, 'three VMs ordered');
    assert.equal(state.mode, 'queue');
    assert.equal(state.desired, 3);
  });
});

test('settings cross continue-as-new: the validator and the decisions of the next run keep them', async (t) => {
  const pool = new FakePool(queuePolicy(0, 40));
  await withPoolController(
    server,
    t.name,
    pool,
    async (handle) => {
      const settings = timerClearance(server.env, () => []);
      const signal = poolSignals(server.env, pool);
      await untilPool(server.env, handle, (s) => s.max === 40, "the fleet file's policy read");
      await settings.update(handle, poolSettingsUpdate, { min: 2, max: 12 });
      for (let job = 1; job <= 30; job++) await signal(handle, jobEvent('queued', job));
      const state = await untilPool(
        server.env,
        handle,
        (s) => s.continuedAsNew > 0 && s.eventsApplied === 30 && s.current === 12,
        'a continued run at the max set',
      );
      assert.notEqual((await handle.describe()).runId, handle.firstExecutionRunId, 'a new run');
      assert.deepEqual(state.settings, { min: 2, max: 12 });
      assert.equal(state.desired, 12);
      // The carried min is the one the validator holds a new max against.
      await refused(settings.update(handle, poolSettingsUpdate, { max: 1 }), /min 2 is more than max 1/);
      await settings.update(handle, poolSettingsUpdate, { max: 14 });
      const raised = await untilPool(server.env, handle, (s) => s.current === 14, 'the raised max applied');
      assert.deepEqual(raised.settings, { min: 2, max: 14 });
    },
    { maxHistoryEvents: 60 },
  );
});
