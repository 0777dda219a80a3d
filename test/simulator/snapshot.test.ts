/**
 * A simulator with a snapshot file continues the same world after a restart: what the control API reports is the
 * same, and what was under way (boots, jobs, operations) goes on from where it was.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { SnapshotError, startSimulator, type SimulatorHandle } from '../../simulator/index.js';

const START = '2026-03-02T00:00:00Z';
const MIG = 'gh-runner-presubmit-cpu-us-west1';
const NEW = 'gh-runner-presubmit-cpu-abcdef0123-x1y';
const dir = mkdtempSync(join(tmpdir(), 'sim-snapshot-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Everything the control API reports that a restart must keep (the speed is the new process's own). */
function reported(sim: SimulatorHandle): unknown {
  const { speed: _speed, ...state } = sim.control.state();
  return {
    state,
    mig: sim.control.mig(MIG),
    counters: sim.control.counters(),
    mutations: sim.control.mutations(),
    github: sim.control.githubTraffic(),
    pendingEvents: sim.control.clock().pendingEvents,
  };
}

async function patchMig(sim: SimulatorHandle): Promise<{ name: string; status: string }> {
  const response = await fetch(
    `${sim.url}/compute/v1/projects/iree-oss/regions/us-west1/instanceGroupManagers/${MIG}?requestId=6b1f7c0e-2d1a-4c8e-9a57-0d7c1c9f3e21`,
    {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        versions: [{ name: 'base', instanceTemplate: `projects/iree-oss/global/instanceTemplates/${NEW}` }],
        updatePolicy: { type: 'PROACTIVE', maxUnavailable: { fixed: 1 } },
      }),
    },
  );
  assert.equal(response.status, 200);
  return (await response.json()) as { name: string; status: string };
}

test('a restored world equals the saved one and keeps evolving: boots complete, jobs finish, operations end', async () => {
  const file = join(dir, 'world.json');
  const first = await startSimulator({ speed: 0, seed: 3, startTime: START, jobRates: [], snapshotFile: file });
  assert.equal(first.restored, false);
  first.control.createTemplate({ group: 'presubmit', type: 'cpu', version: 'abcdef0123-x1y' });
  const operation = await patchMig(first);
  first.control.submitJobs({ environment: 'prod', group: 'presubmit', type: 'cpu', count: 2, durationMinutes: 5 });
  first.control.advance(20);
  const before = reported(first);
  await first.close();

  const second = await startSimulator({ speed: 0, seed: 99, startTime: '2030-01-01T00:00:00Z', snapshotFile: file });
  try {
    assert.equal(second.restored, true);
    assert.deepEqual(reported(second), before);
    const mig = second.control.mig(MIG);
    assert.ok(
      mig.instances.some((instance) => instance.currentAction !== 'NONE'),
      'an update was under way when the world was saved',
    );
    const submitted =
      second.control.jobs().running.length + second.control.jobs().pools.reduce((n, p) => n + p.queued, 0);
    assert.ok(submitted > 0, 'jobs were running or queued when the world was saved');

    // The same requestId still names the same operation: the world remembers it.
    assert.equal((await patchMig(second)).name, operation.name);
    second.control.advance(3600);
    const after = second.control.mig(MIG);
    assert.ok(
      after.instances.every((instance) => instance.currentAction === 'NONE' && instance.template === NEW),
      JSON.stringify(after.instances),
    );
    assert.equal(after.instances.length, mig.targetSize);
    const jobs = second.control.jobs();
    assert.deepEqual(jobs.running, []);
    assert.ok(jobs.recent.some((job) => job.pool === 'prod/presubmit/cpu' && job.conclusion === 'success'));
    const done = await fetch(
      `${second.url}/compute/v1/projects/iree-oss/regions/us-west1/operations/${operation.name}`,
    );
    assert.equal(((await done.json()) as { status: string }).status, 'DONE');
  } finally {
    await second.close();
  }
});

test('a snapshot of another format version, or a corrupt one, is refused and left as it is', async () => {
  const other = join(dir, 'other.json');
  writeFileSync(other, JSON.stringify({ formatVersion: 999, world: {} }));
  await assert.rejects(
    startSimulator({ speed: 0, snapshotFile: other }),
    (error: unknown) =>
      error instanceof SnapshotError && /format version 999; this simulator reads version 1/.test(error.message),
  );
  assert.equal(readFileSync(other, 'utf8'), JSON.stringify({ formatVersion: 999, world: {} }));

  const corrupt = join(dir, 'corrupt.json');
  writeFileSync(corrupt, '{"formatVersion": 1, "wor');
  await assert.rejects(
    startSimulator({ speed: 0, snapshotFile: corrupt }),
    (error: unknown) => error instanceof SnapshotError && /is corrupt/.test(error.message),
  );
  assert.equal(readFileSync(corrupt, 'utf8'), '{"formatVersion": 1, "wor');
});
