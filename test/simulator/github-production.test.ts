import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../simulator/index.js';
import { octokit } from './clients.js';

const ORG = 'iree-org';
const START = '2026-03-02T00:00:00Z';

async function withSimulator(options: SimulatorOptions, body: (sim: SimulatorHandle) => Promise<void>): Promise<void> {
  const sim = await startSimulator({ speed: 0, seed: 5, startTime: START, jobRates: [], ...options });
  try {
    await body(sim);
  } finally {
    await sim.close();
  }
}

function get(sim: SimulatorHandle, path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${sim.url}${path}`, { headers: { authorization: 'token test-token', ...headers } });
}

async function statuses(responses: Promise<Response>[]): Promise<number[]> {
  return (await Promise.all(responses)).map((response) => {
    void response.body?.cancel();
    return response.status;
  });
}

describe('simulator: GitHub rate limits of the production profile', () => {
  test('githubPrimaryLimit: 5,000 requests an hour per token with accurate headers, then refused', async () => {
    const runners = `/orgs/${ORG}/actions/runners?per_page=1`;
    // The secondary limit would stop 5,000 requests in one frozen minute first.
    await withSimulator({ behaviours: { githubSecondaryLimits: false } }, async (sim) => {
      const first = await get(sim, runners);
      const reset = String(Math.ceil(Date.parse(START) / 1000) + 3600);
      assert.equal(first.headers.get('x-ratelimit-limit'), '5000');
      assert.equal(first.headers.get('x-ratelimit-remaining'), '4999');
      assert.equal(first.headers.get('x-ratelimit-used'), '1');
      assert.equal(first.headers.get('x-ratelimit-resource'), 'core');
      assert.equal(first.headers.get('x-ratelimit-reset'), reset);
      for (let sent = 1; sent < 5000; sent += 100) {
        const batch = Array.from({ length: Math.min(100, 5000 - sent) }, () => get(sim, runners));
        assert.ok((await statuses(batch)).every((status) => status === 200));
      }
      const refused = await get(sim, runners);
      assert.ok([403, 429].includes(refused.status));
      assert.equal(refused.headers.get('x-ratelimit-remaining'), '0');
      assert.equal(refused.headers.get('x-ratelimit-reset'), reset);
      assert.match(
        ((await refused.json()) as { message: string }).message,
        /^API rate limit exceeded for installation ID/,
      );
      await assert.rejects(octokit(sim.url).rest.actions.listSelfHostedRunnersForOrg({ org: ORG }), {
        status: refused.status,
      });
      const other = await get(sim, runners, { authorization: 'token other' });
      assert.equal(other.headers.get('x-ratelimit-remaining'), '4999');
      sim.model.advance(3600);
      const renewed = await get(sim, runners);
      assert.equal(renewed.status, 200);
      assert.equal(renewed.headers.get('x-ratelimit-remaining'), '4999');
    });
    await withSimulator({ profile: 'ideal' }, async (sim) => {
      const batch = Array.from({ length: 50 }, () => get(sim, runners));
      assert.ok((await statuses(batch)).every((status) => status === 200));
      assert.equal((await get(sim, runners)).headers.get('x-ratelimit-remaining'), '4999');
    });
  });

  test('githubPrimaryLimit: a 304 for a matching If-None-Match is free; ETags come with either profile', async () => {
    const path = `/orgs/${ORG}/actions/runners`;
    for (const profile of ['production', 'ideal'] as const) {
      await withSimulator({ profile }, async (sim) => {
        const first = await get(sim, path);
        const etag = first.headers.get('etag');
        assert.ok(etag !== null && etag !== '');
        const again = await get(sim, path, { 'if-none-match': etag });
        assert.equal(again.status, 304);
        assert.equal(await again.text(), '');
        const after = await get(sim, path);
        if (profile === 'production') {
          // The 304 did not count: the third request is the second one counted.
          assert.equal(after.headers.get('x-ratelimit-used'), '2');
          assert.equal(after.headers.get('x-ratelimit-remaining'), '4998');
        } else {
          assert.equal(after.headers.get('x-ratelimit-remaining'), '4999');
        }
        const [someRunner] = sim.model.runners.keys();
        assert.ok(someRunner !== undefined);
        assert.equal(sim.model.deleteRunner(someRunner), 'deleted');
        assert.equal((await get(sim, path, { 'if-none-match': etag })).status, 200);
      });
    }
  });

  test('githubSecondaryLimits: more than 900 points a minute is refused, with or without retry-after', async () => {
    const post = (sim: SimulatorHandle): Promise<Response> =>
      fetch(`${sim.url}/orgs/${ORG}/actions/runners/registration-token`, {
        method: 'POST',
        headers: { authorization: 'token secondary' },
      });
    await withSimulator({}, async (sim) => {
      // A POST costs 5 points: 180 of them spend the minute's 900.
      assert.ok((await statuses(Array.from({ length: 180 }, () => post(sim)))).every((status) => status === 201));
      const refused = await Promise.all(Array.from({ length: 20 }, () => post(sim)));
      const retryAfters = new Set<string | null>();
      for (const response of refused) {
        assert.ok([403, 429].includes(response.status), `status ${response.status}`);
        assert.match(((await response.json()) as { message: string }).message, /secondary rate limit/);
        retryAfters.add(response.headers.get('retry-after'));
      }
      assert.deepEqual([...retryAfters].sort(), ['60', null]);
      // Refused until a minute has passed, even for a one-point read.
      assert.ok(
        [403, 429].includes(
          (await get(sim, `/orgs/${ORG}/actions/runners`, { authorization: 'token secondary' })).status,
        ),
      );
      sim.model.advance(61);
      assert.equal((await post(sim)).status, 201);
    });
    await withSimulator({ profile: 'ideal' }, async (sim) => {
      assert.ok((await statuses(Array.from({ length: 200 }, () => post(sim)))).every((status) => status === 201));
    });
  });

  test('githubSecondaryLimits: more than 100 concurrent requests are refused', async () => {
    // Each answer takes 400 ms of real time, so 110 requests sent at once are all in flight together.
    const faults = { endpoints: [{ endpoint: 'github.runners.list', errorRate: 0, latencyMs: 400 }] };
    const burst = (sim: SimulatorHandle): Promise<number[]> =>
      statuses(Array.from({ length: 110 }, () => get(sim, `/orgs/${ORG}/actions/runners?per_page=1`)));
    await withSimulator({ faults }, async (sim) => {
      const answers = await burst(sim);
      assert.equal(answers.filter((status) => status === 200).length, 100);
      assert.ok(answers.filter((status) => status !== 200).every((status) => [403, 429].includes(status)));
    });
    await withSimulator({ profile: 'ideal', faults }, async (sim) => {
      assert.ok((await burst(sim)).every((status) => status === 200));
    });
  });

  test('publicReleaseReads: actions/runner releases answer without auth, 60 an hour per client', async () => {
    const anonymous = (sim: SimulatorHandle): Promise<Response> => fetch(`${sim.url}/repos/actions/runner/releases`);
    await withSimulator({}, async (sim) => {
      const first = await anonymous(sim);
      assert.equal(first.status, 200);
      assert.ok(((await first.json()) as unknown[]).length > 0);
      assert.equal(first.headers.get('x-ratelimit-limit'), '60');
      assert.equal(first.headers.get('x-ratelimit-remaining'), '59');
      for (let i = 1; i < 60; i++) assert.equal((await statuses([anonymous(sim)]))[0], 200);
      const refused = await anonymous(sim);
      assert.ok([403, 429].includes(refused.status));
      assert.equal(refused.headers.get('x-ratelimit-remaining'), '0');
      assert.match(((await refused.json()) as { message: string }).message, /^API rate limit exceeded for /);
      // Authenticated reads have their own, larger allowance.
      assert.equal((await get(sim, '/repos/actions/runner/releases/latest')).status, 200);
    });
    await withSimulator({ profile: 'ideal' }, async (sim) => {
      assert.equal((await anonymous(sim)).status, 401);
    });
  });
});
