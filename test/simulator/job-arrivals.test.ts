/** Job arrivals over a simulated day: the hour's rate (thinning of a Poisson process) and jobs that come together. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSimulator, WORKDAY_JOB_RATES, type SimulatorHandle } from '../../simulator/index.js';

const NIGHT_THEN_DAY = [...Array<number>(12).fill(0), ...Array<number>(12).fill(2)];

/** Jobs queued since the last marker: job ids are sequential, and a testing job (no arrivals there) marks. */
function marker(sim: SimulatorHandle): number {
  const [job] = sim.control.submitJobs({ environment: 'testing', group: 'presubmit', type: 'cpu', count: 1 });
  assert.ok(job !== undefined);
  return job.id;
}

test('arrivals follow the hour of the simulated day, in bursts of jobsPerArrival', async () => {
  const sim = await startSimulator({
    speed: 0,
    seed: 3,
    startTime: '2026-03-02T00:00:00Z',
    behaviours: { reruns: false },
    jobRates: [
      { environment: 'prod', group: 'presubmit', type: 'cpu', perHour: 10, meanDurationMinutes: 5 },
      {
        environment: 'prod',
        group: 'presubmit',
        type: 'cpu',
        perHour: 10,
        meanDurationMinutes: 5,
        hourly: NIGHT_THEN_DAY,
        jobsPerArrival: 2,
      },
    ],
  });
  try {
    const start = marker(sim);
    sim.control.advance(12 * 3600);
    const noon = marker(sim);
    sim.control.advance(12 * 3600);
    const end = marker(sim);
    assert.equal(noon - start - 1, 0, 'no job in the hours whose multiplier is 0');
    const day = end - noon - 1;
    // 10 an hour × 2 × 12 hours = 240 arrivals of 2 jobs: 480 jobs expected; a Poisson count stays within 20%.
    assert.ok(day > 384 && day < 576, `${day} jobs in the day's 12 busy hours`);
    assert.equal(day % 2, 0, 'jobs arrive in twos');
  } finally {
    await sim.close();
  }
});

test('the working-day rates are valid job rates, and the control API refuses a day of the wrong length', async () => {
  const sim = await startSimulator({ speed: 0, jobRates: [] });
  try {
    sim.control.setJobRates(WORKDAY_JOB_RATES);
    assert.deepEqual(sim.control.jobs().rates, WORKDAY_JOB_RATES);
    assert.throws(() => sim.control.setJobRates([{ perHour: 1, meanDurationMinutes: 5, hourly: [1, 2, 3] }]), /hourly/);
    assert.throws(
      () => sim.control.setJobRates([{ perHour: 1, meanDurationMinutes: 5, jobsPerArrival: 0 }]),
      /jobsPerArrival/,
    );
  } finally {
    await sim.close();
  }
});
