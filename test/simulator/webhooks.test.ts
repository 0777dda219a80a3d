import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Webhooks } from '@octokit/webhooks';
import { startSimulator } from '../../simulator/index.js';

interface WorkflowJobEvent {
  readonly action: string;
  readonly workflow_job: { id: number; status: string; conclusion: string | null; runner_name: string | null };
}

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

test('job transitions are delivered as workflow_job webhooks signed with the configured secret', async () => {
  const received: Received[] = [];
  const receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const secret = 'webhook-secret-for-tests';
  const sim = await startSimulator({
    speed: 0,
    jobRates: [],
    webhook: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`, secret },
  });
  try {
    const [job] = sim.control.submitJobs({
      environment: 'prod',
      group: 'presubmit',
      type: 'cpu',
      count: 1,
      durationMinutes: 5,
    });
    assert.ok(job !== undefined);
    sim.control.advance(15 * 60);
    await sim.webhooks.flush();

    const mine = received
      .map((delivery) => ({ ...delivery, payload: JSON.parse(delivery.body) as WorkflowJobEvent }))
      .filter((delivery) => delivery.payload.workflow_job.id === job.id);
    assert.deepEqual(
      mine.map((delivery) => delivery.payload.action),
      ['queued', 'in_progress', 'completed'],
    );
    const verifier = new Webhooks({ secret });
    const impostor = new Webhooks({ secret: 'another-secret' });
    for (const delivery of mine) {
      assert.equal(delivery.headers['x-github-event'], 'workflow_job');
      assert.match(String(delivery.headers['x-github-delivery']), /^[0-9a-f-]{36}$/);
      const signature = String(delivery.headers['x-hub-signature-256']);
      assert.match(signature, /^sha256=[0-9a-f]{64}$/);
      assert.equal(await verifier.verify(delivery.body, signature), true);
      assert.equal(await impostor.verify(delivery.body, signature), false);
      assert.equal(await verifier.verify(delivery.body.replace('"CI"', '"XX"'), signature), false);
    }
    const completed = mine.at(-1)?.payload.workflow_job;
    assert.equal(completed?.status, 'completed');
    assert.equal(completed.conclusion, 'success');
    assert.match(completed.runner_name ?? '', /^gh-runner-presubmit-cpu-/);
    assert.equal(mine[0]?.payload.workflow_job.runner_name, null, 'a queued job has no runner yet');
    assert.ok(sim.webhooks.deliveries.every((delivery) => delivery.status === 204));
  } finally {
    await sim.close();
    await new Promise<void>((resolve, reject) => receiver.close((error) => (error ? reject(error) : resolve())));
  }
});

test('a drop rate loses that share of deliveries, the same ones for the same seed, and is checked', async () => {
  const received = new Set<string>();
  const receiver = createServer((request, response) => {
    received.add(String(request.headers['x-github-delivery']));
    request.resume();
    request.on('end', () => response.writeHead(204).end());
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  const droppedJobs = async (): Promise<string[]> => {
    const sim = await startSimulator({
      speed: 0,
      seed: 11,
      jobRates: [],
      webhook: { url, secret: 's', dropRate: 0.3 },
    });
    try {
      sim.control.submitJobs({ environment: 'prod', group: 'presubmit', type: 'cpu', count: 40, durationMinutes: 5 });
      sim.control.advance(60 * 60);
      await sim.webhooks.flush();
      const deliveries = sim.webhooks.deliveries;
      assert.equal(deliveries.length, 120, 'queued, in_progress and completed of each job');
      for (const delivery of deliveries) {
        assert.equal(received.has(delivery.id), delivery.dropped !== true, `delivery ${delivery.id}`);
        assert.equal(delivery.status, delivery.dropped === true ? 0 : 204);
      }
      const dropped = deliveries.filter((delivery) => delivery.dropped === true);
      assert.ok(dropped.length > 20 && dropped.length < 52, `${dropped.length} of 120 dropped at 30%`);
      return dropped.map((delivery) => `${delivery.jobId}/${delivery.action}`);
    } finally {
      await sim.close();
    }
  };
  try {
    assert.deepEqual(await droppedJobs(), await droppedJobs());
    await assert.rejects(
      startSimulator({ speed: 0, jobRates: [], webhook: { url, secret: 's', dropRate: 1.5 } }),
      /webhook dropRate must be from 0 to 1, not 1.5/,
    );
  } finally {
    await new Promise<void>((resolve, reject) => receiver.close((error) => (error ? reject(error) : resolve())));
  }
});
