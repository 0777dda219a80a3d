import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultFleet } from '../../runner-config/default-fleet.js';
import { runnerLabelSets } from '../../runner-config/label-matching.js';
import { fleetPools, poolIdOf, poolOfJob } from '../../runner-config/pools.js';
import type { FleetDefinition, MigRef } from '../../runner-config/types.js';

const fleet = defaultFleet();
const pools = fleetPools(fleet);

function placedIn(labels: readonly string[]): string {
  const placement = poolOfJob(pools, labels);
  assert.equal(placement.kind, 'pool', `${labels.join(', ')}: ${JSON.stringify(placement)}`);
  return placement.kind === 'pool' ? placement.pool.id : '';
}

describe('pools', () => {
  test('every MIG is in exactly one pool: one per environment, group and type, across regions', () => {
    // 2 environments × 2 groups × 4 types; prod spans 4 regions, testing 1.
    assert.equal(pools.length, 16);
    const migs = pools.flatMap((pool) => pool.migs.map((set) => set.mig));
    assert.equal(migs.length, runnerLabelSets(fleet).length);
    assert.equal(new Set(migs).size, migs.length);
    const gpu = pools.find((pool) => pool.id === 'prod/presubmit/gpu');
    assert.deepEqual(
      gpu?.migs.map((set) => set.ref.region),
      ['us-central1', 'us-west1', 'us-east1', 'us-east4'],
    );
    assert.equal(pools.find((pool) => pool.id === 'testing/postsubmit/a100')?.migs.length, 1);
  });

  test('a pool without an entry in the fleet file is off; an entry gives its policy', () => {
    assert.ok(pools.every((pool) => pool.policy.mode === 'off'));
    const withPolicy: FleetDefinition = {
      ...fleet,
      pools: [
        {
          environment: 'prod',
          group: 'presubmit',
          type: 'gpu',
          mode: 'queue',
          bounds: { min: 0, max: 8 },
          warm: 1,
        },
      ],
    };
    const policies = new Map(fleetPools(withPolicy).map((pool) => [pool.id, pool.policy]));
    assert.deepEqual(policies.get('prod/presubmit/gpu'), withPolicy.pools?.[0]);
    assert.equal(policies.get('prod/postsubmit/gpu')?.mode, 'off');
  });

  test('a job whose labels pin group and environment belongs to one pool, whatever the case of its labels', () => {
    // The labels the simulator's jobs and IREE's workflows ask for.
    assert.equal(
      placedIn(['self-hosted', 'os-family=Linux', 'runner-group=presubmit', 'environment=prod', 'gpu']),
      'prod/presubmit/gpu',
    );
    assert.equal(
      placedIn(['Self-Hosted', 'RUNNER-GROUP=Postsubmit', 'Environment=Testing', 'A100']),
      'testing/postsubmit/a100',
    );
  });

  test("a zone label narrows the job to its region's MIG, still in the same pool", () => {
    const placement = poolOfJob(pools, [
      'self-hosted',
      'runner-group=presubmit',
      'environment=prod',
      'cpu',
      'zone=us-east1-c',
    ]);
    assert.equal(placement.kind, 'pool');
    assert.equal(placement.kind === 'pool' ? placement.pool.id : '', 'prod/presubmit/cpu');
    assert.deepEqual(placement.kind === 'pool' ? placement.migs.map((set) => set.mig) : [], [
      'gh-runner-presubmit-cpu-us-east1',
    ]);
  });

  test('labels that leave the group or the environment open are ambiguous, naming every pool they reach', () => {
    assert.deepEqual(poolOfJob(pools, ['self-hosted', 'gpu', 'environment=prod']), {
      kind: 'ambiguous',
      pools: ['prod/postsubmit/gpu', 'prod/presubmit/gpu'],
    });
    const wide = poolOfJob(pools, ['self-hosted', 'arm64']);
    assert.equal(wide.kind, 'ambiguous');
    assert.equal(wide.kind === 'ambiguous' ? wide.pools.length : 0, 4);
  });

  test('a GitHub-hosted job, or one asking for a runner the fleet lacks, matches no pool', () => {
    assert.deepEqual(poolOfJob(pools, ['ubuntu-latest']), { kind: 'unmatched' });
    assert.deepEqual(poolOfJob(pools, ['self-hosted', 'runner-group=presubmit', 'environment=prod', 'tpu']), {
      kind: 'unmatched',
    });
  });

  test("a MIG's pool id names its environment, group and type", () => {
    const ref: MigRef = { environment: 'testing', group: 'presubmit', type: 'cpu', region: 'us-west1' };
    assert.equal(poolIdOf(ref), 'testing/presubmit/cpu');
  });
});
