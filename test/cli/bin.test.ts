/**
 * `bin/rollout.js` in a clone: before `npm ci` it says in one line what to run instead of a resolver stack;
 * installed, it runs the CLI.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { copyProject } from '../helpers/project-copy.js';

test('before `npm ci`, bin/rollout.js names the missing package and the command to run, and exits 1', async () => {
  const clone = copyProject({ installed: false });
  try {
    const run = await clone.rollout(['--help']);
    assert.equal(run.stderr, `rollout: the package tsx is not installed: run \`npm ci\` in ${clone.root}\n`);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
  } finally {
    clone.remove();
  }
});

test('installed, bin/rollout.js runs the CLI', async () => {
  const clone = copyProject({ installed: true });
  try {
    const run = await clone.rollout(['--help']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Usage: rollout /);
  } finally {
    clone.remove();
  }
});
