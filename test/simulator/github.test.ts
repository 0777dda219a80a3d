import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';

import { startSimulator, type SimulatorHandle } from '../../simulator/index.js';
import { octokit, silentLog } from './clients.js';

const ORG = 'iree-org';

function shaLines(body: string): Record<string, string> {
  const digests: Record<string, string> = {};
  for (const match of body.matchAll(/<!-- BEGIN SHA ([\w-]+) -->([0-9a-f]{64})<!-- END SHA \1 -->/g)) {
    digests[match[1] ?? ''] = match[2] ?? '';
  }
  return digests;
}

describe('simulator: GitHub REST through the real Octokit', () => {
  let sim: SimulatorHandle;
  let github: Octokit;

  before(async () => {
    sim = await startSimulator({ speed: 0, seed: 3, startTime: '2026-03-02T00:00:00Z', jobRates: [] });
    github = octokit(sim.url);
  });

  after(async () => {
    await sim.close();
  });

  test('runners paginate with absolute Link headers and carry the fleet labels', async () => {
    const first = await github.rest.actions.listSelfHostedRunnersForOrg({ org: ORG, per_page: 5 });
    assert.equal(first.data.total_count, 32);
    assert.equal(first.data.runners.length, 5);
    assert.match(
      first.headers.link ?? '',
      new RegExp(`^<${sim.url}/orgs/${ORG}/actions/runners\\?per_page=5&page=2>; rel="next"`),
    );
    const all = await github.paginate(github.rest.actions.listSelfHostedRunnersForOrg, { org: ORG, per_page: 5 });
    assert.equal(all.length, 32);
    assert.equal(new Set(all.map((runner) => runner.id)).size, 32);
    const runner = all.find((candidate) => candidate.name.startsWith('gh-runner-postsubmit-arm64-us-east1-'));
    assert.ok(runner);
    const labels = runner.labels.map((label) => label.name);
    for (const expected of [
      'self-hosted',
      'ARM64',
      'runner-version=2.319.1',
      'environment=prod',
      'runner-group=postsubmit',
      'trust=basic',
      'arm64',
    ]) {
      assert.ok(labels.includes(expected), `label ${expected} in ${labels.join(',')}`);
    }
    assert.ok(labels.some((label) => /^zone=us-east1-[bcd]$/.test(label)));
    assert.equal(runner.status, 'online');
    assert.equal(runner.busy, false);
  });

  test('get a runner; unknown runners and other orgs are 404', async () => {
    const [some] = (await github.rest.actions.listSelfHostedRunnersForOrg({ org: ORG, per_page: 1 })).data.runners;
    assert.ok(some);
    const got = await github.rest.actions.getSelfHostedRunnerForOrg({ org: ORG, runner_id: some.id });
    assert.equal(got.data.name, some.name);
    await assert.rejects(github.rest.actions.getSelfHostedRunnerForOrg({ org: ORG, runner_id: 999_999 }), {
      status: 404,
    });
    await assert.rejects(github.rest.actions.listSelfHostedRunnersForOrg({ org: 'other-org' }), { status: 404 });
  });

  test('deleting a busy runner is 422; an idle one is 204 and its VM keeps running', async () => {
    const mig = 'gh-runner-presubmit-gpu-us-west1';
    sim.control.submitJobs({ environment: 'prod', group: 'presubmit', type: 'gpu', count: 4, durationMinutes: 60 });
    const busy = [...sim.model.runners.values()].find((runner) => runner.name.startsWith(`${mig}-`));
    assert.ok(busy?.busy);
    await assert.rejects(
      github.rest.actions.deleteSelfHostedRunnerFromOrg({ org: ORG, runner_id: busy.id }),
      (error: { status?: number; message?: string }) => {
        assert.equal(error.status, 422);
        assert.match(error.message ?? '', /still running a job/);
        return true;
      },
    );

    const idleMig = 'gh-runner-postsubmit-cpu-us-west1';
    const idle = [...sim.model.runners.values()].find((runner) => runner.name.startsWith(`${idleMig}-`));
    assert.ok(idle && !idle.busy);
    const deleted = await github.rest.actions.deleteSelfHostedRunnerFromOrg({ org: ORG, runner_id: idle.id });
    assert.equal(deleted.status, 204);
    await assert.rejects(github.rest.actions.getSelfHostedRunnerForOrg({ org: ORG, runner_id: idle.id }), {
      status: 404,
    });
    sim.control.advance(600);
    const vm = sim.control.mig(idleMig).instances.find((instance) => instance.name === idle.name);
    assert.equal(vm?.status, 'RUNNING', 'the VM stays until it is deleted through the MIG');
    assert.equal(vm.runner, null);
    const log = sim.control.mutations({ endpoint: 'github.runners.delete' });
    assert.deepEqual(
      log.map((entry) => [entry.status, entry.effective]),
      [
        [422, false],
        [204, true],
      ],
    );
  });

  test('registration and remove tokens', async () => {
    const registration = await github.rest.actions.createRegistrationTokenForOrg({ org: ORG });
    assert.equal(registration.status, 201);
    assert.ok(registration.data.token.length > 10);
    assert.ok(Date.parse(registration.data.expires_at) > Date.parse('2026-03-02T00:00:00Z'));
    const removal = await github.rest.actions.createRemoveTokenForOrg({ org: ORG });
    assert.equal(removal.status, 201);
  });

  test('workflow runs and their jobs show which runner ran them and how they ended', async () => {
    const since = new Date(sim.model.now()).toISOString();
    sim.control.setFaults({
      failingTemplates: [{ template: 'gh-runner-postsubmit-gpu-0000000000-aaa', failureRate: 1 }],
    });
    const [job] = sim.control.submitJobs({ environment: 'prod', group: 'postsubmit', type: 'gpu', durationMinutes: 5 });
    sim.control.advance(600);
    sim.control.clearFaults();
    const runs = await github.paginate(github.rest.actions.listWorkflowRunsForRepo, {
      owner: 'iree-org',
      repo: 'iree',
      created: `>=${since}`,
      per_page: 100,
    });
    const run = runs.find((candidate) => candidate.id === job?.id);
    assert.equal(run?.status, 'completed');
    assert.equal(run.conclusion, 'failure');
    const { data } = await github.rest.actions.listJobsForWorkflowRun({
      owner: 'iree-org',
      repo: 'iree',
      run_id: run.id,
    });
    assert.equal(data.jobs[0]?.runner_name, job?.runnerName);
    assert.ok(data.jobs[0]?.labels.includes('runner-group=postsubmit'));
    await assert.rejects(github.rest.actions.listWorkflowRunsForRepo({ owner: 'iree-org', repo: 'other' }), {
      status: 404,
    });
  });

  test('runner releases: SHA lines in the body match the downloadable assets; published releases become latest', async () => {
    const latest = (await github.rest.repos.getLatestRelease({ owner: 'actions', repo: 'runner' })).data;
    assert.equal(latest.tag_name, 'v2.319.1');
    const digests = shaLines(latest.body ?? '');
    assert.deepEqual(Object.keys(digests).sort(), [
      'linux-arm',
      'linux-arm64',
      'linux-x64',
      'osx-arm64',
      'osx-x64',
      'win-arm64',
      'win-x64',
    ]);
    const asset = latest.assets.find((candidate) => candidate.name === 'actions-runner-linux-x64-2.319.1.tar.gz');
    assert.ok(asset);
    const bytes = Buffer.from(await (await fetch(asset.browser_download_url)).arrayBuffer());
    assert.equal(bytes.length, asset.size);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), digests['linux-x64']);

    sim.control.publishRelease({ version: '2.330.0', digestMismatch: true });
    const mismatched = (await github.rest.repos.getLatestRelease({ owner: 'actions', repo: 'runner' })).data;
    assert.equal(mismatched.tag_name, 'v2.330.0');
    const wrong = mismatched.assets.find((candidate) => candidate.name === 'actions-runner-linux-x64-2.330.0.tar.gz');
    assert.ok(wrong);
    const wrongBytes = Buffer.from(await (await fetch(wrong.browser_download_url)).arrayBuffer());
    assert.notEqual(
      createHash('sha256').update(wrongBytes).digest('hex'),
      shaLines(mismatched.body ?? '')['linux-x64'],
    );

    sim.control.advance(3600);
    sim.control.publishRelease({ version: '2.331.0', withoutShaLines: true, security: true });
    const bare = (await github.rest.repos.getLatestRelease({ owner: 'actions', repo: 'runner' })).data;
    assert.deepEqual(shaLines(bare.body ?? ''), {});
    assert.match(bare.body ?? '', /security release/i);
    const list = (await github.rest.repos.listReleases({ owner: 'actions', repo: 'runner', per_page: 1 })).data;
    assert.equal(list[0]?.tag_name, 'v2.331.0');
  });

  test('a security release stops jobs from reaching older runners', () => {
    const queuedBefore = sim.control.jobs().pools.find((pool) => pool.pool === 'prod/postsubmit/arm64')?.queued ?? 0;
    const [job] = sim.control.submitJobs({ environment: 'prod', group: 'postsubmit', type: 'arm64' });
    assert.equal(job?.startedAt, null, 'no runner on 2.319.1 may take the job');
    assert.equal(
      sim.control.jobs().pools.find((pool) => pool.pool === 'prod/postsubmit/arm64')?.queued,
      queuedBefore + 1,
    );
  });

  test('@octokit/auth-app exchanges its JWT for an installation token at the simulator', async () => {
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const app = new Octokit({
      baseUrl: sim.url,
      authStrategy: createAppAuth,
      auth: { appId: 12345, privateKey, installationId: 42 },
      log: silentLog,
    });
    const { data } = await app.rest.actions.listSelfHostedRunnersForOrg({ org: ORG, per_page: 1 });
    assert.equal(data.runners.length, 1);
    assert.equal(sim.control.counters()['github.app.installationToken']?.requests, 1);
  });

  test('injected faults: 429 rate limit and 502, and requests without auth get 401', async () => {
    sim.control.setFaults({
      endpoints: [
        { endpoint: 'github.runners.list', status: 429, count: 1 },
        { endpoint: 'github.*', status: 502, count: 1 },
      ],
    });
    await assert.rejects(
      github.rest.actions.listSelfHostedRunnersForOrg({ org: ORG }),
      (error: { status?: number; response?: { headers: Record<string, string> } }) => {
        assert.equal(error.status, 429);
        assert.equal(error.response?.headers['x-ratelimit-remaining'], '0');
        return true;
      },
    );
    await assert.rejects(github.rest.actions.createRegistrationTokenForOrg({ org: ORG }), { status: 502 });
    sim.control.clearFaults();
    const anonymous = await fetch(`${sim.url}/orgs/${ORG}/actions/runners`);
    assert.equal(anonymous.status, 401);
    assert.deepEqual(Object.keys((await anonymous.json()) as object).sort(), [
      'documentation_url',
      'message',
      'status',
    ]);
  });
});
