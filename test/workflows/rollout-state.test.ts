import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MigStepResult } from '../../workflows/mig-worker-contract.js';
import type { RolloutPlan } from '../../workflows/rollout-contract.js';
import {
  countInstances,
  enterStage,
  recordFailedHealthGate,
  initialRolloutState,
  plannedMigs,
  recordStep,
  rolloutResult,
} from '../../workflows/rollout-state.js';
import { migState } from '../helpers/mig-state.js';

const AT = '2026-01-01T00:00:00.000Z';
const LATER = '2026-01-02T00:00:00.000Z';
const VERSIONS: MigStepResult = { kind: 'versions', applied: true, versions: [] };

function fresh() {
  return initialRolloutState({ workflowId: 'rollout-p-1', version: '1111111111-abc', requestedBy: 'alice', at: AT });
}

test('a rollout starts in preflight, timed from its start, with nothing counted', () => {
  const state = fresh();
  assert.equal(state.stage, 'preflight');
  assert.equal(state.startedAt, AT);
  assert.deepEqual(state.stageTimings, [{ stage: 'preflight', startedAt: AT }]);
  assert.deepEqual(state.counts, { instancesOld: 0, instancesNew: 0, runnersOld: 0, runnersNew: 0 });
  assert.deepEqual([state.migs, state.problems, state.timeline, state.continuedAsNew], [[], [], [], 0]);
});

test('planned MIGs count their instances off the target template as old; one on it already is current', () => {
  const planned = (name: string, fromTemplate: string) => {
    const {
      phase: _phase,
      instancesOld: _old,
      instancesNew: _new,
      drainedRunners: _drained,
      ...rest
    } = migState(name, 'canary', 'planned', { fromTemplate, instancesByTemplate: { old: 3, other: 1, new: 2 } });
    return rest;
  };
  const migs = plannedMigs({ migs: [planned('a', 'old'), planned('b', 'new')] } as unknown as RolloutPlan);
  assert.deepEqual(
    migs.map(({ name, phase, instancesOld, instancesNew, drainedRunners }) => ({
      name,
      phase,
      instancesOld,
      instancesNew,
      drainedRunners,
    })),
    [
      { name: 'a', phase: 'planned', instancesOld: 4, instancesNew: 2, drainedRunners: 0 },
      { name: 'b', phase: 'current', instancesOld: 4, instancesNew: 2, drainedRunners: 0 },
    ],
  );
});

test('entering a stage ends the current one; a terminal stage ends as it starts', () => {
  const state = fresh();
  enterStage(state, 'test', LATER);
  assert.equal(state.stage, 'test');
  assert.deepEqual(state.stageTimings, [
    { stage: 'preflight', startedAt: AT, finishedAt: LATER },
    { stage: 'test', startedAt: LATER },
  ]);
  enterStage(state, 'done', LATER);
  assert.deepEqual(state.stageTimings.at(-1), { stage: 'done', startedAt: LATER, finishedAt: LATER });
  assert.deepEqual(
    state.timeline.map((event) => event.message),
    ['stage test', 'stage done'],
  );
});

test('step records: phases move with the steps, bounds are kept from the first read, drains are summed', () => {
  const testing = migState('t', 'testing', 'planned');
  recordStep(testing, { kind: 'get-autoscaling' }, { kind: 'autoscaling', bounds: { min: 1, max: 4 } }, AT);
  recordStep(testing, { kind: 'get-autoscaling' }, { kind: 'autoscaling', bounds: { min: 9, max: 9 } }, AT);
  assert.deepEqual(testing.previousAutoscaling, { min: 1, max: 4 });
  recordStep(testing, { kind: 'direct-update', template: 'old' }, VERSIONS, AT);
  assert.equal(testing.phase, 'planned', 'an update back to the old template is no progress');
  recordStep(testing, { kind: 'direct-update', template: 'new' }, VERSIONS, LATER);
  assert.deepEqual([testing.phase, testing.updatedAt], ['updated', LATER]);
  recordStep(
    testing,
    { kind: 'drain' },
    { kind: 'drain', drained: ['r1', 'r2'], skippedBusy: ['busy'], removedStuck: ['r3'] },
    AT,
  );
  recordStep(testing, { kind: 'drain' }, { kind: 'drain', drained: ['r4'], skippedBusy: [], removedStuck: [] }, AT);
  assert.equal(testing.drainedRunners, 4);

  const canary = migState('c', 'canary', 'planned');
  recordStep(canary, { kind: 'canary', template: 'new', canarySize: 1 }, VERSIONS, AT);
  assert.deepEqual([canary.phase, canary.updatedAt], ['canary', AT]);
  recordStep(canary, { kind: 'promote', template: 'new' }, VERSIONS, AT);
  assert.equal(canary.phase, 'promoted');
  recordStep(canary, { kind: 'rollback-canary', canaryTemplate: 'new' }, VERSIONS, AT);
  assert.equal(canary.phase, 'rolled-back');
});

test('counts sum instances and runners over the MIGs, missing runner counts as none', () => {
  assert.deepEqual(
    countInstances([
      migState('a', 'canary', 'canary', { instancesOld: 3, instancesNew: 1, runnersOld: 2, runnersNew: 1 }),
      migState('b', 'direct-rest', 'planned', { instancesOld: 5, instancesNew: 0 }),
    ]),
    { instancesOld: 8, instancesNew: 1, runnersOld: 2, runnersNew: 1 },
  );
});

test('a failed health gate records its evidence and stops the rollout even while paused', () => {
  const state = fresh();
  state.pause = { identity: 'bob', reason: 'lunch', at: AT };
  recordFailedHealthGate(state, ['a: jobs failing', 'b: boot loop'], LATER);
  assert.equal(state.pause, undefined);
  assert.deepEqual(state.stop, {
    kind: 'health-gate',
    identity: 'health-gate',
    reason: 'health gate failed: a: jobs failing; b: boot loop',
    at: LATER,
  });
  assert.deepEqual(state.evidence, ['a: jobs failing', 'b: boot loop']);
  assert.deepEqual(state.timeline.at(-1), {
    at: LATER,
    kind: 'health-gate-failed',
    message: 'a: jobs failing; b: boot loop',
  });
});

test('the result counts what happened to each MIG', () => {
  const state = fresh();
  state.migs = [
    migState('c1', 'canary', 'converged', { updatedAt: AT, drainedRunners: 2 }),
    migState('c2', 'canary', 'rolled-back', { updatedAt: AT }),
    migState('c3', 'canary', 'planned'),
    migState('d1', 'direct-first', 'updated', { drainedRunners: 1 }),
    migState('t1', 'testing', 'restored'),
  ];
  state.counts = { instancesOld: 3, instancesNew: 7, runnersOld: 0, runnersNew: 0 };
  const result = rolloutResult(state, 'rolled-back', LATER);
  assert.deepEqual([result.outcome, result.startedAt, result.finishedAt], ['rolled-back', AT, LATER]);
  assert.deepEqual(result.counts, {
    migs: 5,
    canaried: 2,
    promoted: 1,
    directUpdated: 1,
    rolledBack: 1,
    converged: 1,
    runnersDrained: 3,
    instancesNew: 7,
    instancesOld: 3,
  });
});
