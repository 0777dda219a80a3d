/** The rules of a pool's run-time settings (pure): which changes are refused, and the policy in force. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PoolSettings } from '../../workflows/pool-contract.js';
import { boundsInForce, mergeSettings, policyInForce, settingsProblem } from '../../workflows/pool-settings.js';
import { POOL, queuePolicy } from '../helpers/pool-harness.js';

const OFF = { environment: 'prod', group: 'presubmit', type: 'gpu', mode: 'off' } as const;

describe('settings rules', () => {
  const fleet = queuePolicy(1, 8, 2);

  test('refuse an empty change, an unknown mode, bad numbers and bounds beyond the fleet file', () => {
    const problem = (change: PoolSettings, current: PoolSettings | undefined = {}): string | undefined =>
      settingsProblem(POOL, change, { current, fleet });
    assert.match(problem({}) ?? '', /nothing to set for pool prod\/presubmit\/gpu/);
    assert.match(
      problem({ mode: 'auto' as never }) ?? '',
      /unknown mode "auto" for pool prod\/presubmit\/gpu \(modes: off, queue\)/,
    );
    assert.match(
      problem({ min: -1 }) ?? '',
      /min of pool prod\/presubmit\/gpu must be a whole number, 0 or more \(not -1\)/,
    );
    assert.match(problem({ max: 2.5 }) ?? '', /max .* must be a whole number/);
    assert.match(problem({ max: 9 }) ?? '', /max 9 is beyond the fleet file's max 8/);
    assert.match(problem({ min: 5, max: 3 }) ?? '', /min 5 is more than max 3/);
    assert.match(problem({ max: 0 }) ?? '', /min 1 \(the fleet file's\) is more than max 0/);
    assert.match(problem({ max: 2 }, { min: 4 }) ?? '', /min 4 is more than max 2/, 'earlier settings count');
    assert.equal(problem({ max: 2 }, { min: 0 }), undefined);
    assert.equal(problem({ mode: 'off' }), undefined);
  });

  test('without the current settings only the change itself and the fleet ceiling are checked', () => {
    assert.equal(settingsProblem(POOL, { max: 0 }, { fleet }), undefined, 'the min set earlier is not known');
    assert.match(settingsProblem(POOL, { max: 9 }, { fleet }) ?? '', /beyond the fleet file's max 8/);
    assert.match(settingsProblem(POOL, { min: 3, max: 2 }, {}) ?? '', /min 3 is more than max 2/);
    assert.equal(settingsProblem(POOL, { max: 100 }, { current: {} }), undefined, 'no fleet policy known yet');
  });

  test('a reset clears what was set before, then applies the fields it gives', () => {
    assert.deepEqual(mergeSettings({ mode: 'off', max: 4 }, { reset: true }), {});
    assert.deepEqual(mergeSettings({ mode: 'off', max: 4 }, { reset: true, min: 2 }), { min: 2 });
    assert.deepEqual(mergeSettings({ mode: 'off', max: 4 }, { min: 2 }), { mode: 'off', min: 2, max: 4 });
    assert.equal(settingsProblem(POOL, { reset: true }, { current: { max: 4 }, fleet }), undefined);
    assert.equal(settingsProblem(POOL, { reset: true }, { fleet }), undefined, 'the CLI, before the controller');
    // Without the reset the min 4 set before would stand above the max 3.
    assert.equal(settingsProblem(POOL, { reset: true, max: 3 }, { current: { min: 4 }, fleet }), undefined);
    assert.match(settingsProblem(POOL, { max: 3 }, { current: { min: 4 }, fleet }) ?? '', /min 4 is more than max 3/);
    assert.match(
      settingsProblem(POOL, { reset: 'yes' as never }, { current: {}, fleet }) ?? '',
      /reset for pool prod\/presubmit\/gpu is true or false/,
    );
    assert.match(settingsProblem(POOL, { reset: false }, { current: {}, fleet }) ?? '', /nothing to set/);
  });

  test('mode queue needs bounds from the fleet file or the change', () => {
    assert.match(
      settingsProblem(POOL, { mode: 'queue' }, { current: {}, fleet: OFF }) ?? '',
      /pool prod\/presubmit\/gpu has no bounds in the fleet file: mode queue needs a min and a max/,
    );
    assert.equal(settingsProblem(POOL, { mode: 'queue', min: 0, max: 3 }, { current: {}, fleet: OFF }), undefined);
  });

  test('the policy in force: settings over the fleet file, capped by its max', () => {
    assert.deepEqual(policyInForce(fleet, { max: 4 }), { ...fleet, bounds: { min: 1, max: 4 } });
    assert.deepEqual(policyInForce(fleet, { mode: 'off' }), OFF);
    assert.deepEqual(policyInForce(OFF, { mode: 'queue', min: 0, max: 3 }), {
      ...OFF,
      mode: 'queue',
      bounds: { min: 0, max: 3 },
      warm: 0,
    });
    assert.deepEqual(policyInForce(OFF, { mode: 'queue' }), OFF, 'no bounds: nothing is sized');
    assert.deepEqual(boundsInForce(queuePolicy(0, 3), { min: 5, max: 6 }), { min: 3, max: 3 }, 'a lowered fleet max');
    assert.deepEqual(boundsInForce(undefined, {}), {});
  });
});
