/**
 * The receiver against the simulator's signed `workflow_job` deliveries: each transition of a job lands in the
 * controller of the pool the simulator queued the job in.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fleetPools } from '../../runner-config/pools.js';
import { startSimulator } from '../../simulator/index.js';
import type { PoolSignalSink } from '../../webhooks/pool-signals.js';
import { startWebhookReceiver } from '../../webhooks/receiver.js';
import type { PoolJobEvent } from '../../workflows/pool-contract.js';

test("the simulator's deliveries are verified and signalled to the pool each job was queued in", async () => {
  const secret = 'simulator-deliveries-secret';
  const signals: { pool: string; event: PoolJobEvent }[] = [];
  const sink: PoolSignalSink = { signal: async (pool, event) => void signals.push({ pool, event }) };
  const sim = await startSimulator({ speed: 0, jobRates: [], webhook: { url: 'http://127.0.0.1:1/', secret } });
  const receiver = await startWebhookReceiver({
    port: 0,
    host: '127.0.0.1',
    secret,
    pools: fleetPools(sim.model.fleet),
    sink,
    log: () => undefined,
  });
  try {
    sim.webhooks.configure({ url: receiver.url, secret });
    const gpu = sim.control.submitJobs({
      environment: 'prod',
      group: 'postsubmit',
      type: 'gpu',
      count: 2,
      durationMinutes: 5,
    });
    const cpu = sim.control.submitJobs({
      environment: 'testing',
      group: 'presubmit',
      type: 'cpu',
      count: 1,
      durationMinutes: 5,
    });
    sim.control.advance(30 * 60);
    await sim.webhooks.flush();

    const signalsOf = (jobId: number) =>
      signals.filter(({ event }) => event.jobId === jobId).map(({ pool, event }) => ({ pool, ...event }));
    for (const job of gpu) {
      const mine = signalsOf(job.id);
      assert.deepEqual(
        mine.map(({ pool, action }) => `${pool} ${action}`),
        ['prod/postsubmit/gpu queued', 'prod/postsubmit/gpu in_progress', 'prod/postsubmit/gpu completed'],
      );
      assert.equal(mine[0]?.runnerName, null);
      assert.match(mine[1]?.runnerName ?? '', /^gh-runner-postsubmit-gpu-/);
    }
    // Testing MIGs sit at 0..0: the job waits, and its pool's controller hears of it.
    assert.deepEqual(
      cpu.flatMap((job) => signalsOf(job.id).map(({ pool, action }) => `${pool} ${action}`)),
      ['testing/presubmit/cpu queued'],
    );
    assert.ok(sim.webhooks.deliveries.every((delivery) => delivery.status === 202));
    assert.equal(receiver.counts.unmatched + receiver.counts.ambiguous, 0);
  } finally {
    await sim.close();
    await receiver.close();
  }
});
