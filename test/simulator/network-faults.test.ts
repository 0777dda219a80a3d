import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import type { Octokit } from '@octokit/rest';

import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../simulator/index.js';
import { closeComputeClients, computeClients, octokit, turnAutoscalerOff, type ComputeClients } from './clients.js';

const PROJECT = 'iree-oss';
const REGION = 'us-west1';
const ORG = 'iree-org';
const MIG = 'gh-runner-presubmit-cpu-us-west1';
const RESIZE = 'compute.regionInstanceGroupManagers.resize';
/** The MIG every resize here targets; GCP resizes only a MIG whose autoscaler is off. */
const AT = { project: PROJECT, region: REGION, mig: MIG };
const LIST_RUNNERS = 'github.runners.list';
const OPTIONS: SimulatorOptions = { speed: 0, seed: 5, startTime: '2026-03-02T00:00:00Z', jobRates: [] };

type NetworkFault = 'connectionReset' | 'hang' | 'truncatedBody' | 'htmlBadGateway';

/**
 * Each fault is shown twice: the real client fails against the simulator with the fault rule, and the same call
 * to an ideal simulator without it succeeds, so the failure is the fault's and not the call's.
 */
describe('simulator: network-level faults through the real clients', () => {
  let sim: SimulatorHandle;
  let ideal: SimulatorHandle;
  let gce: ComputeClients;
  let idealGce: ComputeClients;
  let github: Octokit;
  let idealGithub: Octokit;

  before(async () => {
    sim = await startSimulator(OPTIONS);
    ideal = await startSimulator({ ...OPTIONS, profile: 'ideal' });
    gce = computeClients(sim.url);
    idealGce = computeClients(ideal.url);
    github = octokit(sim.url);
    idealGithub = octokit(ideal.url);
    for (const clients of [gce, idealGce]) await turnAutoscalerOff(clients, AT);
  });

  after(async () => {
    await Promise.all([closeComputeClients(gce), closeComputeClients(idealGce)]);
    await Promise.all([sim.close(), ideal.close()]);
  });

  function inject(kind: NetworkFault): void {
    sim.control.setFaults({
      endpoints: [
        { endpoint: RESIZE, kind },
        { endpoint: LIST_RUNNERS, kind },
      ],
    });
    sim.control.resetCounters();
  }

  function injectedCount(endpoint: string): { injectedFaults: number; statuses: Record<string, number> } | undefined {
    return sim.control.counters()[endpoint];
  }

  test('connectionReset: the socket is reset unanswered, the request has no effect', async () => {
    inject('connectionReset');
    const before = sim.control.mig(MIG).targetSize;
    await assert.rejects(resize(gce, before + 1), (error: Error & { code?: unknown }) => error.code === 'ECONNRESET');
    assert.equal(sim.control.mig(MIG).targetSize, before);
    await assert.rejects(listRunners(github), (error: Error & { status?: number }) => {
      assert.equal(error.status, 500, 'octokit reports a network failure as status 500');
      assert.match(error.message, /ECONNRESET/);
      return true;
    });
    assert.deepEqual(injectedCount(RESIZE), { requests: 1, injectedFaults: 1, statuses: { '0': 1 } });
    assert.equal(injectedCount(LIST_RUNNERS)?.injectedFaults, 1);

    await resize(idealGce, before + 1);
    assert.ok((await listRunners(idealGithub)).data.total_count > 0);
  });

  test('hang: no answer until the client gives up', async () => {
    inject('hang');
    await assert.rejects(listRunners(github, 300), (error: Error) => /aborted due to timeout/.test(error.message));
    assert.deepEqual(injectedCount(LIST_RUNNERS), { requests: 1, injectedFaults: 1, statuses: { '0': 1 } });

    assert.equal((await listRunners(idealGithub, 300)).status, 200);
  });

  test('truncatedBody: half the promised body, then a dropped connection; the mutation took effect', async () => {
    inject('truncatedBody');
    const before = sim.control.mig(MIG).targetSize;
    await assert.rejects(resize(gce, before + 2), (error: Error) =>
      /Invalid response body.*aborted/.test(error.message),
    );
    assert.equal(sim.control.mig(MIG).targetSize, before + 2, 'the backend applied the resize it could not answer');
    // Octokit swallows the failed body read: a 200 whose data is an empty string instead of the runner list.
    const { status, data } = await listRunners(github);
    assert.equal(status, 200);
    assert.equal(data, '');
    assert.deepEqual(injectedCount(RESIZE), { requests: 1, injectedFaults: 1, statuses: { '200': 1 } });
    assert.equal(injectedCount(LIST_RUNNERS)?.injectedFaults, 1);

    await resize(idealGce, before + 2);
    await listRunners(idealGithub);
  });

  test('htmlBadGateway: a 502 whose body is a front end HTML page, not the API error', async () => {
    inject('htmlBadGateway');
    await assert.rejects(resize(gce, 4), (error: Error & { code?: unknown }) => {
      assert.equal(error.code, 502);
      assert.match(error.message, /^<!DOCTYPE html>/);
      return true;
    });
    await assert.rejects(listRunners(github), (error: Error & { status?: number; response?: { data?: unknown } }) => {
      assert.equal(error.status, 502);
      assert.match(String(error.response?.data), /<html/);
      return true;
    });
    const raw = await fetch(`${sim.url}/orgs/${ORG}/actions/runners`);
    assert.equal(raw.status, 502);
    assert.match(raw.headers.get('content-type') ?? '', /^text\/html/);
    assert.deepEqual(injectedCount(LIST_RUNNERS)?.statuses, { '502': 2 });

    await resize(idealGce, 4);
    assert.equal((await listRunners(idealGithub)).status, 200);
  });
});

test('simulator: hung requests wait for clients without a timeout, and close() ends them promptly', async () => {
  const hangs = { endpoints: [RESIZE, LIST_RUNNERS].map((endpoint) => ({ endpoint, kind: 'hang' as const })) };
  const sim = await startSimulator({ ...OPTIONS, faults: hangs });
  const gce = computeClients(sim.url);
  await turnAutoscalerOff(gce, AT);
  // The compute client's REST transport has no per-call timeout: only the server closing ends its wait.
  const resizing = resize(gce, 3);
  const listing = listRunners(octokit(sim.url));
  const settled = await Promise.race([
    Promise.allSettled([resizing, listing]).then(() => true),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), 300)),
  ]);
  assert.equal(settled, false, 'neither client got an answer');
  const started = performance.now();
  await sim.close();
  assert.ok(performance.now() - started < 1000, 'close() did not wait for the hung requests');
  await assert.rejects(resizing, (error: Error & { code?: unknown }) => error.code === 'ECONNRESET');
  await assert.rejects(listing, (error: Error & { status?: number }) => error.status === 500);
  await closeComputeClients(gce);

  const ideal = await startSimulator({ ...OPTIONS, profile: 'ideal' });
  const idealGce = computeClients(ideal.url);
  await turnAutoscalerOff(idealGce, AT);
  await resize(idealGce, 3);
  await closeComputeClients(idealGce);
  await ideal.close();
});

/** A resize is not retried by the compute client (it is not idempotent), so its one failure reaches the test. */
function resize(clients: ComputeClients, size: number) {
  return clients.migs.resize({ project: PROJECT, region: REGION, instanceGroupManager: MIG, size });
}

function listRunners(client: Octokit, timeoutMs?: number) {
  return client.rest.actions.listSelfHostedRunnersForOrg({
    org: ORG,
    ...(timeoutMs === undefined ? {} : { request: { signal: AbortSignal.timeout(timeoutMs) } }),
  });
}
