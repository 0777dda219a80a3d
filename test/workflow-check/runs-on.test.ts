import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveRunsOn } from '../../workflow-check/runs-on.js';

describe('runs-on', () => {
  test('a label, a list of labels, or a group with labels', () => {
    assert.deepEqual(resolveRunsOn('ubuntu-latest', undefined, {}).requests, [{ labels: ['ubuntu-latest'] }]);
    assert.deepEqual(resolveRunsOn(['self-hosted', 'cpu'], undefined, {}).requests, [
      { labels: ['self-hosted', 'cpu'] },
    ]);
    assert.deepEqual(resolveRunsOn({ group: 'presubmit', labels: 'gpu' }, undefined, {}).requests, [
      { labels: ['gpu'], group: 'presubmit' },
    ]);
    assert.deepEqual(resolveRunsOn({ group: 'presubmit' }, undefined, {}).requests, [
      { labels: [], group: 'presubmit' },
    ]);
  });

  test('one request per matrix row: the product of its axes, less exclude, plus include', () => {
    const matrix = {
      group: ['presubmit', 'postsubmit'],
      type: ['cpu', 'gpu'],
      exclude: [{ group: 'postsubmit', type: 'gpu' }],
      include: [
        { group: 'presubmit', type: 'cpu', zone: 'us-west1-a' },
        { group: 'presubmit', type: 'arm64' },
      ],
    };
    const runsOn = ['self-hosted', 'runner-group=${{ matrix.group }}', '${{ matrix.type }}'];
    const { requests, unresolved } = resolveRunsOn(runsOn, matrix, {});
    assert.deepEqual(unresolved, []);
    assert.deepEqual(
      requests.map((request) => request.labels.slice(1).join(' ')),
      [
        'runner-group=presubmit cpu',
        'runner-group=presubmit gpu',
        'runner-group=postsubmit cpu',
        'runner-group=presubmit arm64',
      ],
    );
  });

  test('a matrix value may be a whole list of labels', () => {
    const matrix = {
      runner: [
        ['self-hosted', 'cpu'],
        ['self-hosted', 'gpu'],
      ],
    };
    assert.deepEqual(resolveRunsOn('${{ matrix.runner }}', matrix, {}).requests, [
      { labels: ['self-hosted', 'cpu'] },
      { labels: ['self-hosted', 'gpu'] },
    ]);
  });

  test('inputs take each value their callers give', () => {
    const { requests } = resolveRunsOn(['self-hosted', '${{ inputs.type }}'], undefined, { type: ['cpu', 'a100'] });
    assert.deepEqual(requests, [{ labels: ['self-hosted', 'cpu'] }, { labels: ['self-hosted', 'a100'] }]);
  });

  test('an expression without a literal value is named, and makes no request', () => {
    const fromVariable = resolveRunsOn('${{ fromJSON(vars.RUNNER) }}', undefined, {});
    assert.deepEqual(fromVariable, { requests: [], unresolved: ['${{ fromJSON(vars.RUNNER) }}'] });
    const noMatrix = resolveRunsOn(['self-hosted', 'x-${{ matrix.type }}'], '${{ fromJSON(needs.a.outputs.m) }}', {});
    assert.deepEqual(noMatrix, { requests: [], unresolved: ['${{ matrix.type }}'] });
    const noInput = resolveRunsOn(['self-hosted', '${{ inputs.type }}'], undefined, {});
    assert.deepEqual(noInput.unresolved, ['${{ inputs.type }}']);
  });
});
