/**
 * Replays the committed histories of rollouts (and per-MIG workers, and pool controllers) against the current
 * workflow code: a change that would break runs in flight fails here. Refresh the files after an intended, patched
 * change with `ROLLOUT_RECORD_HISTORIES=1 bash scripts/test test/workflows/rollout*.test.ts` (and
 * `test/workflows/pool-controller*.test.ts`).
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { before, test } from 'node:test';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { HISTORIES_DIR, historyFromFixture, rolloutWorkflowBundle } from '../helpers/rollout-harness.js';
import { installQuietRuntime } from '../helpers/temporal.js';

let bundle: WorkflowBundle;
let files: string[];
before(async () => {
  installQuietRuntime();
  bundle = await rolloutWorkflowBundle();
  files = (await readdir(HISTORIES_DIR)).filter((name) => name.endsWith('.json')).sort();
});

async function load(name: string): Promise<ReturnType<typeof historyFromFixture>> {
  return historyFromFixture(await readFile(`${HISTORIES_DIR}${name}`, 'utf8'));
}

test('every committed history replays without a determinism error', async () => {
  assert.ok(files.length >= 5, `expected the recorded histories in ${HISTORIES_DIR}, found ${files.join(', ')}`);
  const histories = await Promise.all(
    files.map(async (name) => ({ workflowId: name.replace(/\.json$/, ''), history: await load(name) })),
  );
  const replayed: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: bundle }, histories)) {
    assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
    replayed.push(result.workflowId);
  }
  assert.deepEqual(replayed.sort(), histories.map((history) => history.workflowId).sort());
});

test('a history whose recorded commands differ from the code fails replay', async () => {
  const history = await load('rollout-happy-path.json');
  const scheduled = history.events.find(
    (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'loadFleet',
  );
  assert.ok(scheduled?.activityTaskScheduledEventAttributes?.activityType);
  scheduled.activityTaskScheduledEventAttributes.activityType.name = 'selectMigs';
  await assert.rejects(
    Worker.runReplayHistory({ workflowBundle: bundle }, history, 'edited'),
    DeterminismViolationError,
  );
});
