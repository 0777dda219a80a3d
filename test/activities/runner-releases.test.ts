/**
 * Which release the runner-version check rolls out, and when GitHub's 30-day clock started, read from the whole
 * release list of actions/runner rather than the release GitHub marks latest.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startActivityFixture, type ActivityFixture } from './fixture.js';

const DAY_MS = 86_400_000;
const T0 = Date.parse('2026-06-01T12:00:00Z');
/** A timestamp as GitHub writes it: to the second. */
const day = (n: number): string => new Date(T0 + n * DAY_MS).toISOString().replace('.000Z', 'Z');

let fx: ActivityFixture;
before(async () => {
  fx = await startActivityFixture({ releases: [{ version: '2.293.0', publishedAt: day(-60) }] });
});
after(async () => {
  await fx.close();
});

describe('runner releases from the whole list', () => {
  test('the clock starts with the first release newer than the fleet, the target is the highest', async () => {
    fx.sim.control.publishRelease({ version: '2.296.0', publishedAt: day(0) });
    fx.sim.control.publishRelease({ version: '2.296.1', publishedAt: day(25) });
    const release = await fx.run('latestRunnerRelease', { newerThan: '2.293.0' });
    assert.equal(release?.version, '2.296.1');
    assert.equal(release?.publishedAt, day(25));
    assert.deepEqual(release?.firstNewer, { version: '2.296.0', publishedAt: day(0) });
  });

  test('a backport on an older line, published last, is neither the target nor a clock for a fleet past it', async () => {
    // GitHub marks this one latest: it is the newest by date.
    fx.sim.control.publishRelease({ version: '2.293.5', publishedAt: day(26) });
    const pastIt = await fx.run('latestRunnerRelease', { newerThan: '2.296.0' });
    assert.equal(pastIt?.version, '2.296.1');
    assert.deepEqual(pastIt?.firstNewer, { version: '2.296.1', publishedAt: day(25) });
    assert.equal(await fx.run('latestRunnerRelease', { newerThan: '2.296.1' }), null);
    // A fleet still on the old line: the backport is newer than it, but the clock started earlier, with 2.296.0.
    const behind = await fx.run('latestRunnerRelease', { newerThan: '2.293.0' });
    assert.equal(behind?.version, '2.296.1');
    assert.deepEqual(behind?.firstNewer, { version: '2.296.0', publishedAt: day(0) });
  });

  test('several releases on one day: the highest; drafts and prereleases are passed over', async () => {
    fx.sim.control.publishRelease({ version: '2.297.0', publishedAt: day(30) });
    fx.sim.control.publishRelease({ version: '2.297.1', publishedAt: day(30) });
    fx.sim.control.publishRelease({ version: '2.298.0', publishedAt: day(31), prerelease: true });
    fx.sim.control.publishRelease({ version: '2.299.0', publishedAt: day(31), draft: true });
    const release = await fx.run('latestRunnerRelease', { newerThan: '2.296.1' });
    assert.equal(release?.version, '2.297.1');
    assert.deepEqual(release?.firstNewer, { version: '2.297.0', publishedAt: day(30) });
  });

  test('the list is read to its last page', async () => {
    // actions/runner has hundreds of releases: the first newer one can be pages back.
    for (let patch = 0; patch < 101; patch++) {
      fx.sim.control.publishRelease({ version: `2.200.${patch}`, publishedAt: day(-200 + patch / 10) });
    }
    const release = await fx.run('latestRunnerRelease', { newerThan: '2.199.0' });
    assert.equal(release?.version, '2.297.1');
    assert.deepEqual(release?.firstNewer, { version: '2.200.0', publishedAt: day(-200) });
    const calls = fx.sim.control.counters()['github.releases.list']?.requests ?? 0;
    assert.ok(calls >= 2, `pages read: ${calls}`);
  });
});
