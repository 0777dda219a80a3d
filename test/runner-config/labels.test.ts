import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultFleet } from '../../runner-config/default-fleet.js';
import { migAutoscaling, runnerLabels, templateMetadata } from '../../runner-config/index.js';

describe('runner labels', () => {
  const fleet = defaultFleet();

  test('a prod a100 runner reports the runner defaults, then the fleet labels', () => {
    const labels = runnerLabels(
      fleet,
      { environment: 'prod', group: 'postsubmit', type: 'a100', region: 'us-central1' },
      {
        name: 'gh-runner-postsubmit-a100-us-central1-h58j',
        zone: 'us-central1-b',
        version: '56e40f6505-9lp',
        cpuPlatform: 'Intel Cascade Lake',
      },
    );
    assert.deepEqual(labels, [
      'self-hosted',
      'Linux',
      'X64',
      'os-family=Linux',
      'hostname=gh-runner-postsubmit-a100-us-central1-h58j',
      'runner-group=postsubmit',
      'runner-version=2.319.1',
      'trust=basic',
      'environment=prod',
      'zone=us-central1-b',
      'cpu-platform=Intel Cascade Lake',
      'machine-type=a2-highgpu-1g',
      'config-ref=56e40f6505',
      'a100',
    ]);
  });

  test('a testing arm64 runner on another runner version, without a known CPU platform', () => {
    const labels = runnerLabels(
      fleet,
      { environment: 'testing', group: 'presubmit', type: 'arm64', region: 'us-west1' },
      {
        name: 'gh-runner-testing-presubmit-arm64-us-west1-abcd',
        zone: 'us-west1-a',
        version: '0123456789-xyz-testing',
        runnerVersion: '2.320.0',
      },
    );
    assert.ok(labels.includes('ARM64'));
    assert.ok(labels.includes('environment=testing'));
    assert.ok(labels.includes('runner-version=2.320.0'));
    assert.ok(labels.includes('trust=minimal'));
    assert.ok(!labels.some((label) => label.startsWith('cpu-platform=')));
  });

  test('an unknown group or type is refused', () => {
    const vm = { name: 'x', zone: 'us-west1-a', version: '56e40f6505-9lp' };
    assert.throws(
      () => runnerLabels(fleet, { environment: 'prod', group: 'releaser', type: 'cpu', region: 'us-west1' }, vm),
      /unknown runner group "releaser"/,
    );
    assert.throws(
      () => runnerLabels(fleet, { environment: 'prod', group: 'presubmit', type: 'tpu', region: 'us-west1' }, vm),
      /unknown runner type "tpu"/,
    );
  });
});

describe('template metadata and autoscaling', () => {
  const fleet = defaultFleet();

  test('arm64 templates fetch the arm64 archive with its digest', () => {
    const metadata = templateMetadata(fleet, 'postsubmit', 'arm64', '56e40f6505-9lp');
    assert.equal(
      metadata['github-runner-archive-url'],
      'https://github.com/actions/runner/releases/download/v2.319.1/actions-runner-linux-arm64-2.319.1.tar.gz',
    );
    assert.equal(metadata['github-runner-archive-digest'], fleet.runner.archiveDigests.arm64);
    assert.equal(metadata['github-runner-config-ref'], '56e40f6505');
    assert.equal(metadata['github-runner-trust'], 'basic');
    assert.equal(metadata['github-runner-scope'], 'iree-org');
  });

  test('a100 MIGs override the prod bounds; other MIGs use their environment', () => {
    assert.deepEqual(
      migAutoscaling(fleet, { environment: 'prod', group: 'presubmit', type: 'a100', region: 'us-east1' }),
      { min: 1, max: 1 },
    );
    assert.deepEqual(
      migAutoscaling(fleet, { environment: 'prod', group: 'presubmit', type: 'cpu', region: 'us-east1' }),
      { min: 1, max: 10 },
    );
    assert.deepEqual(
      migAutoscaling(fleet, { environment: 'testing', group: 'presubmit', type: 'a100', region: 'us-west1' }),
      { min: 0, max: 0 },
    );
  });
});
