import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { enumerateMigs, migNameOf } from '../../runner-config/index.js';
import { FailureType } from '../../activities/index.js';
import { failureOf, startActivityFixture, type ActivityFixture } from './fixture.js';

let fx: ActivityFixture;

before(async () => {
  // The production pacing: a snapshot serves reads for 30 s, and the listing stays within 1,500 requests an hour.
  fx = await startActivityFixture(
    { jobRates: [{ perHour: 0, meanDurationMinutes: 30 }] },
    { runnerSnapshotMaxAgeMs: 30_000, runnerListingsPerHour: 1_500 },
  );
});
after(async () => {
  await fx.close();
});

const listings = (): number => fx.sim.control.counters()['github.runners.list']?.requests ?? 0;

describe('one runner snapshot per worker', () => {
  test("every MIG's runner reads within 30 s share one listing of the organisation", async () => {
    const migs = enumerateMigs(fx.sim.fleet, 'prod').map((ref) => migNameOf(fx.sim.fleet, ref));
    assert.ok(migs.length >= 30, `the default fleet has ${migs.length} prod MIGs`);
    fx.sim.control.resetCounters();
    const seen = await Promise.all(migs.map((name) => fx.run('listRunners', { namePrefix: `${name}-` })));
    const total = fx.sim.control.state().runners.total;
    const pages = Math.ceil(total / 100);
    assert.equal(listings(), pages, `one listing of ${pages} page(s) for ${migs.length} MIGs`);
    assert.equal(
      seen.reduce((sum, runners) => sum + runners.length, 0),
      fx.sim.control
        .state()
        .migs.filter((mig) => mig.environment === 'prod')
        .reduce((n, m) => n + m.targetSize, 0),
      'each MIG sees exactly its own runners',
    );

    fx.sim.control.advance(10);
    await fx.run('listRunners', { namePrefix: `${migs[0] ?? ''}-` });
    assert.equal(listings(), pages, 'a 10 s old snapshot still serves');

    fx.sim.control.advance(25);
    await fx.run('listRunners', { namePrefix: `${migs[0] ?? ''}-` });
    assert.equal(listings(), 2 * pages, 'past 30 s the organisation is listed again');
    const unchanged = fx.sim.control.counters()['github.runners.list']?.statuses['304'] ?? 0;
    assert.equal(unchanged, pages, 'conditionally: nothing changed, so every page answered 304, free of the budget');
  });

  test('a runner this worker removed is gone from the snapshot at once; a drain looks again before deleting', async () => {
    const mig = 'gh-runner-testing-presubmit-cpu-us-west1';
    fx.sim.control.setJobRates([{ perHour: 0, meanDurationMinutes: 30 }]);
    const region = 'us-west1';
    await fx.run('setAutoscaling', { mig: { region, name: mig }, bounds: { min: 2, max: 2 } });
    fx.sim.control.advance(600);
    const [first] = await fx.run('listRunners', { namePrefix: `${mig}-` });
    assert.ok(first !== undefined, 'the testing MIG has runners');
    const drained = await fx.run('drainIdleRunners', { mig: { region, name: mig } });
    assert.ok(drained.drained.includes(first.name));
    const after = await fx.run('listRunners', { namePrefix: `${mig}-` });
    assert.ok(!after.some((runner) => runner.name === first.name), 'the removed runner is not served from the cache');
  });

  test('a runner listing cut off on the way is a transient failure, never an empty organisation', async () => {
    fx.sim.control.advance(60);
    fx.sim.control.setFaults({ endpoints: [{ endpoint: 'github.runners.list', kind: 'truncatedBody', count: 1 }] });
    const failure = await failureOf(fx.run('listRunners', { namePrefix: 'gh-runner-' }));
    assert.equal(failure.type, FailureType.UNAVAILABLE);
    assert.equal(failure.nonRetryable, false);
    fx.sim.control.clearFaults();
    const runners = await fx.run('listRunners', { namePrefix: 'gh-runner-' });
    assert.equal(runners.length, fx.sim.control.state().runners.total, 'the retry lists every runner');
  });
});
