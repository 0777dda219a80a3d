import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { DEFAULT_FLEET_PATH } from '../../runner-config/default-fleet.js';
import {
  durationProblem,
  parseDuration,
  parseFleet,
  SOAK_MINIMUM,
  type FleetFile,
  type FleetIssue,
} from '../../runner-config/index.js';
import { resolveCheckSettings } from '../../workflows/runner-version-check-policy.js';

const EXAMPLE = /write e\.g\. "3 days", "72h" or "90m"/;

describe('durations', () => {
  test('durations with a unit, in any form Temporal reads', () => {
    assert.equal(parseDuration('3 days'), 3 * 24 * 3600 * 1000);
    assert.equal(parseDuration('3d'), 3 * 24 * 3600 * 1000);
    assert.equal(parseDuration('72h'), 3 * 24 * 3600 * 1000);
    assert.equal(parseDuration('90 minutes'), 90 * 60_000);
    assert.equal(parseDuration('0s'), 0);
    assert.equal(durationProblem('90m'), undefined);
  });

  test('a bare number would be milliseconds: refused with an example', () => {
    for (const text of ['3', '0', '72', '1.5']) {
      const problem = durationProblem(text) ?? '(accepted)';
      assert.match(problem, /has no unit \(a bare number would mean milliseconds\)/, text);
      assert.match(problem, EXAMPLE, text);
    }
    assert.throws(() => parseDuration('3'), { name: 'RangeError', message: /"3" has no unit/ });
  });

  test('text that is no duration, negative durations and durations below a minimum are refused', () => {
    assert.match(durationProblem('three days') ?? '', /"three days" is not a duration; write e\.g\./);
    assert.match(durationProblem('-1h') ?? '', /negative/);
    assert.throws(() => parseDuration('soon'), RangeError);
    assert.equal(durationProblem('500ms'), undefined);
    assert.match(durationProblem('500ms', SOAK_MINIMUM) ?? '', /"500ms" is shorter than a second: .*soak/);
    assert.match(durationProblem('0 days', SOAK_MINIMUM) ?? '', /shorter than a second/);
    assert.equal(durationProblem('1s', SOAK_MINIMUM), undefined);
  });
});

describe('durations in the fleet file', () => {
  const defaultText = readFileSync(DEFAULT_FLEET_PATH, 'utf8');
  /** The default fleet with `rollout.defaultSoak` set to `value` as YAML writes it (a number stays a number). */
  const withSoak = (value: unknown): string => {
    const file = parse(defaultText) as FleetFile;
    (file.rollout as { defaultSoak: unknown }).defaultSoak = value;
    return stringify(file);
  };
  const soakErrors = (value: unknown): FleetIssue[] => {
    const result = parseFleet(withSoak(value));
    assert.equal(result.ok, false, `defaultSoak ${JSON.stringify(value)} must be refused`);
    return result.ok ? [] : result.errors;
  };

  test('a soak without a unit is refused, naming the field and an example', () => {
    for (const value of [3, '3', 0]) {
      const errors = soakErrors(value);
      assert.deepEqual(
        errors.map((issue) => issue.path),
        ['rollout.defaultSoak'],
        JSON.stringify(errors),
      );
      assert.match(errors[0]?.message ?? '', /has no unit \(a bare number would mean milliseconds\)/);
      assert.match(errors[0]?.message ?? '', EXAMPLE);
    }
  });

  test('a soak shorter than a second is refused; durations with a unit are accepted', () => {
    assert.match(soakErrors('500ms')[0]?.message ?? '', /shorter than a second/);
    assert.match(soakErrors('0 days')[0]?.message ?? '', /shorter than a second/);
    assert.match(soakErrors(true)[0]?.message ?? '', /must be a duration such as "3d"/);
    for (const soak of ['3d', '72h', '90 minutes']) {
      const result = parseFleet(withSoak(soak));
      assert.ok(result.ok, JSON.stringify(result));
      assert.equal(result.fleet.rollout.defaultSoak, soak);
    }
  });
});

describe('runner-version-check durations', () => {
  test('every duration input needs a unit, and all problems are named at once', () => {
    assert.throws(
      () => resolveCheckSettings({ margin: '3', minimumSoak: '6', securitySoak: '1h', defaultSoak: '72' }),
      (error: Error) => {
        assert.ok(error instanceof RangeError);
        for (const field of ['margin', 'minimumSoak', 'defaultSoak']) {
          assert.match(error.message, new RegExp(`${field}: "\\d+" has no unit`), field);
        }
        assert.doesNotMatch(error.message, /securitySoak/);
        return true;
      },
    );
    assert.equal(resolveCheckSettings({ margin: '3d', minimumSoak: '6h' }).marginMs, 3 * 24 * 3600 * 1000);
  });
});
