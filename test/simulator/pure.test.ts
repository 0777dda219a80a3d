import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { EventQueue, SimClock } from '../../simulator/clock.js';
import { compileFilter, FilterError } from '../../simulator/gcp-filter.js';
import { assignVersions, versionForNewInstance, versionTargets } from '../../simulator/versions.js';

describe('simulator: pure parts', () => {
  test('version targets: fixed is capped, percent rounds up, the unset version takes the rest', () => {
    const base = { name: 'base', template: 'a' };
    assert.deepEqual(versionTargets([base, { name: 'canary', template: 'b', targetSize: { fixed: 1 } }], 3), [2, 1]);
    assert.deepEqual(versionTargets([base, { name: 'canary', template: 'b', targetSize: { fixed: 5 } }], 3), [0, 3]);
    assert.deepEqual(
      versionTargets([base, { name: 'canary', template: 'b', targetSize: { percent: 10 } }], 11),
      [9, 2],
    );
  });

  test('instances count toward versions by template; the excess and unknown templates are outdated', () => {
    const versions = [
      { name: 'base', template: 'a' },
      { name: 'canary', template: 'b', targetSize: { fixed: 1 } },
    ];
    const instances = ['a', 'b', 'b', 'c'].map((template) => ({ template, versionName: '' }));
    assert.deepEqual(assignVersions(versions, versionTargets(versions, 4), instances), [0, 1, -1, -1]);
    assert.equal(versionForNewInstance([3, 1], [1, 1]), 0);
    assert.equal(versionForNewInstance([3, 1], [3, 1]), -1);
  });

  test('filters: regex style matches the whole value; AIP style combines comparisons', () => {
    const mig = { name: 'gh-runner-presubmit-cpu-us-west1', status: { isStable: true }, targetSize: 3 };
    assert.equal(compileFilter("name eq 'gh-runner-.*-cpu-.*'")(mig), true);
    assert.equal(compileFilter("name eq 'presubmit'")(mig), false, 'regex must match the whole name');
    assert.equal(compileFilter('name ne .*gpu.*')(mig), true);
    assert.equal(compileFilter('status.isStable = true AND targetSize = 3')(mig), true);
    assert.equal(compileFilter('(name = "gh-runner-*") (targetSize != 3)')(mig), false);
    assert.equal(compileFilter('targetSize = 1 OR targetSize = 3')(mig), true);
    assert.equal(compileFilter('name:*')(mig), true);
    assert.throws(() => compileFilter('name ='), FilterError);
    assert.throws(() => compileFilter("name eq '('"), FilterError);
  });

  test('filters: backslashes inside a quoted regex literal are regex escapes and stay', () => {
    const region = (name: string) => ({ name });
    for (const filter of ["name eq 'us-\\w+'", 'name eq "us-\\w+"', 'name eq us-\\w+']) {
      const matches = compileFilter(filter);
      assert.equal(matches(region('us-west1')), true, filter);
      assert.equal(matches(region('us-w+')), false, `${filter} is a regex, not the text us-w+`);
    }
    assert.equal(compileFilter("name eq 'a\\.b'")(region('a.b')), true);
    assert.equal(compileFilter("name eq 'a\\.b'")(region('axb')), false, 'an escaped dot matches only a dot');
    assert.equal(compileFilter("name ne 'us-\\d+'")(region('us-west1')), true);
    // AIP-160 string literals keep their own escaping: a backslash escapes the next character.
    assert.equal(compileFilter('name = "a\\"b"')(region('a"b')), true);
  });

  test('the event queue runs events in time order, ties in insertion order', () => {
    const queue = new EventQueue<string>();
    const ran: string[] = [];
    for (const [at, label] of [
      [30, 'c'],
      [10, 'a'],
      [20, 'b1'],
      [20, 'b2'],
      [40, 'late'],
    ] as const) {
      queue.schedule(at, label);
    }
    for (let event = queue.popDue(35); event !== undefined; event = queue.popDue(35)) ran.push(event.event);
    assert.deepEqual(ran, ['a', 'b1', 'b2', 'c']);
    assert.equal(queue.size, 1);
  });

  test('the clock: real elapsed × speed plus manual advances; a speed change keeps the current time', () => {
    let real = 0;
    const clock = new SimClock(1_000_000, 60, () => real);
    real = 1000;
    assert.equal(clock.now(), 1_000_000 + 60_000);
    clock.setSpeed(0);
    real = 5000;
    assert.equal(clock.now(), 1_060_000);
    clock.advance(500);
    assert.equal(clock.now(), 1_060_500);
  });
});
