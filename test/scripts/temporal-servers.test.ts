import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, chmodSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../scripts/temporal-servers', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'temporal-servers-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A PATH holding only the shell tools the script itself needs: no python3, go, mvn, java, node or temporal. */
function barePath(): string {
  const dir = join(scratch, 'bare-bin');
  mkdirSync(dir, { recursive: true });
  for (const tool of ['bash', 'mktemp', 'cat', 'dirname', 'mkdir', 'mv', 'chmod', 'rm']) {
    const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    try {
      symlinkSync(found, join(dir, tool));
    } catch {
      // already linked by an earlier test
    }
  }
  return dir;
}

function run(env: Record<string, string>) {
  return spawnSync(join(barePath(), 'bash'), [script], {
    encoding: 'utf8',
    env: { PATH: barePath(), HOME: scratch, ...env },
  });
}

test('with every source removed it fails with one line naming the variable to set', () => {
  const result = run({ ROLLOUT_CACHE_DIR: join(scratch, 'empty-cache') });
  assert.equal(result.status, 1);
  const errors = result.stderr.split('\n').filter((line) => line.includes('no Temporal'));
  assert.deepEqual(
    errors.map((line) => line.match(/set (TEMPORAL_\w+)/)?.[1]),
    ['TEMPORAL_CLI_PATH', 'TEMPORAL_TEST_SERVER_PATH'],
  );
});

test('explicit paths from the environment win and are written to the manifest', () => {
  const fakeCli = join(scratch, 'my-temporal');
  const fakeTestServer = join(scratch, 'my-test-server');
  for (const path of [fakeCli, fakeTestServer]) {
    writeFileSync(path, '#!/bin/sh\n');
    chmodSync(path, 0o755);
  }
  const cacheDir = join(scratch, 'explicit-cache');
  const result = run({
    ROLLOUT_CACHE_DIR: cacheDir,
    TEMPORAL_CLI_PATH: fakeCli,
    TEMPORAL_TEST_SERVER_PATH: fakeTestServer,
  });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /\$TEMPORAL_CLI_PATH/);
  assert.equal(
    readFileSync(join(cacheDir, 'servers.env'), 'utf8'),
    `TEMPORAL_CLI_PATH=${fakeCli}\nTEMPORAL_TEST_SERVER_PATH=${fakeTestServer}\n`,
  );
});

test('an explicit path that is not executable is an error, not a silent fallback', () => {
  const result = run({ ROLLOUT_CACHE_DIR: join(scratch, 'bad-cache'), TEMPORAL_CLI_PATH: join(scratch, 'missing') });
  assert.equal(result.status, 1);
  assert.match(result.stderr, /\$TEMPORAL_CLI_PATH=.*missing is not an executable file/);
});

test('a provisioned cache is a hit on the next run', () => {
  const cacheDir = join(scratch, 'hit-cache');
  mkdirSync(join(cacheDir, 'bin'), { recursive: true });
  for (const name of ['temporal', 'temporal-test-server']) {
    writeFileSync(join(cacheDir, 'bin', name), '#!/bin/sh\n');
    chmodSync(join(cacheDir, 'bin', name), 0o755);
    writeFileSync(join(cacheDir, 'bin', `${name}.source`), 'PyPI wheel test');
  }
  const result = run({ ROLLOUT_CACHE_DIR: cacheDir });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /temporal CLI: .*\[PyPI wheel test \(cached in /);
  assert.doesNotMatch(result.stderr, /trying/);
});
