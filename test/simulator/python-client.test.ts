import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';

import { startSimulator, type SimulatorHandle } from '../../simulator/index.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const program = fileURLToPath(new URL('python/second_client.py', import.meta.url));
/**
 * Simulated seconds per real second: the production profile's operations take seconds to minutes of simulated time
 * and a wait returns after at most two simulated minutes, so at 60× an operation is done within a few real seconds.
 */
const SPEED = 60;

interface Outcome {
  readonly code: number;
  readonly stderr: string;
}

/** scripts/python-env prints the cached virtual environment's python, building it first when needed. */
async function pythonPath(): Promise<string> {
  const { stdout } = await run('bash', ['scripts/python-env'], { cwd: root, timeout: 600_000 });
  return stdout.trim().split('\n').pop() ?? '';
}

async function secondClient(python: string, url: string): Promise<Outcome> {
  try {
    const { stderr } = await run(python, [program, url], { cwd: root, timeout: 300_000 });
    return { code: 0, stderr };
  } catch (error) {
    const failure = error as { code?: number; stderr?: string };
    return { code: typeof failure.code === 'number' ? failure.code : -1, stderr: failure.stderr ?? String(error) };
  }
}

describe('simulator: a second real client (google-cloud-compute for Python, plain HTTP for GitHub)', () => {
  let python: string;

  before(async () => {
    python = await pythonPath();
  });

  describe('production profile', () => {
    let sim: SimulatorHandle;
    before(async () => {
      sim = await startSimulator({ profile: 'production', speed: SPEED });
    });
    after(async () => {
      await sim.close();
    });

    test('answers only what GCP Compute and GitHub would', async () => {
      const outcome = await secondClient(python, sim.url);
      assert.equal(outcome.code, 0, `the second client found answers the real APIs would not give:\n${outcome.stderr}`);
    });
  });

  describe('ideal profile', () => {
    let sim: SimulatorHandle;
    before(async () => {
      sim = await startSimulator({ profile: 'ideal', speed: SPEED });
    });
    after(async () => {
      await sim.close();
    });

    test('the check can fail: the ideal profile refuses the lower-case enum patch GCP accepts', async () => {
      const outcome = await secondClient(python, sim.url);
      assert.equal(outcome.code, 1, `expected the second client to fail:\n${outcome.stderr}`);
      assert.match(outcome.stderr, /^FAIL compute\.migs\.patch\.lower-case-enums: .*'opportunistic'/m, outcome.stderr);
      assert.match(outcome.stderr, /^PASS compute\.migs\.list\.paged$/m, outcome.stderr);
    });
  });
});
