import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Webhooks } from '@octokit/webhooks';
import { defaultFleet } from '../../runner-config/default-fleet.js';
import { fleetPools } from '../../runner-config/pools.js';
import type { ReceiverLogEntry } from '../../webhooks/deliveries.js';
import type { PoolSignalSink } from '../../webhooks/pool-signals.js';
import { MAX_BODY_BYTES, startWebhookReceiver, type WebhookReceiver } from '../../webhooks/receiver.js';
import type { PoolJobEvent } from '../../workflows/pool-contract.js';

const SECRET = 'receiver-test-secret';
const signer = new Webhooks({ secret: SECRET });
const GPU_LABELS = ['self-hosted', 'os-family=Linux', 'runner-group=presubmit', 'environment=prod', 'gpu'];

/** A sink that records each signal; `failing` makes the next signals throw, as an unreachable Temporal would. */
class RecordingSink implements PoolSignalSink {
  readonly signals: { pool: string; event: PoolJobEvent }[] = [];
  failing = false;
  async signal(pool: string, event: PoolJobEvent): Promise<void> {
    if (this.failing) throw new Error('connection refused');
    this.signals.push({ pool, event });
  }
}

function jobPayload(jobId: number, action = 'queued', labels: readonly string[] = GPU_LABELS): string {
  return JSON.stringify({
    action,
    workflow_job: {
      id: jobId,
      run_id: 500 + jobId,
      labels,
      status: action,
      runner_name: action === 'queued' ? null : `gh-runner-presubmit-gpu-us-west1-${jobId}`,
    },
    organization: { login: 'iree-org' },
  });
}

interface Delivery {
  readonly body: string;
  readonly event?: string;
  readonly delivery?: string;
  readonly signature?: string | null;
}

describe('webhook receiver', () => {
  const sink = new RecordingSink();
  const logs: ReceiverLogEntry[] = [];
  let receiver: WebhookReceiver;

  before(async () => {
    receiver = await startWebhookReceiver({
      port: 0,
      host: '127.0.0.1',
      secret: SECRET,
      pools: fleetPools(defaultFleet()),
      sink,
      log: (entry) => logs.push(entry),
      deliveryWindow: 1000,
    });
  });
  after(() => receiver.close());

  async function deliver(delivery: Delivery): Promise<Response> {
    const signature = delivery.signature === undefined ? await signer.sign(delivery.body) : delivery.signature;
    return fetch(receiver.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': delivery.event ?? 'workflow_job',
        'x-github-delivery': delivery.delivery ?? randomUUID(),
        ...(signature === null ? {} : { 'x-hub-signature-256': signature }),
      },
      body: delivery.body,
    });
  }

  test('a signed workflow_job delivery is signalled to the pool of its labels (202)', async () => {
    const before = sink.signals.length;
    const response = await deliver({ body: jobPayload(1, 'in_progress'), delivery: 'delivery-1' });
    assert.equal(response.status, 202);
    assert.match(await response.text(), /job 1 in_progress sent to pool prod\/presubmit\/gpu/);
    assert.deepEqual(sink.signals.slice(before), [
      {
        pool: 'prod/presubmit/gpu',
        event: {
          action: 'in_progress',
          jobId: 1,
          runId: 501,
          labels: GPU_LABELS,
          runnerName: 'gh-runner-presubmit-gpu-us-west1-1',
          deliveryId: 'delivery-1',
        },
      },
    ]);
  });

  test('a bad or missing signature is refused with 401 and nothing is signalled', async () => {
    const before = sink.signals.length;
    const body = jobPayload(2);
    const forged = await new Webhooks({ secret: 'another-secret' }).sign(body);
    assert.equal((await deliver({ body, signature: forged })).status, 401);
    assert.equal((await deliver({ body, signature: null })).status, 401);
    assert.equal((await deliver({ body, signature: 'sha256=00' })).status, 401);
    // Signed, then changed on the way.
    const tampered = await signer.sign(body);
    assert.equal((await deliver({ body: jobPayload(3), signature: tampered })).status, 401);
    assert.equal(sink.signals.length, before);
  });

  test('a body over the limit is refused with 413, declared or streamed', async () => {
    const before = receiver.counts.tooLarge;
    const big = JSON.stringify({ action: 'queued', padding: 'x'.repeat(MAX_BODY_BYTES) });
    const declared = await deliver({ body: big, signature: 'sha256=unread' });
    assert.equal(declared.status, 413);
    // Chunked, without a Content-Length: refused once the limit is passed.
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 32) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const streamed = await fetch(receiver.url, {
      method: 'POST',
      headers: {
        'x-github-event': 'workflow_job',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': 'sha256=x',
      },
      body: stream,
      duplex: 'half',
    });
    assert.equal(streamed.status, 413);
    assert.equal(receiver.counts.tooLarge, before + 2);
    // The connection is still good for the next delivery.
    assert.equal((await deliver({ body: jobPayload(4) })).status, 202);
  });

  test('malformed JSON, or JSON that is no workflow_job payload, is refused with 400', async () => {
    const before = sink.signals.length;
    const notJson = await deliver({ body: '{"action": "queued", ' });
    assert.equal(notJson.status, 400);
    assert.match(await notJson.text(), /not JSON/);
    const noId = await deliver({ body: JSON.stringify({ action: 'queued', workflow_job: { labels: [] } }) });
    assert.equal(noId.status, 400);
    assert.match(await noId.text(), /not a workflow_job payload: workflow_job\.id/);
    const noEvent = await fetch(receiver.url, {
      method: 'POST',
      headers: { 'x-hub-signature-256': await signer.sign('{}'), 'x-github-delivery': randomUUID() },
      body: '{}',
    });
    assert.equal(noEvent.status, 400);
    assert.equal(sink.signals.length, before);
  });

  test('a delivery received twice is signalled once', async () => {
    const before = sink.signals.length;
    const body = jobPayload(5);
    assert.equal((await deliver({ body, delivery: 'delivery-5' })).status, 202);
    const again = await deliver({ body, delivery: 'delivery-5' });
    assert.equal(again.status, 204);
    assert.match(again.headers.get('x-receiver-result') ?? '', /already%20received/);
    assert.equal(sink.signals.length, before + 1);
  });

  test('other events and other actions are accepted and ignored (204)', async () => {
    const before = sink.signals.length;
    assert.equal(
      (await deliver({ body: JSON.stringify({ zen: 'Keep it logically awesome.' }), event: 'ping' })).status,
      204,
    );
    assert.equal((await deliver({ body: JSON.stringify({ ref: 'refs/heads/main' }), event: 'push' })).status, 204);
    assert.equal((await deliver({ body: jobPayload(6, 'waiting') })).status, 204);
    assert.equal(sink.signals.length, before);
  });

  test('a job matching no pool, or several, is counted and logged once per label set', async () => {
    const before = { ...receiver.counts };
    const logged = logs.length;
    for (const id of [7, 8]) {
      assert.equal((await deliver({ body: jobPayload(id, 'queued', ['ubuntu-latest']) })).status, 204);
      assert.equal((await deliver({ body: jobPayload(id, 'queued', ['self-hosted', 'gpu']) })).status, 204);
    }
    assert.equal(receiver.counts.unmatched, before.unmatched + 2);
    assert.equal(receiver.counts.ambiguous, before.ambiguous + 2);
    assert.deepEqual(
      logs.slice(logged).map((entry) => entry.event),
      ['unmatched', 'ambiguous'],
    );
    assert.match(logs[logged + 1]?.message ?? '', /pools prod\/postsubmit\/gpu, prod\/presubmit\/gpu, testing/);
  });

  test('a delivery that cannot be signalled is answered 503 and taken again when redelivered', async () => {
    const body = jobPayload(9);
    sink.failing = true;
    try {
      assert.equal((await deliver({ body, delivery: 'delivery-9' })).status, 503);
    } finally {
      sink.failing = false;
    }
    assert.equal(logs.at(-1)?.event, 'signal-failed');
    assert.equal((await deliver({ body, delivery: 'delivery-9' })).status, 202);
  });

  test('only POST / takes deliveries; GET /healthz answers', async () => {
    assert.equal((await fetch(new URL('/healthz', receiver.url))).status, 200);
    assert.equal((await fetch(receiver.url)).status, 405);
    assert.equal((await fetch(new URL('/hooks', receiver.url), { method: 'POST', body: '{}' })).status, 404);
  });

  test('a burst of 10,000 deliveries is forwarded with a de-duplication window that stays at its limit', async () => {
    const before = sink.signals.length;
    const ids = Array.from({ length: 10_000 }, (_, index) => 100_000 + index);
    const lanes = 16;
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        for (let index = lane; index < ids.length; index += lanes) {
          const id = ids[index] ?? 0;
          const response = await deliver({ body: jobPayload(id), delivery: `burst-${id}` });
          assert.equal(response.status, 202);
          await response.body?.cancel();
        }
      }),
    );
    assert.equal(sink.signals.length, before + ids.length);
    assert.equal(receiver.deliveriesRemembered(), 1000);
    // The newest deliveries are still recognised; the oldest have left the window.
    assert.equal((await deliver({ body: jobPayload(109_999), delivery: 'burst-109999' })).status, 204);
    assert.equal((await deliver({ body: jobPayload(100_000), delivery: 'burst-100000' })).status, 202);
  });
});

test('the receiver refuses to start without a secret', async () => {
  await assert.rejects(
    startWebhookReceiver({
      port: 0,
      secret: '',
      pools: [],
      sink: new RecordingSink(),
      log: () => undefined,
    }),
    /secret must not be empty/,
  );
});
