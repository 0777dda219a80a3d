import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DAY_MS,
  ReleaseHistoryError,
  deadlineOf,
  expiredVersions,
  expiryOf,
  newestAt,
  parseReleaseHistory,
} from '../../bench/release-history.js';

const DAY0 = Date.parse('2025-01-06T00:00:00Z');

describe('release history', () => {
  test('reads tag<TAB>date lines in publication order, skipping comments and blank lines', () => {
    const releases = parseReleaseHistory('# fleet\nv2.301.0\t2025-01-31\n\nv2.300.1\t2025-01-06T15:30:00Z\n');
    assert.deepEqual(
      releases.map((release) => [release.version, new Date(release.publishedAtMs).toISOString()]),
      [
        ['2.300.1', '2025-01-06T15:30:00.000Z'],
        ['2.301.0', '2025-01-31T00:00:00.000Z'],
      ],
    );
  });

  test('names every bad line in one error', () => {
    assert.throws(
      () =>
        parseReleaseHistory(
          '2.300.1\t2025-01-06\nv2.300.2 2025-01-07\nv2.300.3\tsoon\nv2.300.4\t2025-01-08\nv2.300.4\t2025-01-09\n',
          'h.tsv',
        ),
      (error: unknown) =>
        error instanceof ReleaseHistoryError &&
        /h\.tsv: line 1: tag "2\.300\.1".*line 2: expected "tag<TAB>date".*line 3: date "soon".*line 5: v2\.300\.4 is already on line 4/.test(
          error.message,
        ),
    );
    assert.throws(() => parseReleaseHistory('# nothing\n'), /no releases/);
  });

  test("a version's clock starts at the first newer release: 2.300.1 on day 0, 2.301.0 on day 25", () => {
    const releases = parseReleaseHistory('v2.300.0\t2024-12-01\nv2.300.1\t2025-01-06\nv2.301.0\t2025-01-31\n');
    const day = (n: number): number => DAY0 + n * DAY_MS;
    assert.equal(expiryOf('2.300.0', releases, day(26)), day(30), 'not day 55');
    assert.equal(expiryOf('2.300.1', releases, day(26)), day(55));
    assert.equal(expiryOf('2.301.0', releases, day(26)), undefined);
    assert.equal(expiryOf('2.300.1', releases, day(10)), undefined, 'a release not yet published starts nothing');
    assert.deepEqual(expiredVersions(['2.300.0', '2.300.1'], releases, day(30)), ['2.300.0']);
    assert.deepEqual(expiredVersions(['2.300.0'], releases, day(29)), []);
    assert.equal(deadlineOf(releases[1]!), day(30));
  });

  test('a backport on an older line starts no clock for a fleet past it and is never the newest', () => {
    const releases = parseReleaseHistory('v2.304.0\t2025-05-12\nv2.305.0\t2025-06-02\nv2.304.1\t2025-06-09\n');
    const late = Date.parse('2025-08-01T00:00:00Z');
    assert.equal(expiryOf('2.305.0', releases, late), undefined);
    assert.equal(newestAt(releases, late)?.version, '2.305.0');
    // A fleet still on 2.304.0 was on the clock since 2.305.0, not since the backport.
    assert.equal(expiryOf('2.304.0', releases, late), Date.parse('2025-06-02T00:00:00Z') + 30 * DAY_MS);
  });
});
