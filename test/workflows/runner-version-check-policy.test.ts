import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDuration } from '../../runner-config/durations.js';
import { VERSION_PATTERN } from '../../runner-config/naming.js';
import { compareRunnerVersions } from '../../runner-config/runner-versions.js';
import { formatDuration } from '../../workflows/runner-version-check-contract.js';
import {
  crossedThreshold,
  escalationFor,
  isConverged,
  pinnedConfigRef,
  planSoak,
  resolveCheckSettings,
  runnerTemplateVersion,
  summariseFleetVersions,
} from '../../workflows/runner-version-check-policy.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

describe('runner versions', () => {
  test('compare numerically, not as text', () => {
    assert.equal(compareRunnerVersions('2.330.0', '2.329.12'), 1);
    assert.equal(compareRunnerVersions('2.10.0', '2.9.9'), 1);
    assert.equal(compareRunnerVersions('2.319.1', '2.319.1'), 0);
    assert.equal(compareRunnerVersions('2.319.0', '2.319.1'), -1);
  });

  test('the oldest of definition and runners is what GitHub counts', () => {
    const fleet = summariseFleetVersions({
      definitionVersion: '2.320.0',
      runnerVersions: ['2.320.0', '2.319.1', undefined, '2.320.0'],
    });
    assert.deepEqual(fleet, {
      definition: '2.320.0',
      runners: { '2.320.0': 2, '2.319.1': 1 },
      runnersWithoutVersion: 1,
      oldest: '2.319.1',
    });
    assert.equal(isConverged(fleet, '2.320.0'), false);
    assert.equal(
      isConverged(summariseFleetVersions({ definitionVersion: '2.319.0', runnerVersions: [] }), '2.320.0'),
      false,
    );
    assert.equal(
      isConverged(summariseFleetVersions({ definitionVersion: '2.319.0', runnerVersions: ['2.320.0'] }), '2.320.0'),
      true,
    );
  });
});

describe('template version of a runner release', () => {
  test('is a valid version, the same every time, and differs per runner release', () => {
    const first = runnerTemplateVersion('56E40F6505D1C0FFEE', '2.330.0');
    assert.match(first, VERSION_PATTERN);
    assert.ok(first.startsWith('56e40f6505-'));
    assert.equal(runnerTemplateVersion('56e40f6505d1c0ffee', '2.330.0'), first);
    assert.notEqual(runnerTemplateVersion('56e40f6505d1c0ffee', '2.330.1'), first);
  });

  test('pins the fleet commit, or the commit runners report when the fleet names a branch', () => {
    assert.equal(pinnedConfigRef('0123456789abcdef', ['fedcba9876']), '0123456789abcdef');
    assert.equal(pinnedConfigRef('main', ['bbbbbbbbbb', 'aaaaaaaaaa', 'bbbbbbbbbb', undefined]), 'bbbbbbbbbb');
    assert.equal(pinnedConfigRef('main', ['bbbbbbbbbb', 'aaaaaaaaaa']), 'aaaaaaaaaa', 'ties go to the smallest');
    assert.throws(() => pinnedConfigRef('main', [undefined, 'main']), /pin github\.configRef to a commit/);
  });
});

describe('soak plan', () => {
  const settings = resolveCheckSettings({});
  const now = Date.UTC(2026, 10, 1);
  const plan = (daysLeft: number, securityRelease = false) =>
    planSoak({ nowMs: now, deadlineMs: now + daysLeft * DAY_MS, defaultSoak: '3 days', securityRelease, settings });

  test('keeps the default soak while the rollout fits with margin', () => {
    assert.deepEqual(
      { kind: plan(8).kind, soak: plan(8).soak },
      { kind: 'default', soak: '3 days' },
      '3 days soak + 2 days other stages + 3 days margin = 8 days',
    );
  });

  test('shortens the soak to whole hours that fit, never below the minimum', () => {
    const tight = planSoak({
      nowMs: now,
      deadlineMs: now + 7 * DAY_MS + 30 * 60_000,
      defaultSoak: '3 days',
      securityRelease: false,
      settings,
    });
    assert.equal(tight.kind, 'compressed');
    assert.equal(tight.soak, '2d');
    assert.equal(tight.defaultSoak, '3 days');
    assert.match(tight.reason, /shortened to 2d/);
    assert.equal(plan(5.5).soak, '12h');
    assert.equal(plan(5).soak, '6h');
    assert.match(plan(5).reason, /deadline is at risk/);
    assert.equal(plan(-2).soak, '6h');
  });

  test('fast-tracks a security release with the minimal soak, whatever the slack', () => {
    const security = plan(29, true);
    assert.equal(security.kind, 'security');
    assert.equal(security.soak, '1h');
    assert.match(security.reason, /security release/);
  });

  test('durations it writes read back as the same length', () => {
    for (const ms of [DAY_MS, 2 * DAY_MS, 36 * HOUR_MS, HOUR_MS, 90 * 60_000]) {
      assert.equal(parseDuration(formatDuration(ms)), ms);
    }
  });
});

describe('escalations', () => {
  test('the tightest threshold crossed', () => {
    assert.equal(crossedThreshold(20, [14, 7, 3]), undefined);
    assert.equal(crossedThreshold(14, [14, 7, 3]), undefined);
    assert.equal(crossedThreshold(13.9, [14, 7, 3]), 14);
    assert.equal(crossedThreshold(6, [3, 14, 7]), 7);
    assert.equal(crossedThreshold(-4, [14, 7, 3]), 3);
  });

  test('only while the fleet has not converged; critical below the tightest threshold', () => {
    const now = Date.UTC(2026, 10, 1);
    const base = { nowMs: now, securityRelease: false, runnerVersion: '2.330.0', thresholdsDays: [14, 7, 3] };
    assert.equal(escalationFor({ ...base, deadlineMs: now + DAY_MS, converged: true }), undefined);
    const warning = escalationFor({ ...base, deadlineMs: now + 6 * DAY_MS, converged: false });
    assert.equal(warning?.severity, 'warning');
    assert.equal(warning?.thresholdDays, 7);
    assert.match(warning?.message ?? '', /in 6 days/);
    const overdue = escalationFor({ ...base, deadlineMs: now - 2 * DAY_MS, converged: false });
    assert.equal(overdue?.severity, 'critical');
    assert.match(overdue?.message ?? '', /2 days ago/);
    const security = escalationFor({ ...base, securityRelease: true, deadlineMs: now + 29 * DAY_MS, converged: false });
    assert.equal(security?.trigger, 'security');
    assert.equal(security?.severity, 'critical');
  });
});

describe('check settings', () => {
  test('defaults', () => {
    const settings = resolveCheckSettings({});
    assert.deepEqual(settings.escalationThresholdsDays, [14, 7, 3]);
    assert.equal(settings.marginMs, 3 * DAY_MS);
    assert.equal(settings.requestedBy, 'runner-version-check');
    assert.equal(settings.autoApprove, false);
  });

  test('every problem is named at once', () => {
    assert.throws(
      () => resolveCheckSettings({ escalationThresholdsDays: [0], minimumSoak: 'a while', defaultSoak: 'long' }),
      (error: Error) =>
        /escalationThresholdsDays/.test(error.message) &&
        /minimumSoak/.test(error.message) &&
        /defaultSoak/.test(error.message),
    );
  });
});
