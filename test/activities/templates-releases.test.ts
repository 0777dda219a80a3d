import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FailureType } from '../../activities/index.js';
import { failureOf, startActivityFixture, type ActivityFixture } from './fixture.js';

const VERSION = '2222222222-ccc';

let fx: ActivityFixture;

before(async () => {
  fx = await startActivityFixture({ releases: [{ version: '2.319.1' }] });
});
after(async () => {
  await fx.close();
});

describe('instance templates', () => {
  test('createTemplates makes every group x type template of a version, then finds them all existing', async () => {
    const names = fx.sim.fleet.groups.flatMap((group) =>
      fx.sim.fleet.types.map((type) => `gh-runner-${group.name}-${type.name}-${VERSION}`),
    );
    assert.deepEqual(await fx.run('missingTemplates', names), names);
    const first = await fx.run('createTemplates', { version: VERSION });
    assert.deepEqual([...first.created].sort(), [...names].sort());
    assert.deepEqual(first.existing, []);
    const again = await fx.run('createTemplates', { version: VERSION });
    assert.deepEqual(again.created, []);
    assert.equal(again.existing.length, names.length);
    assert.deepEqual(await fx.run('missingTemplates', names), []);

    const view = fx.sim.control.state().templates.find((t) => t.name === `gh-runner-presubmit-arm64-${VERSION}`);
    assert.ok(view !== undefined);
    assert.equal(view.metadata['github-runner-config-ref'], '2222222222');
    assert.equal(view.metadata['github-runner-type'], 'arm64');
    assert.equal(view.metadata['github-runner-trust'], 'minimal');
    assert.match(view.metadata['github-runner-archive-url'] ?? '', /actions-runner-linux-arm64-2\.319\.1\.tar\.gz$/);
    assert.equal(view.metadata['github-runner-archive-digest'], fx.sim.fleet.runner.archiveDigests.arm64);
  });

  test('an existing template with different contents is a TEMPLATE_MISMATCH naming the difference', async () => {
    const version = '3333333333-ddd';
    fx.sim.control.createTemplate({ group: 'presubmit', type: 'cpu', version, runnerVersion: '2.300.0' });
    const failure = await failureOf(fx.run('createTemplates', { version }));
    assert.equal(failure.type, FailureType.TEMPLATE_MISMATCH);
    assert.equal(failure.nonRetryable, true);
    assert.match(
      failure.message,
      /gh-runner-presubmit-cpu-3333333333-ddd \(github-runner-version: has 2\.300\.0, want 2\.319\.1\)/,
    );
  });

  test('a bad version or a runner version without digests is refused before any call', async () => {
    assert.equal((await failureOf(fx.run('createTemplates', { version: 'latest' }))).type, FailureType.INVALID_REQUEST);
    const failure = await failureOf(fx.run('createTemplates', { version: '4444444444-eee', runnerVersion: '2.320.0' }));
    assert.match(failure.message, /needs its archive digests/);
  });
});

describe('runner releases', () => {
  test('latestRunnerRelease parses version, digests per platform and asset URLs', async () => {
    fx.sim.control.publishRelease({ version: '2.320.0' });
    const release = await fx.run('latestRunnerRelease', {});
    assert.ok(release !== null);
    assert.equal(release.version, '2.320.0');
    assert.equal(release.securityRelease, false);
    assert.match(release.digests['linux-x64'] ?? '', /^[0-9a-f]{64}$/);
    assert.match(release.digests['linux-arm64'] ?? '', /^[0-9a-f]{64}$/);
    assert.ok(release.assets['linux-x64']?.startsWith(fx.sim.url));
    assert.equal(await fx.run('latestRunnerRelease', { newerThan: '2.320.0' }), null);
    assert.notEqual(await fx.run('latestRunnerRelease', { newerThan: '2.319.9' }), null);
  });

  test('verifyRunnerArchive streams the asset and checks it against the published digest', async () => {
    const release = await fx.run('latestRunnerRelease', {});
    assert.ok(release !== null);
    const url = release.assets['linux-x64'] ?? '';
    const { bytes } = await fx.run('verifyRunnerArchive', { url, sha256: release.digests['linux-x64'] ?? '' });
    assert.ok(bytes > 0);
  });

  test('a release whose body publishes wrong digests fails verification as DIGEST_MISMATCH', async () => {
    fx.sim.control.publishRelease({ version: '2.321.0', digestMismatch: true });
    const release = await fx.run('latestRunnerRelease', {});
    assert.ok(release !== null);
    const failure = await failureOf(
      fx.run('verifyRunnerArchive', {
        url: release.assets['linux-arm64'] ?? '',
        sha256: release.digests['linux-arm64'] ?? '',
      }),
    );
    assert.equal(failure.type, FailureType.DIGEST_MISMATCH);
    assert.equal(failure.nonRetryable, true);
  });

  test('a security release is flagged; a release without SHA lines is read with no digests, for the check to escalate', async () => {
    fx.sim.control.publishRelease({ version: '2.322.0', security: true });
    assert.equal((await fx.run('latestRunnerRelease', {}))?.securityRelease, true);
    fx.sim.control.publishRelease({ version: '2.323.0', withoutShaLines: true });
    const release = await fx.run('latestRunnerRelease', {});
    assert.equal(release?.version, '2.323.0');
    assert.deepEqual(release?.digests, {});
  });

  test('GitHub 5xx is a retryable failure', async () => {
    fx.sim.control.setFaults({ endpoints: [{ endpoint: 'github.releases.list', status: 502, count: 1 }] });
    const failure = await failureOf(fx.run('latestRunnerRelease', {}));
    fx.sim.control.clearFaults();
    assert.equal(failure.type, FailureType.UNAVAILABLE);
    assert.equal(failure.nonRetryable, false);
  });
});
