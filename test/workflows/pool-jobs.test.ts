import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PoolJobAction, PoolJobEvent } from '../../workflows/pool-contract.js';
import { FINISHED_JOB_LIMIT, LIVE_JOB_LIMIT, PoolJobs } from '../../workflows/pool-jobs.js';

function event(action: PoolJobAction, jobId: number, runnerName: string | null = null): PoolJobEvent {
  return { action, jobId, runId: 7, labels: ['self-hosted', 'gpu'], runnerName, deliveryId: `d-${action}-${jobId}` };
}

describe('pool jobs', () => {
  test('a job moves queued → in_progress → completed; repeated events change nothing', () => {
    const jobs = new PoolJobs();
    assert.equal(jobs.apply(event('queued', 1)), 'applied');
    assert.equal(jobs.apply(event('queued', 1)), 'ignored');
    assert.deepEqual(jobs.counts(), { queued: 1, busy: 0, tracked: 1 });
    assert.equal(jobs.apply(event('in_progress', 1, 'vm-a')), 'applied');
    assert.equal(jobs.apply(event('in_progress', 1, 'vm-a')), 'ignored');
    assert.deepEqual(jobs.counts(), { queued: 0, busy: 1, tracked: 1 });
    assert.equal(jobs.apply(event('completed', 1, 'vm-a')), 'applied');
    assert.deepEqual(jobs.counts(), { queued: 0, busy: 0, tracked: 0 });
  });

  test('events out of order never move a job back, and a completed job stays completed', () => {
    const jobs = new PoolJobs();
    jobs.apply(event('in_progress', 2, 'vm-b'));
    assert.equal(jobs.apply(event('queued', 2)), 'ignored', 'a late queued after in_progress');
    assert.deepEqual(jobs.counts(), { queued: 0, busy: 1, tracked: 1 });
    jobs.apply(event('completed', 3));
    assert.equal(jobs.apply(event('queued', 3)), 'ignored', 'a late queued after completed');
    assert.equal(jobs.apply(event('in_progress', 3, 'vm-c')), 'ignored');
    assert.deepEqual(jobs.counts(), { queued: 0, busy: 1, tracked: 1 });
  });

  test('a burst of 10,000 queued jobs keeps the state flat; the count stays exact', () => {
    const jobs = new PoolJobs();
    for (let id = 1; id <= 10_000; id++) jobs.apply(event('queued', id));
    const snapshot = jobs.snapshot();
    assert.equal(snapshot.live.length, LIVE_JOB_LIMIT);
    assert.equal(snapshot.untrackedQueued, 10_000 - LIVE_JOB_LIMIT);
    assert.deepEqual(jobs.counts(), { queued: 10_000, busy: 0, tracked: LIVE_JOB_LIMIT });
    // The serialised state (workflow state, carried across continue-as-new) does not grow with more events.
    const bytes = JSON.stringify(snapshot).length;
    for (let id = 10_001; id <= 20_000; id++) jobs.apply(event('queued', id));
    assert.equal(jobs.snapshot().live.length, LIVE_JOB_LIMIT);
    assert.ok(JSON.stringify(jobs.snapshot()).length <= bytes + 1, 'only the count of untracked jobs grows a digit');
  });

  test('untracked jobs are counted down as they run or finish; running jobs are always tracked', () => {
    const jobs = new PoolJobs();
    for (let id = 1; id <= LIVE_JOB_LIMIT + 5; id++) jobs.apply(event('queued', id));
    assert.equal(jobs.apply(event('in_progress', LIVE_JOB_LIMIT + 1, 'vm-x')), 'applied');
    // The oldest queued job gave up its entry to the running one.
    assert.deepEqual(jobs.counts(), { queued: LIVE_JOB_LIMIT + 4, busy: 1, tracked: LIVE_JOB_LIMIT });
    assert.equal(
      jobs.snapshot().live.some((job) => job.id === 1),
      false,
    );
    assert.equal(jobs.apply(event('completed', LIVE_JOB_LIMIT + 2)), 'counted', 'cancelled while queued');
    assert.deepEqual(jobs.counts(), { queued: LIVE_JOB_LIMIT + 3, busy: 1, tracked: LIVE_JOB_LIMIT });
  });

  test('completed job ids are remembered up to a limit, oldest forgotten first', () => {
    const jobs = new PoolJobs();
    for (let id = 1; id <= FINISHED_JOB_LIMIT + 10; id++) jobs.apply(event('completed', id));
    const finished = jobs.snapshot().finished;
    assert.equal(finished.length, FINISHED_JOB_LIMIT);
    assert.equal(finished[0], 11);
  });

  test('a snapshot restores the same state', () => {
    const jobs = new PoolJobs();
    jobs.apply(event('queued', 1));
    jobs.apply(event('in_progress', 2, 'vm-b'));
    jobs.apply(event('completed', 3));
    const restored = new PoolJobs(JSON.parse(JSON.stringify(jobs.snapshot())) as ReturnType<PoolJobs['snapshot']>);
    assert.deepEqual(restored.snapshot(), jobs.snapshot());
    assert.equal(restored.apply(event('queued', 3)), 'ignored');
  });
});
