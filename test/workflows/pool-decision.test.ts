import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  decidePool,
  type ObservedMig,
  type ObservedVm,
  type PoolDecisionInput,
} from '../../workflows/pool-decision.js';

const NOW = 1_000_000_000;
const MINUTE = 60_000;

const busy = (name: string): ObservedVm => ({ name, runner: { state: 'busy' } });
const idle = (name: string, idleSince = NOW - 30 * MINUTE): ObservedVm => ({
  name,
  runner: { state: 'idle', idleSince },
});
const booting = (name: string): ObservedVm => ({ name, runner: { state: 'none' } });
const mig = (name: string, vms: ObservedVm[], targetSize = vms.length): ObservedMig => ({ name, targetSize, vms });

function input(overrides: Partial<PoolDecisionInput>): PoolDecisionInput {
  return {
    bounds: { min: 0, max: 10 },
    warm: 0,
    jobs: { queued: 0, busy: 0 },
    migs: [mig('west', []), mig('east', [])],
    removing: [],
    now: NOW,
    scaleOutCooldownMs: MINUTE,
    scaleInCooldownMs: 10 * MINUTE,
    ...overrides,
  };
}

describe('pool decision', () => {
  test('desired = busy + queued + warm, clamped to the bounds', () => {
    assert.equal(decidePool(input({ jobs: { queued: 3, busy: 2 }, warm: 1 })).desired, 6);
    assert.equal(decidePool(input({ jobs: { queued: 30, busy: 2 } })).desired, 10);
    assert.equal(decidePool(input({ bounds: { min: 2, max: 10 } })).desired, 2);
  });

  test('scale-out spreads the new VMs over the MIGs, smallest first', () => {
    const decision = decidePool(
      input({ jobs: { queued: 5, busy: 1 }, migs: [mig('west', [busy('w1')]), mig('east', [])] }),
    );
    assert.equal(decision.current, 1);
    assert.deepEqual(decision.action, {
      kind: 'scale-out',
      targets: [
        { mig: 'west', from: 1, to: 3 },
        { mig: 'east', from: 0, to: 3 },
      ],
    });
  });

  test('VMs still booting count as capacity: a queued job is not ordered twice', () => {
    const decision = decidePool(input({ jobs: { queued: 1, busy: 0 }, migs: [mig('west', [booting('w1')])] }));
    assert.deepEqual(decision.action, { kind: 'hold', reason: 'at the desired size' });
  });

  test('scale-out waits out its cool-down', () => {
    const decision = decidePool(input({ jobs: { queued: 2, busy: 0 }, lastScaleOutAt: NOW - 20_000 }));
    assert.deepEqual(decision.action, { kind: 'hold', reason: 'scale-out cool-down: 40 s left' });
    const later = decidePool(input({ jobs: { queued: 2, busy: 0 }, lastScaleOutAt: NOW - MINUTE }));
    assert.equal(later.action.kind, 'scale-out');
  });

  test('scale-in names idle runners, longest idle first, and never a busy or unregistered one', () => {
    const decision = decidePool(
      input({
        jobs: { queued: 0, busy: 1 },
        migs: [
          mig('west', [busy('w1'), idle('w2', NOW - 20 * MINUTE), booting('w3')]),
          mig('east', [idle('e1', NOW - 40 * MINUTE), idle('e2', NOW - 15 * MINUTE)]),
        ],
      }),
    );
    assert.equal(decision.desired, 1);
    assert.equal(decision.current, 5);
    // Four too many, but only three are idle: the booting VM is left to register (or to the stuck-runner cleanup).
    assert.deepEqual(decision.action, {
      kind: 'scale-in',
      remove: [
        { mig: 'east', vm: 'e1' },
        { mig: 'west', vm: 'w2' },
        { mig: 'east', vm: 'e2' },
      ],
    });
  });

  test('a MIG of busy VMs is never shrunk: with no idle runner the controller holds', () => {
    const decision = decidePool(input({ jobs: { queued: 0, busy: 0 }, migs: [mig('west', [busy('w1'), busy('w2')])] }));
    // No running job is known (its events were lost), but the MIG reports two busy runners.
    assert.equal(decision.busy, 2);
    assert.deepEqual(decision.action, { kind: 'hold', reason: 'at the desired size' });
    const fewer = decidePool(input({ bounds: { min: 0, max: 1 }, migs: [mig('west', [busy('w1'), busy('w2')])] }));
    assert.deepEqual(fewer.action, {
      kind: 'hold',
      reason: 'no idle runner to remove: the others are busy or not registered',
    });
  });

  test('the warm minimum and the queue keep idle runners', () => {
    const migs = [mig('west', [idle('w1'), idle('w2'), idle('w3')])];
    assert.deepEqual(decidePool(input({ warm: 1, jobs: { queued: 1, busy: 0 }, migs })).action, {
      kind: 'scale-in',
      remove: [{ mig: 'west', vm: 'w1' }],
    });
  });

  test('scale-in waits out its cool-down after any change', () => {
    const migs = [mig('west', [idle('w1'), idle('w2')])];
    assert.deepEqual(decidePool(input({ migs, lastScaleOutAt: NOW - 5 * MINUTE })).action, {
      kind: 'hold',
      reason: 'scale-in cool-down: 300 s left',
    });
    assert.equal(decidePool(input({ migs, lastScaleInAt: NOW - 9 * MINUTE })).action.kind, 'hold');
    assert.equal(decidePool(input({ migs, lastScaleInAt: NOW - 10 * MINUTE })).action.kind, 'scale-in');
  });

  test('runners being removed are not counted and not named again', () => {
    const migs = [mig('west', [idle('w1'), idle('w2'), idle('w3')])];
    const decision = decidePool(input({ bounds: { min: 1, max: 10 }, migs, removing: ['w1'] }));
    assert.equal(decision.current, 2);
    assert.deepEqual(decision.action, { kind: 'scale-in', remove: [{ mig: 'west', vm: 'w2' }] });
    const all = decidePool(input({ bounds: { min: 1, max: 10 }, migs, removing: ['w1', 'w2'] }));
    assert.deepEqual(all.action, { kind: 'hold', reason: 'at the desired size' });
  });

  test('a pool without MIGs holds', () => {
    assert.deepEqual(decidePool(input({ jobs: { queued: 2, busy: 0 }, migs: [] })).action, {
      kind: 'hold',
      reason: 'the pool has no MIGs',
    });
  });

  test('a MIG a rollout holds counts but is never written: raises go elsewhere, its idle runners stay', () => {
    const out = decidePool(
      input({ jobs: { queued: 2, busy: 0 }, migs: [mig('west', []), mig('east', [])], held: ['west'] }),
    );
    assert.deepEqual(out.action, { kind: 'scale-out', targets: [{ mig: 'east', from: 0, to: 2 }] });
    const scaleIn = decidePool(input({ migs: [mig('west', [idle('w1')]), mig('east', [idle('e1')])], held: ['west'] }));
    assert.deepEqual(scaleIn.action, { kind: 'scale-in', remove: [{ mig: 'east', vm: 'e1' }] });
    assert.deepEqual(decidePool(input({ jobs: { queued: 1, busy: 0 }, held: ['west', 'east'] })).action, {
      kind: 'hold',
      reason: 'every MIG of the pool is held by a rollout',
    });
  });

  test('a runner busy before its in_progress event arrives is not counted twice', () => {
    const decision = decidePool(
      input({ jobs: { queued: 2, busy: 0 }, migs: [mig('west', [busy('w1'), idle('w2')]), mig('east', [])] }),
    );
    assert.equal(decision.desired, 2);
    assert.equal(decision.busy, 1);
    assert.equal(decision.action.kind, 'hold');
  });
});
