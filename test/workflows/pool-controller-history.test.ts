/**
 * The pool controller over time: webhooks GitHub never delivered are caught by the periodic reconciliation, and a
 * controller whose history reaches its budget continues as new with its jobs, counters and cool-downs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { poolStateQuery } from '../../workflows/pool-contract.js';
import {
  FakePool,
  jobEvent,
  poolSignals,
  queuePolicy,
  untilPool,
  withPoolController,
} from '../helpers/pool-harness.js';
import { perTestServer, recordHistory } from '../helpers/rollout-harness.js';

const server = perTestServer();

test('queued jobs whose webhooks were lost are found by reconciliation, and lost completions let the pool shrink', async (t) => {
  const pool = new FakePool(queuePolicy(0, 10));
  await withPoolController(server, t.name, pool, async (handle) => {
    const signal = poolSignals(server.env, pool);
    // The controller reconciles first thing; a job GitHub lists before its webhook arrives would count as missed.
    await untilPool(server.env, handle, (s) => s.reconciledAt !== undefined, 'the first reconciliation');
    await signal(handle, jobEvent('queued', 1));
    // GitHub drops the next three deliveries; the jobs wait in its queue all the same.
    for (let job = 2; job <= 4; job++) await signal(handle, jobEvent('queued', job), false);
    const found = await untilPool(server.env, handle, (s) => s.current === 4, 'four VMs ordered');
    assert.equal(found.missedJobs, 3);
    assert.equal(found.jobs.queued, 4);
    // Every job runs and finishes, and none of those webhooks arrives.
    pool.boot();
    for (const [index, vm] of pool.vms().entries()) {
      await signal(handle, jobEvent('in_progress', index + 1, vm), false);
      await signal(handle, jobEvent('completed', index + 1, vm), false);
    }
    const shrunk = await untilPool(server.env, handle, (s) => s.current === 0, 'the idle runners removed', {
      step: 60_000,
    });
    assert.deepEqual(shrunk.jobs, { queued: 0, busy: 0, tracked: 0 });
    assert.deepEqual(pool.vms(), []);
    assert.deepEqual(pool.killed, []);
  });
});

test('continue-as-new carries the jobs, the counters and the cool-downs', async (t) => {
  const pool = new FakePool(queuePolicy(0, 40));
  // A budget a few dozen events past the first run's start: the burst crosses it.
  await withPoolController(
    server,
    t.name,
    pool,
    async (handle) => {
      const signal = poolSignals(server.env, pool);
      for (let job = 1; job <= 30; job++) await signal(handle, jobEvent('queued', job));
      const state = await untilPool(
        server.env,
        handle,
        (s) => s.continuedAsNew > 0 && s.eventsApplied === 30 && s.current === 30,
        'a continued run at the desired size',
      );
      assert.equal(state.jobs.queued, 30, 'the job view crossed the continue-as-new');
      const description = await handle.describe();
      assert.notEqual(description.runId, handle.firstExecutionRunId, 'the controller runs on in a new run');
      await recordHistory(
        server.env.client,
        'pool-controller-continued-first-run',
        handle.workflowId,
        handle.firstExecutionRunId,
      );
      // A repeated delivery after the continue-as-new is recognised: the carried view knows the job.
      await signal(handle, jobEvent('queued', 1));
      const after = await untilPool(server.env, handle, (s) => s.eventsApplied === 31, 'the repeated event applied');
      assert.equal(after.jobs.queued, 30);
      const raises = pool.calls.filter((call) => call.name === 'raisePoolMig').length;
      assert.ok(raises <= 10, `no VM ordered twice across runs (${raises} raises)`);
      assert.equal((await handle.query(poolStateQuery)).current, 30);
      assert.equal(
        Object.values(pool.targetSizes()).reduce((sum, size) => sum + size, 0),
        30,
      );
    },
    { maxHistoryEvents: 60 },
  );
});
