/**
 * A round of health checks over several canaries answers for each as its own check would, with one listing of
 * the config repo's runs for all of them, and a canary whose check cannot run fails alone.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { recentRunsSince, type RecentRuns } from '../../activities/canary-health.js';
import type { CanaryHealth, CanaryHealthOutcome } from '../../activities/contract.js';
import { startActivityFixture, startCanary, type ActivityFixture } from './fixture.js';

const NEW = '2222222222-ccc';

let fx: ActivityFixture;
before(async () => {
  fx = await startActivityFixture({ jobRates: [{ perHour: 120, meanDurationMinutes: 2 }] });
});
after(async () => {
  await fx.close();
});

function requests(endpoint: string): number {
  return fx.sim.control.counters()[endpoint]?.requests ?? 0;
}

function listings(): number {
  return requests('github.actions.listRuns');
}

function verdict(health: CanaryHealth): unknown {
  const { healthy, problems, canaryInstances, canaryRunnersOnline, canaryJobs, baseJobs } = health;
  return { healthy, problems, canaryInstances, canaryRunnersOnline, canaryJobs, baseJobs };
}

function healthOf(outcome: CanaryHealthOutcome | undefined): CanaryHealth {
  assert.ok(outcome !== undefined && 'health' in outcome, `a health answer: ${JSON.stringify(outcome)}`);
  return outcome.health;
}

test('a round gives each canary the verdict of its own check, from one listing of the runs and one of the instances', async () => {
  const checks = [];
  for (const type of ['cpu', 'gpu']) {
    const mig = { region: 'us-west1', name: `gh-runner-presubmit-${type}-us-west1` };
    const canaryTemplate = fx.sim.control.createTemplate({ group: 'presubmit', type, version: NEW }).name;
    // The canaries start ten minutes apart, as a fan-out over lanes starts them.
    checks.push({ mig, canaryTemplate, since: await startCanary(fx, mig, canaryTemplate, 3, 1) });
  }
  fx.sim.control.advance(1800);

  fx.sim.control.resetCounters();
  const own = [];
  for (const check of checks) own.push(await fx.run('canaryHealth', check));
  const ownListings = listings();
  const ownInstanceLists = requests('compute.instances.list');
  fx.sim.control.resetCounters();
  const round = await fx.run('canaryHealthRound', { checks });

  assert.deepEqual(
    round.map((outcome) => verdict(healthOf(outcome))),
    own.map(verdict),
  );
  assert.ok(
    own.every((health) => health.canaryJobs.succeeded + health.baseJobs.succeeded > 0),
    'both MIGs ran jobs, so the verdicts compare counts',
  );
  assert.ok(listings() >= 1 && listings() < ownListings, `one listing: ${listings()} vs ${ownListings} requests`);
  // Both MIGs are in one region: one list per zone serves the creation times of both MIGs' VMs.
  assert.equal(requests('compute.instances.list') * 2, ownInstanceLists);
});

test('a canary whose check cannot run fails alone; the others in its round are answered', async () => {
  const mig = { region: 'us-west1', name: 'gh-runner-postsubmit-cpu-us-west1' };
  const canaryTemplate = fx.sim.control.createTemplate({ group: 'postsubmit', type: 'cpu', version: NEW }).name;
  const since = await startCanary(fx, mig, canaryTemplate, 2, 1);
  const missing = { region: 'us-west1', name: 'gh-runner-nowhere-cpu-us-west1' };

  const [answered, failed] = await fx.run('canaryHealthRound', {
    checks: [
      { mig, canaryTemplate, since },
      { mig: missing, canaryTemplate, since },
    ],
  });

  assert.equal(healthOf(answered).mig.name, mig.name);
  assert.ok(failed !== undefined && 'failure' in failed, `the missing MIG fails: ${JSON.stringify(failed)}`);
  assert.equal(failed.mig.name, missing.name);
  assert.match(failed.failure, /gh-runner-nowhere-cpu-us-west1/);
});

test('the runs since a later start are the prefix of a listing since an earlier one, truncation included', () => {
  const run = (id: number, minute: number) => ({
    id,
    status: 'completed',
    created_at: new Date(Date.UTC(2025, 0, 1, 0, minute)).toISOString(),
  });
  const at = (minute: number) => new Date(Date.UTC(2025, 0, 1, 0, minute, 0, 500)).toISOString();
  const listed: RecentRuns = { since: at(0), runs: [run(3, 30), run(2, 20), run(1, 10)], truncated: true };

  assert.deepEqual(
    recentRunsSince(listed, at(15)).runs.map((candidate) => candidate.id),
    [3, 2],
  );
  assert.equal(recentRunsSince(listed, at(15)).truncated, false, 'the kept runs reach back past the later start');
  assert.equal(recentRunsSince(listed, at(5)).truncated, true, 'every kept run is in the window: more may be');
  // GitHub's `created` qualifier takes whole seconds, so a run created in the start's second counts.
  assert.deepEqual(
    recentRunsSince(listed, new Date(Date.UTC(2025, 0, 1, 0, 20, 0, 900)).toISOString()).runs.map((r) => r.id),
    [3, 2],
  );
  assert.throws(() => recentRunsSince({ ...listed, since: at(15) }, at(5)), /cannot answer for the earlier/);
});
