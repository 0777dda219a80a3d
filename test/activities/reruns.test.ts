import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { canaryChecks, startActivityFixture, startCanary, type ActivityFixture } from './fixture.js';

let fx: ActivityFixture;
before(async () => {
  // Work only in the canary's pool, so every run since the canary fits one check's window of runs, and every
  // finished job stays in the simulator's list of recent ones that the test compares with.
  fx = await startActivityFixture({
    jobRates: [
      { perHour: 0, meanDurationMinutes: 2 },
      { environment: 'prod', group: 'presubmit', type: 'cpu', perHour: 120, meanDurationMinutes: 2 },
    ],
  });
});
after(async () => {
  await fx.close();
});

test('a re-run is a new attempt, read anew; the canary failures of its earlier attempt still count', async () => {
  const mig = { region: 'us-east1', name: 'gh-runner-presubmit-cpu-us-east1' };
  const canaryTemplate = fx.sim.control.createTemplate({ group: 'presubmit', type: 'cpu', version: '3333333333-ddd' });
  // Every canary job fails, and the production profile re-runs some failed runs minutes later on any runner.
  fx.sim.control.patchFaults({ failingTemplates: [{ template: canaryTemplate.name, failureRate: 1 }] });
  const since = await startCanary(fx, mig, canaryTemplate.name, 3, 1);
  // Checks a minute apart see each short-lived canary VM, as the rollout's checks do.
  const check = canaryChecks(fx, { mig, canaryTemplate: canaryTemplate.name, since });
  for (let minute = 0; minute < 60; minute++) {
    fx.sim.control.advance(60);
    await check();
  }
  const health = await check();
  // What the checks can know of: failed jobs of runs created since the canary (GitHub's `created` qualifier takes
  // whole seconds), on canary VMs they saw.
  const windowStart = since.replace(/\.\d+Z$/, '.000Z');
  const seen = new Set(health.observations?.vms.map((vm) => vm.name));
  const failedOnCanary = fx.sim.control
    .jobs()
    .recent.filter(
      (job) =>
        job.template === canaryTemplate.name &&
        job.conclusion === 'failure' &&
        job.queuedAt >= windowStart &&
        seen.has(job.runnerName ?? ''),
    );
  assert.ok(failedOnCanary.length > 0, 'the canary failed jobs');
  const [owner = '', repo = ''] = fx.sim.fleet.github.configRepo.split('/');
  const runs = await fx.github.paginate(fx.github.rest.actions.listWorkflowRunsForRepo, {
    owner,
    repo,
    status: 'completed',
    per_page: 100,
  });
  const rerun = new Set(runs.filter((run) => (run.run_attempt ?? 1) > 1).map((run) => run.id));
  assert.ok(
    failedOnCanary.some((job) => rerun.has(job.id)),
    'some runs whose canary job failed were re-run',
  );
  assert.equal(health.canaryJobs.failed, failedOnCanary.length, 'every failed canary job, whatever attempt it was');
});
