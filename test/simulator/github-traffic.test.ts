/** The simulator's record of GitHub traffic: what a run's requests cost, counted as GitHub counts them. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startSimulator, type GitHubTrafficView, type SimulatorHandle } from '../../simulator/index.js';

const RUNNERS = '/orgs/iree-org/actions/runners?per_page=100';

describe('simulator: GitHub traffic record', () => {
  let sim: SimulatorHandle;

  before(async () => {
    sim = await startSimulator({ speed: 0, seed: 3, startTime: '2026-03-02T00:00:00Z', jobRates: [] });
  });
  after(async () => {
    await sim.close();
  });

  const get = (path: string, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${sim.url}${path}`, { headers: { authorization: 'token test', ...headers } });

  async function traffic(): Promise<GitHubTrafficView> {
    return (await (await fetch(`${sim.url}/_sim/github-traffic`)).json()) as GitHubTrafficView;
  }

  test('charged requests per simulated hour; a 304 to a conditional request is free', async () => {
    sim.control.resetCounters();
    const first = await get(RUNNERS);
    assert.equal(first.status, 200);
    const etag = first.headers.get('etag') ?? '';
    assert.equal((await get(RUNNERS, { 'if-none-match': etag })).status, 304);
    sim.control.advance(3600);
    assert.equal((await get(RUNNERS)).status, 200);

    const view = await traffic();
    assert.equal(view.charged, 2);
    assert.equal(view.notModified, 1);
    assert.deepEqual(
      view.hours.map((hour) => [hour.charged, hour.notModified]),
      [
        [1, 1],
        [1, 0],
      ],
    );
    assert.equal(view.peakChargedPerHour, 1);
    assert.equal(view.secondaryLimited, 0);
  });

  test('the peak of concurrent requests, and the refusals past the secondary limit of 100', async () => {
    sim.control.resetCounters();
    sim.control.setFaults({ endpoints: [{ endpoint: 'github.runners.list', latencyMs: 400 }] });
    try {
      const answers = await Promise.all(Array.from({ length: 110 }, () => get(RUNNERS)));
      const refused = answers.filter((answer) => answer.status === 403 || answer.status === 429).length;
      const view = await traffic();
      assert.equal(view.peakConcurrent, 100);
      assert.equal(view.secondaryLimited, refused);
      assert.ok(refused >= 10, `${refused} refused`);
      assert.equal(view.charged, 110 - refused);
    } finally {
      sim.control.clearFaults();
    }
  });
});
