/** The plan weighs the lanes a rollout asks for against the activity slots of the worker that planned it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MigSnapshot } from '../../activities/contract.js';
import { migNameOf, selectMigRefs, templateNameFor } from '../../runner-config/matrix.js';
import type { RolloutInput } from '../../workflows/rollout-contract.js';
import { buildPlan, lanesPastSlots } from '../../workflows/rollout-plan.js';
import { NEW_VERSION, OLD_VERSION, testFleet } from '../helpers/fake-fleet.js';

const fleet = testFleet();

const prod: MigSnapshot[] = selectMigRefs(fleet, {
  environment: 'prod',
  regions: 'all',
  groups: 'all',
  types: 'all',
}).map((ref) => ({
  name: migNameOf(fleet, ref),
  region: ref.region,
  ref,
  versions: [{ name: 'base', instanceTemplate: templateNameFor(fleet, ref, OLD_VERSION) }],
  targetSize: 2,
  isStable: true,
  versionTargetReached: true,
  fingerprint: 'fp',
  distributionShape: 'EVEN',
  instancesByTemplate: { [templateNameFor(fleet, ref, OLD_VERSION)]: 2 },
}));

function plan(maxConcurrency: number, activitySlots?: number) {
  const input: RolloutInput = {
    version: NEW_VERSION,
    requestedBy: 'alice',
    environments: ['prod'],
    timing: { maxConcurrency },
  };
  return buildPlan({
    input,
    fleet,
    selected: { prod },
    missingTemplates: [],
    earlierProblems: [],
    ...(activitySlots === undefined ? {} : { activitySlots }),
  });
}

const planNotes = (maxConcurrency: number, activitySlots?: number) => plan(maxConcurrency, activitySlots).notes;

const lanesNote = (notes: readonly string[]) => notes.filter((note) => /ROLLOUT_ACTIVITY_SLOTS/.test(note));

test('lanes past the planning worker’s activity slots are a note naming both counts, not a problem', () => {
  assert.ok(prod.length > 2, 'the fleet has more prod MIGs than the slots given below');
  assert.deepEqual(lanesNote(planNotes(1000, 2)), [
    `${prod.length} MIGs at a time asked for, but the worker that planned runs 2 activities at once (ROLLOUT_ACTIVITY_SLOTS): lanes past the slots of the task queue's workers together wait for one`,
  ]);
});

test('no note when the lanes fit the slots, when there are fewer MIGs than slots, or when the worker does not say', () => {
  assert.deepEqual(lanesNote(planNotes(2, 2)), []);
  assert.deepEqual(lanesNote(planNotes(1000, prod.length)), []);
  assert.deepEqual(lanesNote(planNotes(1000)), []);
});

test('the plan records the slots, so the status of a running rollout can say the same; older plans say nothing', () => {
  const recorded = plan(1000, 2);
  assert.equal(recorded.workerActivitySlots, 2);
  assert.equal(lanesPastSlots(recorded), lanesNote(recorded.notes)[0]);
  const { timing: _, ...untimed } = recorded;
  assert.equal(lanesPastSlots(untimed), undefined);
  assert.equal(plan(1000).workerActivitySlots, undefined);
});
