/** Which hours the deadline replay looks at the world: every hour while a rollout runs, events only between. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextVisit } from '../../bench/deadline-replay-run.js';
import { parseReleaseHistory } from '../../bench/release-history.js';

const FROM = Date.parse('2025-01-01T00:00:00Z');
const [release] = parseReleaseHistory('v2.300.1\t2025-01-02T17:20:00Z\n');

test('while a rollout runs, the replay looks every hour', () => {
  assert.equal(nextVisit(7, true, release, FROM), 8);
  assert.equal(nextVisit(30, true, undefined, FROM), 31);
});

test('with none, it goes to the next daily check, publication or last hour of the day, whichever comes first', () => {
  assert.equal(nextVisit(0, false, undefined, FROM), 6, 'the check at 06:00');
  assert.equal(nextVisit(6, false, undefined, FROM), 23, "then the day's last hour, where it samples the fleet");
  assert.equal(nextVisit(23, false, undefined, FROM), 30, "the next day's check");
  // Published at 17:20 on day 1: the replay publishes it at the first hour on or after it, 18:00.
  assert.equal(nextVisit(30, false, release, FROM), 42);
  assert.equal(nextVisit(42, false, undefined, FROM), 47);
  assert.equal(nextVisit(41, false, release, FROM), 42, 'never the hour it is at');
});
