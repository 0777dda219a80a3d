import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';

import type { Octokit } from '@octokit/rest';

import type { SimRunner } from '../../simulator/fleet-types.js';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../simulator/index.js';
import { octokit } from './clients.js';

const ORG = 'iree-org';

async function withSimulator(
  options: SimulatorOptions,
  body: (sim: SimulatorHandle, github: Octokit) => Promise<void>,
): Promise<void> {
  const sim = await startSimulator({ speed: 0, seed: 5, startTime: '2026-03-02T00:00:00Z', jobRates: [], ...options });
  try {
    await body(sim, octokit(sim.url));
  } finally {
    await sim.close();
  }
}

async function listed(github: Octokit): Promise<Map<number, { status: string; busy: boolean }>> {
  const runners = await github.paginate(github.rest.actions.listSelfHostedRunnersForOrg, { org: ORG, per_page: 100 });
  return new Map(runners.map((runner) => [runner.id, { status: runner.status, busy: runner.busy }]));
}

/** Starts `count` GPU presubmit jobs and returns the runners they started on. */
function busyRunners(sim: SimulatorHandle, count: number): SimRunner[] {
  const jobs = sim.control.submitJobs({
    environment: 'prod',
    group: 'presubmit',
    type: 'gpu',
    count,
    durationMinutes: 60,
  });
  return jobs.map((job) => {
    const runner = [...sim.model.runners.values()].find((candidate) => candidate.job?.id === job.id);
    assert.ok(runner, `job ${job.id} started`);
    return runner;
  });
}

function deleteVms(sim: SimulatorHandle, runners: readonly SimRunner[]): void {
  for (const runner of runners) sim.model.deleteInstances(runner.instance.mig, [runner.instance.name], false);
}

describe('simulator: GitHub runners of the production profile', () => {
  test('offlineRunners: a VM that dies mid-job leaves its runner offline, deletable, expired after a day', async () => {
    await withSimulator({}, async (sim, github) => {
      const [first, second] = busyRunners(sim, 2);
      assert.ok(first !== undefined && second !== undefined);
      deleteVms(sim, [first, second]);
      // Still connected while the VM stops.
      assert.equal((await listed(github)).get(first.id)?.status, 'online');
      sim.model.advance(sim.model.timings.deleteSeconds + 1);
      const afterStop = await listed(github);
      assert.deepEqual(afterStop.get(first.id), { status: 'offline', busy: false });
      assert.deepEqual(afterStop.get(second.id), { status: 'offline', busy: false });
      // New work never lands on an offline runner.
      for (const job of sim.control.submitJobs({ environment: 'prod', group: 'presubmit', type: 'gpu', count: 3 })) {
        assert.ok(job.runnerName !== first.name && job.runnerName !== second.name);
      }
      const removed = await github.rest.actions.deleteSelfHostedRunnerFromOrg({ org: ORG, runner_id: first.id });
      assert.equal(removed.status, 204);
      sim.model.advance(24 * 3600 - 60);
      assert.equal((await listed(github)).get(second.id)?.status, 'offline');
      sim.model.advance(120);
      const expired = await listed(github);
      assert.equal(expired.has(first.id), false);
      assert.equal(expired.has(second.id), false);
    });
    await withSimulator({ profile: 'ideal' }, async (sim, github) => {
      const runners = busyRunners(sim, 2);
      deleteVms(sim, runners);
      const now = await listed(github);
      for (const runner of runners) assert.equal(now.has(runner.id), false);
    });
  });

  test('offlineRunners: some idle runners are left registered when their VMs are deleted', async () => {
    const idleVmsDeleted = async (sim: SimulatorHandle, github: Octokit): Promise<string[]> => {
      const idle = [...sim.model.runners.values()].filter((runner) => !runner.busy);
      deleteVms(sim, idle);
      sim.model.advance(sim.model.timings.deleteSeconds + 1);
      const now = await listed(github);
      return idle.map((runner) => now.get(runner.id)?.status ?? 'removed');
    };
    await withSimulator({}, async (sim, github) => {
      const outcomes = await idleVmsDeleted(sim, github);
      const offline = outcomes.filter((status) => status === 'offline').length;
      assert.ok(offline > 0, 'some left offline');
      assert.ok(offline < outcomes.length / 3, `most deregistered (${offline} of ${outcomes.length} offline)`);
      assert.ok(outcomes.every((status) => status === 'offline' || status === 'removed'));
    });
    await withSimulator({ profile: 'ideal' }, async (sim, github) => {
      assert.ok((await idleVmsDeleted(sim, github)).every((status) => status === 'removed'));
    });
  });

  test('staleBusy: listings show a job start only seconds later; deleting the runner is refused at once', async () => {
    await withSimulator({}, async (sim, github) => {
      const [runner] = busyRunners(sim, 1);
      assert.ok(runner !== undefined);
      assert.equal((await listed(github)).get(runner.id)?.busy, false);
      await assert.rejects(github.rest.actions.deleteSelfHostedRunnerFromOrg({ org: ORG, runner_id: runner.id }), {
        status: 422,
      });
      sim.model.advance(4);
      assert.equal((await listed(github)).get(runner.id)?.busy, false);
      sim.model.advance(27);
      assert.equal((await listed(github)).get(runner.id)?.busy, true);
    });
    await withSimulator({ profile: 'ideal' }, async (sim, github) => {
      const [runner] = busyRunners(sim, 1);
      assert.ok(runner !== undefined);
      assert.equal((await listed(github)).get(runner.id)?.busy, true);
    });
  });

  test('reruns: failed runs are re-run as later attempts; the jobs filter picks the latest or all', async () => {
    /** Every job fails; returns the runs an hour later and each one's jobs with either filter. */
    const failingHour = async (sim: SimulatorHandle, github: Octokit) => {
      sim.control.setFaults({
        failingTemplates: [...sim.model.templates.keys()].map((template) => ({ template, failureRate: 1 })),
      });
      sim.control.submitJobs({ environment: 'prod', group: 'presubmit', type: 'cpu', count: 12, durationMinutes: 2 });
      sim.model.advance(3600);
      const [owner = '', repo = ''] = sim.fleet.github.configRepo.split('/');
      const runs = await github.paginate(github.rest.actions.listWorkflowRunsForRepo, { owner, repo, per_page: 100 });
      return Promise.all(
        runs.map(async (run) => {
          const jobs = async (filter?: 'latest' | 'all') =>
            (
              await github.rest.actions.listJobsForWorkflowRun({
                owner,
                repo,
                run_id: run.id,
                ...(filter ? { filter } : {}),
              })
            ).data.jobs;
          return { run, latest: await jobs(), all: await jobs('all') };
        }),
      );
    };
    await withSimulator({}, async (sim, github) => {
      const runs = await failingHour(sim, github);
      const rerun = runs.find(({ run }) => (run.run_attempt ?? 1) >= 2);
      assert.ok(rerun, 'some failed run was re-run');
      const attempt = rerun.run.run_attempt ?? 0;
      assert.match(
        rerun.run.previous_attempt_url ?? '',
        new RegExp(`/actions/runs/${rerun.run.id}/attempts/${attempt - 1}$`),
      );
      assert.equal(rerun.latest.length, 1);
      assert.equal(rerun.latest[0]?.run_attempt, attempt);
      assert.equal(rerun.latest[0]?.run_id, rerun.run.id);
      assert.notEqual(rerun.latest[0]?.id, rerun.run.id);
      assert.equal(rerun.run.status, rerun.latest[0]?.status);
      assert.deepEqual(
        rerun.all.map((job) => job.run_attempt),
        Array.from({ length: attempt }, (_, index) => index + 1),
      );
      assert.equal(new Set(rerun.all.map((job) => job.id)).size, attempt);
      // Most failures are left alone.
      assert.ok(runs.filter(({ run }) => run.run_attempt === 1).length > runs.length / 2);
    });
    await withSimulator({ profile: 'ideal' }, async (sim, github) => {
      const runs = await failingHour(sim, github);
      assert.equal(runs.length, 12);
      for (const { run, all } of runs) {
        assert.equal(run.run_attempt, 1);
        assert.equal(all.length, 1);
      }
    });
  });

  test('reruns: workflow_job webhooks of a re-run carry its run id and attempt', async () => {
    const payloads: Array<{ action: string; workflow_job: { id: number; run_id: number; run_attempt: number } }> = [];
    const receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        payloads.push(JSON.parse(body) as (typeof payloads)[number]);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const webhook = { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, secret: 'hook-secret' };
    const attemptsDelivered = async (options: SimulatorOptions): Promise<number[]> => {
      payloads.length = 0;
      await withSimulator({ ...options, webhook }, async (sim) => {
        sim.control.setFaults({
          failingTemplates: [...sim.model.templates.keys()].map((template) => ({ template, failureRate: 1 })),
        });
        sim.control.submitJobs({ environment: 'prod', group: 'presubmit', type: 'cpu', count: 12, durationMinutes: 2 });
        sim.model.advance(3600);
        await sim.webhooks.flush();
      });
      for (const { workflow_job: job } of payloads) assert.equal(job.run_attempt === 1, job.run_id === job.id);
      return payloads.map((payload) => payload.workflow_job.run_attempt);
    };
    try {
      assert.ok((await attemptsDelivered({})).some((attempt) => attempt >= 2));
      assert.ok((await attemptsDelivered({ profile: 'ideal' })).every((attempt) => attempt === 1));
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });
});
