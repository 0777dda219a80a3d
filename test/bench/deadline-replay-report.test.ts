import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatReport, slackDays, summary } from '../../bench/deadline-replay-report.js';
import type { ReleaseRecord, ReplayReport } from '../../bench/deadline-replay-run.js';
import { DAY_MS, parseReleaseHistory } from '../../bench/release-history.js';

const FROM = Date.parse('2025-01-01T00:00:00Z');
const [first, second] = parseReleaseHistory('v2.300.1\t2025-01-06\nv2.301.0\t2025-01-31\n');

function report(records: ReleaseRecord[], missedDays: number[] = []): ReplayReport {
  return {
    fromMs: FROM,
    toMs: FROM + 60 * DAY_MS,
    auto: false,
    startVersion: '2.300.0',
    records,
    missedDays,
    checks: 60,
    failedChecks: 1,
    realSeconds: 42,
    maxClockSkewMs: 0,
  };
}

describe('deadline replay report', () => {
  assert.ok(first && second);
  const rolledOut: ReleaseRecord = {
    release: first,
    detectedAtMs: first.publishedAtMs + 6 * 3600_000,
    rolloutStartedAtMs: first.publishedAtMs + 6 * 3600_000,
    soak: '3d default',
    fleetOnAtMs: first.publishedAtMs + 5 * DAY_MS,
    outcome: 'done',
    escalations: [],
    humanActions: 2,
  };
  const pending: ReleaseRecord = {
    release: second,
    escalations: ['warning slack', 'warning slack', 'critical slack'],
    humanActions: 0,
  };

  test('slack runs from the hour the whole fleet ran the release to 30 days after its publication', () => {
    assert.equal(slackDays(rolledOut), 25);
    assert.equal(slackDays(pending), undefined, 'no slack while the fleet has not got there');
  });

  test('the summary counts missed days, human actions per release and the minimum slack', () => {
    assert.deepEqual(summary(report([rolledOut, pending], [40, 41])), {
      releases: 2,
      missedDeadlineDays: 2,
      humanActionsPerRelease: 1,
      minimumSlackDays: 25,
    });
    assert.equal(summary(report([])).minimumSlackDays, undefined);
  });

  test('one line per release with days since the start, then the summary line', () => {
    const lines = formatReport(report([rolledOut, pending], [40])).split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0] ?? '', /^release +published +detected +rollout \(soak\) +fleet on it +deadline +slack/);
    assert.match(
      lines[1] ?? '',
      /^v2\.300\.1 +d5 01-06 +d5 01-06 +d5 01-06 \(3d default\) done +d10 01-11 +d35 02-05 +25\.0 d +0 +2$/,
    );
    assert.match(
      lines[2] ?? '',
      /^v2\.301\.0 +d30 01-31 +- +- +- +d60 03-02 +- +2× warning slack, 1× critical slack +0$/,
    );
    assert.equal(
      lines[3],
      'summary: 2 releases, 1 missed-deadline days (days 40), 1.00 human actions per release, minimum slack 25.0 d, ' +
        '60 checks (1 failed), 60 simulated days in 42 s real',
    );
  });
});
