import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PoolObservation } from '../../activities/contract.js';
import type { PoolJobEvent } from '../../workflows/pool-contract.js';
import { PoolJobs } from '../../workflows/pool-jobs.js';
import { reconcileJobs } from '../../workflows/pool-reconcile.js';

const event = (action: PoolJobEvent['action'], jobId: number, runnerName: string | null = null): PoolJobEvent => ({
  action,
  jobId,
  runId: jobId,
  labels: ['self-hosted', 'gpu'],
  runnerName,
  deliveryId: `d-${jobId}`,
});

function observation(queued: number[], busyRunners: string[] = [], complete = true): PoolObservation {
  return {
    migs: [
      {
        name: 'west',
        region: 'us-west1',
        targetSize: busyRunners.length,
        held: false,
        vms: busyRunners.map((name) => ({ name, runner: { state: 'busy' } })),
      },
    ],
    queuedJobs: queued.map((id) => ({ id, runId: id, labels: ['self-hosted', 'gpu'] })),
    queuedJobsComplete: complete,
    policy: { environment: 'prod', group: 'presubmit', type: 'gpu', mode: 'off' },
    at: 0,
  };
}

describe('pool reconciliation', () => {
  test('queued jobs no webhook announced are tracked', () => {
    const jobs = new PoolJobs();
    jobs.apply(event('queued', 1));
    assert.deepEqual(reconcileJobs(jobs, jobs.tracked(), observation([1, 2, 3])), { missed: 2, forgotten: 0 });
    assert.equal(jobs.counts().queued, 3);
  });

  test('jobs whose later events were lost are forgotten: no longer queued, or their runner is not busy', () => {
    const jobs = new PoolJobs();
    jobs.apply(event('queued', 1));
    jobs.apply(event('in_progress', 2, 'w1'));
    jobs.apply(event('in_progress', 3, 'w2'));
    assert.deepEqual(reconcileJobs(jobs, jobs.tracked(), observation([], ['w2'])), { missed: 0, forgotten: 2 });
    assert.deepEqual(jobs.counts(), { queued: 0, busy: 1, tracked: 1 });
  });

  test('a job that moved while GitHub was read, or that a cut-short list left out, is kept', () => {
    const jobs = new PoolJobs();
    jobs.apply(event('queued', 1));
    jobs.apply(event('queued', 2));
    const before = jobs.tracked();
    jobs.apply(event('in_progress', 1, 'w1'));
    assert.deepEqual(reconcileJobs(jobs, before, observation([], ['w1'], false)), { missed: 0, forgotten: 0 });
    assert.deepEqual(jobs.counts(), { queued: 1, busy: 1, tracked: 2 });
  });

  test('without a queued listing nothing changes', () => {
    const jobs = new PoolJobs();
    jobs.apply(event('queued', 1));
    const { queuedJobs: _none, ...withoutListing } = observation([]);
    assert.deepEqual(reconcileJobs(jobs, jobs.tracked(), withoutListing), { missed: 0, forgotten: 0 });
    assert.equal(jobs.counts().queued, 1);
  });
});
