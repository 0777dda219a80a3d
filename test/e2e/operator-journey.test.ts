/**
 * The README's walkthrough exactly as an operator follows it, every command the binary in a child process:
 * `bash scripts/dev --speed 30` in one terminal (on ports and a state directory of its own); in another,
 * `templates create`, `start --soak 10s` with the interval flags, `status --watch`, `approve` at each gate the
 * watch shows, and `fleet` once the watch ends. The embedded stack runs the engine as fast as its fleet, so the
 * whole journey, start-up included, fits in five minutes.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FleetInventory } from '../../workflows/operations-contract.js';
import { freePortWithUi, listening } from '../../devstack/ports.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VERSION = '56e40f6505-9lp';
const WORKFLOW_ID = `rollout-iree-oss-${VERSION}`;

const stateDir = mkdtempSync(join(tmpdir(), 'rollout-journey-'));
const children: ChildProcess[] = [];
after(() => {
  // A failed assertion must not leave the stack or a watch running.
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  rmSync(stateDir, { recursive: true, force: true });
});

/** The calling shell's Temporal, GitHub and GCP settings must not reach the journey's commands. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(TEMPORAL_|ROLLOUT_|GITHUB_|GCP_|COMPUTE_)/.test(name)) delete env[name];
  }
  return { ...env, ...extra };
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function start(command: string, args: readonly string[], env: Record<string, string | undefined>): ChildProcess {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

async function finished(child: ChildProcess): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

test(
  'the README walkthrough: dev stack, templates, start, watch, approve each gate, every MIG on the new version',
  { timeout: 5 * 60_000 },
  async () => {
    const port = await freePortWithUi();
    const dev = start(
      'bash',
      ['scripts/dev', '--speed', '30', '--port', String(port), '--state-dir', stateDir],
      cleanEnv(),
    );
    let devErr = '';
    dev.stderr?.on('data', (chunk: Buffer) => (devErr += chunk.toString('utf8')));
    const devLines = createInterface({ input: dev.stdout! });
    for await (const line of devLines) if (line.startsWith('Worker ready')) break;
    assert.equal(await listening(port), true, devErr);

    // The second terminal: the dev stack listens on a port of its own, so the commands are told where.
    const cliEnv = cleanEnv({ TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
    const rollout = async (...args: string[]): Promise<Run> =>
      finished(start(process.execPath, ['bin/rollout.js', ...args], cliEnv));

    const templates = await rollout('templates', 'create', '--version', VERSION);
    assert.equal(templates.code, 0, templates.stderr);
    assert.match(templates.stdout, new RegExp(`^templates of ${VERSION}: 8 created`, 'm'));

    const started = await rollout(
      'start',
      '--version',
      VERSION,
      '--soak',
      '10s',
      '--health-check-interval',
      '5s',
      '--converge-interval',
      '5s',
    );
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, new RegExp(`^started rollout ${WORKFLOW_ID}$`, 'm'));
    // The flags set two intervals; the third is the worker's default, an hour at the dev stack's speed of 30.
    assert.match(
      started.stdout,
      /health checks every 5s .* convergence every 5s {3}runners ready within 2m {3}\d+ MIGs at a time$/m,
    );
    assert.match(started.stdout, new RegExp(`follow it with: rollout status ${WORKFLOW_ID} --watch$`, 'm'));

    const watch = start(process.execPath, ['bin/rollout.js', 'status', WORKFLOW_ID, '--watch'], cliEnv);
    const watched = finished(watch);
    const approved: string[] = [];
    for await (const line of createInterface({ input: watch.stdout! })) {
      const gate = /^ {2}approve: rollout approve (\S+) --stage (test|promote)$/.exec(line);
      if (gate === null || approved.includes(gate[2] ?? '')) continue;
      const [, id = '', stage = ''] = gate;
      approved.push(stage);
      const approval = await rollout('approve', id, '--stage', stage, '--reason', `${stage} gate looks good`);
      assert.equal(approval.code, 0, approval.stderr);
      assert.match(approval.stdout, new RegExp(`^approve: ${stage} approved by `));
    }
    const { code, stdout } = await watched;
    assert.equal(code, 0, stdout.split('\n').slice(-20).join('\n'));
    // A rollout that ended before a gate shows why in the watch's last lines (its outcome and evidence).
    assert.deepEqual(approved, ['test', 'promote'], stdout.split('\n').slice(-30).join('\n'));
    assert.match(stdout, new RegExp(`^${WORKFLOW_ID} {2}version ${VERSION} {2}completed `, 'm'));
    assert.match(stdout, /^ {2}test approved by \S+ at \S+: test gate looks good$/m);
    assert.match(stdout, /^ {2}promote approved by \S+ at \S+: promote gate looks good$/m);
    // Each approval beside the client identity Temporal recorded for it: the approve command's process and host.
    assert.match(stdout, /^ {4}\S+\s+approve test\s+update\s+\S+\s+\d+@\S+$/m);
    assert.match(stdout, /^ {4}\S+\s+approve promote\s+update\s+\S+\s+\d+@\S+$/m);

    const fleet = await rollout('--json', 'fleet');
    assert.equal(fleet.code, 0, fleet.stderr);
    const inventory = JSON.parse(fleet.stdout) as FleetInventory;
    assert.equal(inventory.migs.length, 40, 'the default fleet');
    const behind = inventory.migs.filter(
      (mig) =>
        mig.versions.length !== 1 ||
        mig.versions[0]?.version !== VERSION ||
        Object.entries(mig.instancesByTemplate).some(
          ([name, count]) => count > 0 && name !== mig.versions[0]?.template,
        ),
    );
    assert.deepEqual(
      behind.map((mig) => mig.name),
      [],
      'every MIG and every instance on the new version',
    );

    dev.kill('SIGINT');
    const [devCode] = (await once(dev, 'exit')) as [number | null];
    assert.equal(devCode, 0, devErr);
  },
);
