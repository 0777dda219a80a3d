import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultFleet } from '../../runner-config/default-fleet.js';
import { runnerLabels } from '../../runner-config/labels.js';
import { matchesRunner, matchingRunners, runnerLabelSets } from '../../runner-config/label-matching.js';

const fleet = defaultFleet();
const sets = runnerLabelSets(fleet);
const set = (mig: string) => {
  const found = sets.find((candidate) => candidate.mig === mig);
  assert.ok(found, `no label set for ${mig}`);
  return found;
};

describe('runner label matching', () => {
  test('one label set per MIG of every environment', () => {
    assert.equal(sets.length, 40);
    assert.equal(new Set(sets.map((candidate) => candidate.mig)).size, 40);
  });

  test('every label a registered runner reports is one its MIG can carry', () => {
    // The drift check: the sets come from the labels vm/register.sh sets, VM facts included.
    for (const candidate of sets) {
      const zone = fleet.regions.find((region) => region.name === candidate.ref.region)?.zones[0] ?? '';
      const labels = runnerLabels(fleet, candidate.ref, {
        name: `${candidate.mig}-x1y2`,
        zone,
        version: '0123456789-abc',
        cpuPlatform: 'Intel Cascade Lake',
        runnerVersion: '2.320.0',
      });
      assert.ok(matchesRunner(candidate, { labels }), `${candidate.mig}: ${labels.join(', ')}`);
    }
  });

  test('labels compare without regard to case; a label no runner has matches nothing', () => {
    const cpu = set('gh-runner-presubmit-cpu-us-west1');
    assert.ok(matchesRunner(cpu, { labels: ['Self-Hosted', 'LINUX', 'x64', 'CPU', 'Runner-Group=Presubmit'] }));
    assert.ok(!matchesRunner(cpu, { labels: ['self-hosted', 'gpu'] }));
    assert.ok(!matchesRunner(cpu, { labels: ['self-hosted', 'ARM64'] }));
    assert.ok(!matchesRunner(cpu, { labels: ['self-hosted', 'environment=testing'] }));
  });

  test("a VM's own labels match the values they take in the MIG", () => {
    const cpu = set('gh-runner-presubmit-cpu-us-west1');
    assert.ok(matchesRunner(cpu, { labels: ['zone=us-west1-b'] }));
    assert.ok(!matchesRunner(cpu, { labels: ['zone=us-east1-b'] }));
    assert.ok(matchesRunner(cpu, { labels: ['hostname=gh-runner-presubmit-cpu-us-west1-abcd'] }));
    assert.ok(!matchesRunner(cpu, { labels: ['hostname=gh-runner-presubmit-gpu-us-west1-abcd'] }));
    assert.ok(matchesRunner(cpu, { labels: ['runner-version=2.321.0', 'config-ref=0123456789'] }));
    assert.ok(!matchesRunner(cpu, { labels: ['runner-version='] }));
  });

  test('a runner group narrows the match to the group the VMs register in', () => {
    const cpu = { labels: ['self-hosted', 'cpu'] };
    assert.deepEqual(
      new Set(matchingRunners(sets, cpu).map((candidate) => candidate.group)),
      new Set(['presubmit', 'postsubmit']),
    );
    const presubmit = matchingRunners(sets, { ...cpu, group: 'PRESUBMIT' });
    assert.ok(presubmit.length > 0 && presubmit.every((candidate) => candidate.trust === 'minimal'));
    assert.deepEqual(matchingRunners(sets, { ...cpu, group: 'nightly' }), []);
  });
});
