/**
 * A finished run's jobs are read once per worker: the checks of every canaried MIG in a round, and of the rounds
 * after it, share the read, so a round costs GitHub calls per new run rather than per run and MIG.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FinishedRunJobs, type RunJob } from '../../activities/canary-health.js';
import { startActivityFixture, startCanary, type ActivityFixture } from './fixture.js';

const NEW = '2222222222-ccc';

let fx: ActivityFixture;
before(async () => {
  fx = await startActivityFixture({ jobRates: [{ perHour: 120, meanDurationMinutes: 2 }] });
});
after(async () => {
  await fx.close();
});

function calls(endpoint: string): number {
  return fx.sim.control.counters()[endpoint]?.requests ?? 0;
}

test('the checks of two canaried MIGs and a second round read each finished run once', async () => {
  const migs = ['cpu', 'gpu'].map((type) => ({
    mig: { region: 'us-west1', name: `gh-runner-presubmit-${type}-us-west1` },
    canaryTemplate: fx.sim.control.createTemplate({ group: 'presubmit', type, version: NEW }).name,
  }));
  const starts = [];
  for (const { mig, canaryTemplate } of migs) starts.push(await startCanary(fx, mig, canaryTemplate, 3, 1));
  const since = starts[0] ?? '';
  fx.sim.control.advance(1800);
  fx.sim.control.resetCounters();

  const first = await fx.run('canaryHealth', { ...migs[0]!, since });
  const runs = calls('github.actions.listJobsForRun');
  assert.ok(runs >= 10, `the runs of half an hour of jobs: ${runs}`);
  assert.ok(first.canaryJobs.succeeded + first.baseJobs.succeeded > 0, 'the first MIG ran jobs');
  const second = await fx.run('canaryHealth', { ...migs[1]!, since });
  assert.ok(second.canaryJobs.succeeded + second.baseJobs.succeeded > 0, 'the second MIG ran jobs');
  assert.equal(calls('github.actions.listJobsForRun'), runs, 'the second MIG reads no run again');

  fx.sim.control.advance(600);
  await fx.run('canaryHealth', { ...migs[0]!, since });
  const newRuns = calls('github.actions.listJobsForRun') - runs;
  assert.ok(newRuns > 0 && newRuns < runs, `the next round reads only the runs finished since: ${newRuns}`);
});

test('a failed read is not kept, and the least recently used runs leave first', async () => {
  const cache = new FinishedRunJobs(2);
  const jobs: RunJob[] = [{ runnerName: 'vm-a', conclusion: 'success' }];
  await assert.rejects(
    cache.get(1, 1, () => Promise.reject(new Error('502'))),
    /502/,
  );
  let reads = 0;
  const read = (): Promise<RunJob[]> => {
    reads += 1;
    return Promise.resolve(jobs);
  };
  assert.deepEqual(await cache.get(1, 1, read), jobs);
  await cache.get(2, 1, read);
  await cache.get(1, 1, read);
  await cache.get(3, 1, read);
  assert.equal(reads, 3, 'run 1 read once after its failure, runs 2 and 3 once');
  await cache.get(1, 1, read);
  assert.equal(reads, 3, 'run 1, used recently, stayed');
  await cache.get(2, 1, read);
  assert.equal(reads, 4, 'run 2, the least recently used, was dropped for run 3');
});

test('the cache keeps attempts apart', async () => {
  const cache = new FinishedRunJobs();
  let reads = 0;
  const read = (): Promise<readonly RunJob[]> => {
    reads++;
    return Promise.resolve([]);
  };
  await cache.get(7, 1, read);
  await cache.get(7, 1, read);
  await cache.get(7, 2, read);
  assert.equal(reads, 2);
});
