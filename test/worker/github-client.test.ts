import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FailureType, toFailure } from '../../activities/failures.js';
import { createGitHubClient, GITHUB_CONCURRENT_REQUESTS } from '../../worker/clients.js';

let server: Server;
let url: string;
let inFlight = 0;
let peak = 0;

before(async () => {
  // A server that only measures how many requests are open at once; each takes 20 ms.
  server = createServer((request, response) => {
    // A front end that accepted the connection and never answers.
    if (request.url?.includes('/hang/') === true) return;
    inFlight++;
    peak = Math.max(peak, inFlight);
    void sleep(20).then(() => {
      inFlight--;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ id: 1, name: 'r', os: 'linux', status: 'online', busy: false, labels: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('GitHub client', () => {
  test('a worker keeps its concurrent GitHub requests under the cap, far below the secondary limit', async () => {
    const github = createGitHubClient({ baseUrl: url, token: 't', retries: 0, throttle: { enabled: false } });
    peak = 0;
    await Promise.all(
      Array.from({ length: 120 }, (_, index) =>
        github.rest.actions.getSelfHostedRunnerForOrg({ org: 'o', runner_id: index + 1 }),
      ),
    );
    assert.equal(peak, GITHUB_CONCURRENT_REQUESTS);
    assert.ok(GITHUB_CONCURRENT_REQUESTS * 4 <= 100, 'four workers together stay under 100 concurrent requests');
  });

  test('a request that gets no answer is abandoned after the timeout, as a network failure', async () => {
    const github = createGitHubClient({
      baseUrl: `${url}/hang`,
      token: 't',
      retries: 0,
      throttle: { enabled: false },
      requestTimeoutMs: 300,
    });
    const started = Date.now();
    const failure = await github.rest.actions.listSelfHostedRunnersForOrg({ org: 'o' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(failure !== undefined, 'the request failed');
    assert.equal((toFailure(failure, 'list runners') as { type?: string }).type, FailureType.UNAVAILABLE);
    assert.ok(Date.now() - started < 5_000);
  });
});
