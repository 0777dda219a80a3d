/** The state directory's lock: one `rollout dev` at a time, and a lock its dead owner left behind is taken over. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { lockStateDir } from '../../cli/dev-state.js';
import { EXIT_CODES, InUseError } from '../../cli/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'rollout-dev-lock-'));
const lock = join(dir, 'rollout-dev.lock');
after(() => rmSync(dir, { recursive: true, force: true }));

test('a lock held by a running process refuses the directory, exit 6, and stays as it was', async () => {
  const owner = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  try {
    writeFileSync(lock, `${owner.pid}\n`);
    assert.throws(
      () => lockStateDir(dir),
      (error: unknown) =>
        error instanceof InUseError &&
        error.exitCode === EXIT_CODES.inUse &&
        error.message.includes(`in use by another rollout dev (pid ${owner.pid})`),
    );
    assert.equal(readFileSync(lock, 'utf8'), `${owner.pid}\n`);
  } finally {
    owner.kill();
    await once(owner, 'exit');
  }
});

test('a lock left by a process that has ended is taken over, and given back', async () => {
  const owner = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(owner, 'exit');
  writeFileSync(lock, `${owner.pid}\n`);
  const release = lockStateDir(dir);
  assert.equal(readFileSync(lock, 'utf8'), `${process.pid}\n`);
  release();
  assert.equal(existsSync(lock), false);
});
