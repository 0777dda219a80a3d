import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RolloutStage, RolloutState } from '../../workflows/rollout-contract.js';
import { addTimeline, applyControl, controlProblem, type Control } from '../../workflows/rollout-controls.js';
import { initialRolloutState } from '../../workflows/rollout-state.js';
import { migState as mig } from '../helpers/mig-state.js';

const AT = '2026-01-01T00:00:00.000Z';

function state(stage: RolloutStage, overrides: Partial<RolloutState> = {}): RolloutState {
  const initial = initialRolloutState({
    workflowId: 'rollout-p-1111111111-abc',
    version: '1111111111-abc',
    requestedBy: 'alice',
    at: AT,
  });
  return { ...initial, stage, ...overrides };
}

const approvePromote: Control = { kind: 'approve', request: { stage: 'promote', identity: 'bob', reason: 'ok' } };

test('every control is refused once the rollout has ended', () => {
  for (const stage of ['done', 'rolled-back', 'aborted', 'failed-preflight'] as const) {
    assert.equal(
      controlProblem(state(stage), { kind: 'pause', request: { identity: 'bob' } }),
      `rollout is ${stage}; it accepts no more controls`,
    );
  }
});

test('controls need an identity; abort needs a reason', () => {
  assert.match(controlProblem(state('soak'), { kind: 'pause', request: { identity: ' ' } }) ?? '', /needs an identity/);
  assert.equal(
    controlProblem(state('soak'), { kind: 'abort', request: { identity: 'bob', reason: '' } }),
    'abort needs a reason',
  );
  assert.equal(
    controlProblem(state('soak'), { kind: 'abort', request: { identity: 'bob', reason: 'bad' } }),
    undefined,
  );
});

test('an approval is accepted only for the gate that is open, and recorded with who, when and why', () => {
  const waiting = state('promote', { gate: { kind: 'promote-approval', since: AT, waitsFor: 'promote approval' } });
  assert.equal(controlProblem(waiting, approvePromote), undefined);
  assert.match(
    controlProblem(waiting, { kind: 'approve', request: { stage: 'test', identity: 'bob' } }) ?? '',
    /no test approval is pending: stage is promote, waiting for promote approval/,
  );
  assert.match(
    controlProblem(waiting, { kind: 'approve', request: { stage: 'later' as 'test', identity: 'bob' } }) ?? '',
    /must be "test" or "promote"/,
  );
  assert.equal(applyControl(waiting, approvePromote, AT, 'update-1'), 'promote approved by bob');
  assert.deepEqual(waiting.approvals, [
    { stage: 'promote', identity: 'bob', reason: 'ok', at: AT, updateId: 'update-1' },
  ]);
  assert.equal(waiting.gate, undefined);
  assert.equal(controlProblem(waiting, approvePromote), `promote was already approved by bob at ${AT}`);
});

test('pause and resume: one pause at a time, resume only when paused, none during preflight', () => {
  const soaking = state('soak');
  assert.match(controlProblem(state('preflight'), { kind: 'pause', request: { identity: 'bob' } }) ?? '', /preflight/);
  assert.match(controlProblem(soaking, { kind: 'resume', request: { identity: 'bob' } }) ?? '', /is not paused/);
  applyControl(soaking, { kind: 'pause', request: { identity: 'bob', reason: 'graphs' } }, AT);
  assert.deepEqual(soaking.pause, { identity: 'bob', reason: 'graphs', at: AT });
  assert.match(
    controlProblem(soaking, { kind: 'pause', request: { identity: 'carol' } }) ?? '',
    /already paused by bob at .*: graphs/,
  );
  assert.equal(applyControl(soaking, { kind: 'resume', request: { identity: 'carol' } }, AT), 'resumed');
  assert.equal(soaking.pause, undefined);
  assert.deepEqual(
    soaking.timeline.map((event) => [event.kind, event.identity, event.message]),
    [
      ['paused', 'bob', 'graphs'],
      ['resumed', 'carol', 'resumed'],
    ],
  );
});

test('abort and rollback stop the rollout (even a paused one) and leave evidence; a second stop is refused', () => {
  const paused = state('canary', { pause: { identity: 'bob', reason: 'x', at: AT } });
  applyControl(paused, { kind: 'rollback', request: { identity: 'carol', reason: 'flaky' } }, AT);
  assert.equal(paused.pause, undefined);
  assert.deepEqual(paused.stop, { kind: 'rollback', identity: 'carol', reason: 'flaky', at: AT });
  assert.deepEqual(paused.evidence, ['rollback requested by carol: flaky']);
  assert.match(
    controlProblem(paused, { kind: 'abort', request: { identity: 'dave', reason: 'now' } }) ?? '',
    /already stopping \(rollback by carol: flaky\)/,
  );
  assert.match(controlProblem(paused, approvePromote) ?? '', /already stopping/);
});

test('rollback is refused before anything changed, in converge, and once promotion started', () => {
  const rollback: Control = { kind: 'rollback', request: { identity: 'bob' } };
  assert.match(controlProblem(state('preflight'), rollback) ?? '', /abort instead/);
  assert.match(controlProblem(state('converge'), rollback) ?? '', /roll forward/);
  const promoting = state('promote', {
    migs: [mig('m-1', 'canary', 'promoted'), mig('m-2', 'canary', 'canary'), mig('m-3', 'direct-rest', 'updated')],
  });
  assert.equal(
    controlProblem(promoting, rollback),
    'promotion has started (m-1, m-3); abort rolls back only what is still in canary',
  );
  assert.equal(controlProblem(state('soak', { migs: [mig('m-2', 'canary', 'canary')] }), rollback), undefined);
});

test('escalations are validated and recorded, bounded', () => {
  const soaking = state('soak');
  const escalation = (message: string): Control => ({
    kind: 'escalation',
    request: { source: 'runner-version-check', severity: 'warning', message },
  });
  assert.equal(controlProblem(soaking, escalation('')), 'escalation needs a message');
  assert.match(
    controlProblem(soaking, {
      kind: 'escalation',
      request: { source: 's', severity: 'loud' as 'info', message: 'm' },
    }) ?? '',
    /severity must be info, warning or critical/,
  );
  for (let index = 0; index < 105; index++) applyControl(soaking, escalation(`note ${index}`), AT);
  assert.equal(soaking.escalations.length, 100);
  assert.equal(soaking.escalations[0]?.message, 'note 5');
});

test('the timeline keeps the newest events and counts the ones dropped', () => {
  const soaking = state('soak');
  for (let index = 0; index < 250; index++) addTimeline(soaking, { at: AT, kind: 'tick', message: `${index}` });
  assert.equal(soaking.timeline.length, 200);
  assert.equal(soaking.timelineDropped, 50);
  assert.equal(soaking.timeline[0]?.message, '50');
});
