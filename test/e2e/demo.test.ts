/**
 * `rollout demo` as the README's quickstart runs it: the binary in a child process, on its own private stack
 * (dev server, simulator, worker), a complete rollout of a fresh version, exit 0 and the summary.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';

const BIN = fileURLToPath(new URL('../../bin/rollout.js', import.meta.url));

let child: ChildProcess | undefined;
after(() => {
  // A failed assertion must not leave the demo's stack running.
  if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
});

test('rollout demo rolls a new version out to every MIG and exits 0 with a summary', async () => {
  const env: Record<string, string | undefined> = { ...process.env };
  // The demo brings its own stack: nothing from the calling shell may point it elsewhere.
  for (const name of Object.keys(env)) {
    if (/^(TEMPORAL_|ROLLOUT_|GITHUB_|GCP_|COMPUTE_)/.test(name)) delete env[name];
  }
  child = spawn(process.execPath, [BIN, 'demo'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const [code] = (await once(child, 'exit')) as [number | null];
  const tail = `${stdout.split('\n').slice(-15).join('\n')}\n${stderr.split('\n').slice(-10).join('\n')}`;
  assert.equal(code, 0, tail);

  assert.match(stdout, /^Temporal: {2}127\.0\.0\.1:\d+$/m);
  assert.match(stdout, /^Worker ready on task queue /m);
  assert.match(stdout, /^templates of [0-9a-f]{10}-dmo: 8 created/m);
  const summary = /^demo rollout completed in \d+s: (\d+) of (\d+) MIGs run ([0-9a-f]{10}-dmo)$/m.exec(stdout);
  assert.ok(summary !== null, `no summary line:\n${tail}`);
  const [, onNewVersion, migs, version] = summary;
  assert.equal(migs, '40', 'the default fleet');
  assert.equal(onNewVersion, migs, 'every MIG on the new version');
  assert.match(stdout, /^ {2}24 canaried, 24 promoted, 8 updated directly, 32 converged; \d+ idle runners drained$/m);
  assert.match(stdout, /^ {2}promote approved by auto-approve: /m);
  assert.match(stdout, new RegExp(`^ {2}workflow rollout-iree-oss-${version}$`, 'm'));
});
