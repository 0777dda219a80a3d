import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultFleet } from '../../runner-config/default-fleet.js';
import {
  compileSelector,
  migNameOf,
  selectMigRefs,
  selectorProblem,
  SelectorError,
} from '../../runner-config/index.js';

const matching = (expression: string, names: string[]) =>
  names.filter((name) => compileSelector(expression).matches(name));

describe('selectors', () => {
  const types = ['cpu', 'gpu', 'a100', 'arm64'];

  test('all matches everything', () => {
    assert.deepEqual(matching('all', types), types);
    assert.deepEqual(matching('all', ['']), ['']);
  });

  test('a plain name matches only that whole name', () => {
    assert.deepEqual(matching('cpu', ['cpu', 'cpux', 'xcpu']), ['cpu']);
  });

  test('regular expressions are anchored to the whole name', () => {
    assert.deepEqual(matching('us-\\w+', ['us-west1', 'us-central1', 'europe-west1', 'us-west1-a']), [
      'us-west1',
      'us-central1',
    ]);
    assert.deepEqual(matching('cpu|gpu', types), ['cpu', 'gpu']);
    assert.deepEqual(matching('[^a]\\w+', types), ['cpu', 'gpu']);
    assert.deepEqual(matching('a.*', types), ['a100', 'arm64']);
  });

  test('RE2 named groups and literal brackets work', () => {
    assert.deepEqual(matching('(?P<kind>[cg])pu', types), ['cpu', 'gpu']);
    assert.deepEqual(matching('[]a]100', ['a100', ']100']), ['a100', ']100']);
    assert.deepEqual(matching('[(?=]x', ['(x', '?x', 'ax']), ['(x', '?x']);
  });

  test('lookaround and backreferences are refused with a clear error', () => {
    for (const [expression, what] of [
      ['(?=c)\\w+', 'lookahead'],
      ['(?!a)\\w+', 'lookahead'],
      ['\\w+(?<=u)', 'lookbehind'],
      ['\\w+(?<!u)', 'lookbehind'],
      ['(c)\\1', 'a backreference'],
      ['(?<x>c)\\k<x>', 'a named backreference'],
    ] as const) {
      assert.throws(
        () => compileSelector(expression),
        (error: unknown) =>
          error instanceof SelectorError && error.message.includes(what) && error.message.includes('RE2'),
        expression,
      );
    }
  });

  test('selectorProblem explains invalid expressions and accepts valid ones', () => {
    assert.equal(selectorProblem('us-\\w+'), undefined);
    assert.equal(selectorProblem('all'), undefined);
    assert.match(selectorProblem('') ?? '', /empty/);
    assert.match(selectorProblem('us-(west') ?? '', /not a valid regular expression/);
    assert.match(selectorProblem('cpu\\') ?? '', /lone backslash/);
    assert.match(selectorProblem('(?=x)') ?? '', /lookahead/);
  });

  test('selectMigRefs picks the a100 canary region of the default fleet', () => {
    const fleet = defaultFleet();
    const refs = selectMigRefs(fleet, { environment: 'prod', regions: 'us-central1', groups: 'all', types: 'a100' });
    assert.deepEqual(
      refs.map((ref) => migNameOf(fleet, ref)),
      ['gh-runner-presubmit-a100-us-central1', 'gh-runner-postsubmit-a100-us-central1'],
    );
    assert.equal(
      selectMigRefs(fleet, { environment: 'testing', regions: 'all', groups: 'all', types: 'all' }).length,
      8,
    );
    assert.throws(
      () => selectMigRefs(fleet, { environment: 'prod', regions: '(', groups: 'all', types: 'all' }),
      SelectorError,
    );
  });
});
