/**
 * `rollout pools` and `rollout pools set` against a real Temporal dev server, a worker and the simulator: bad
 * input is refused before anything starts (exit 2) or by the controller's validator (exit 5), the listing keeps
 * one shape whether or not a pool's controller runs, and a setting starts the controller it is meant for.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { PoolLine } from '../../cli/commands/pools.js';
import type { PoolsSetResult } from '../../cli/commands/pools-set.js';
import { DEFAULT_FLEET_PATH, defaultFleet } from '../../runner-config/default-fleet.js';
import { fleetPools } from '../../runner-config/pools.js';
import { poolWorkflowId } from '../../workflows/pool-contract.js';
import { assertFailure, env, rollout, simulator, useCliStack, workflowCount } from './commands-stack.js';

useCliStack();

const POOL = 'prod/presubmit/gpu';
const POOL_IDS = fleetPools(defaultFleet()).map((pool) => pool.id);
const LINE_KEYS = [
  'busy',
  'current',
  'desired',
  'idle',
  'lastAction',
  'max',
  'min',
  'mode',
  'pool',
  'problem',
  'queued',
  'running',
  'settings',
  'workflowId',
];

let dir: string;
/** The default fleet with one pool in mode queue, 0..8. */
let queueFleet: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rollout-pools-'));
  queueFleet = join(dir, 'fleet.yaml');
  writeFileSync(
    queueFleet,
    `${readFileSync(DEFAULT_FLEET_PATH, 'utf8')}\npools:\n  - { environment: prod, group: presubmit, type: gpu, mode: queue, min: 0, max: 8 }\n`,
  );
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function poolLines(): Promise<PoolLine[]> {
  const run = await rollout('--json', 'pools');
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as PoolLine[];
}

describe('rollout pools set: bad input, one line, nothing started', () => {
  test('an unknown pool is named with the known ones (exit 2)', async () => {
    const before = await workflowCount();
    const run = await rollout('pools', 'set', 'prod/presubmit/tpu', '--max', '2');
    assertFailure(
      run,
      2,
      /unknown pool "prod\/presubmit\/tpu"; the fleet's pools: prod\/presubmit\/cpu, prod\/presubmit\/gpu, /,
    );
    for (const id of POOL_IDS) assert.ok(run.stderr.includes(id), `${id} listed`);
    assert.equal(await workflowCount(), before);
  });

  test('a bad mode, bad numbers, min above max, beyond the fleet file, or nothing at all (exit 2)', async () => {
    const before = await workflowCount();
    assertFailure(await rollout('pools', 'set', POOL), 2, /nothing to set for pool prod\/presubmit\/gpu/);
    assertFailure(
      await rollout('pools', 'set', POOL, '--mode', 'auto'),
      2,
      /'--mode <mode>' argument 'auto' is invalid\. Allowed choices are off, queue/,
    );
    assertFailure(await rollout('pools', 'set', POOL, '--min', '-1'), 2, /'--min <n>' argument '-1' is invalid/);
    assertFailure(await rollout('pools', 'set', POOL, '--max', '1.5'), 2, /'--max <n>' argument '1\.5' is invalid/);
    assertFailure(await rollout('pools', 'set', POOL, '--min', '3', '--max', '1'), 2, /min 3 is more than max 1/);
    assertFailure(
      await rollout('pools', 'set', POOL, '--max', '9', '--fleet', queueFleet),
      2,
      /max 9 is beyond the fleet file's max 8 for pool prod\/presubmit\/gpu/,
    );
    // The default fleet leaves the pool off, and its controller does not run: it would start with no bounds.
    assertFailure(
      await rollout('pools', 'set', POOL, '--mode', 'queue'),
      2,
      /pool prod\/presubmit\/gpu has no bounds in the fleet file: mode queue needs a min and a max/,
    );
    assertFailure(await rollout('--json', 'pools', 'set', POOL, '--min', '2', '--max', '1'), 2, /min 2 is more/);
    assert.equal(await workflowCount(), before);
  });
});

describe('rollout pools', () => {
  test('lists every pool of the fleet, each shown not running while no controller runs', async () => {
    const lines = await poolLines();
    assert.deepEqual(
      lines.map((line) => line.pool),
      POOL_IDS,
    );
    for (const line of lines) {
      assert.deepEqual(Object.keys(line).sort(), LINE_KEYS, 'the same keys on every line');
      assert.equal(line.running, false);
      assert.equal(line.mode, 'off', 'the fleet file leaves every pool off');
      assert.deepEqual(
        [line.desired, line.current, line.busy, line.idle, line.queued, line.min, line.max],
        [null, null, null, null, null, null, null],
      );
    }
    const human = await rollout('pools');
    assert.equal(human.code, 0, human.stderr);
    const [header, ...rows] = human.stdout.trimEnd().split('\n');
    assert.match(header ?? '', /^POOL\s+MODE\s+DESIRED\s+CURRENT\s+BUSY\s+IDLE\s+QUEUED\s+MIN\s+MAX\s+NOTE$/);
    assert.equal(rows.length, POOL_IDS.length, 'one line per pool');
    assert.match(rows[1] ?? '', /^prod\/presubmit\/gpu\s+off\s+-\s+-\s+-\s+-\s+-\s+-\s+-\s+controller not running/);
  });

  test('set starts the controller it is meant for, which then shows its figures; its validator refuses (exit 5)', async () => {
    const workflowId = poolWorkflowId(defaultFleet().project, POOL);
    try {
      const set = await rollout('--json', 'pools', 'set', POOL, '--mode', 'queue', '--min', '0', '--max', '2');
      assert.equal(set.code, 0, set.stderr);
      const ack = JSON.parse(set.stdout) as PoolsSetResult;
      assert.equal(ack.workflowId, workflowId);
      assert.deepEqual(ack.settings, { mode: 'queue', min: 0, max: 2 });

      let line: PoolLine | undefined;
      for (let look = 0; look < 100; look++) {
        line = (await poolLines()).find((candidate) => candidate.pool === POOL);
        if (line?.desired !== null && line?.desired !== undefined) break;
        await delay(100);
      }
      assert.ok(
        line !== undefined && line.desired !== null,
        `the controller's first decision: ${JSON.stringify(line)}`,
      );
      assert.equal(line.running, true);
      assert.equal(line.mode, 'queue');
      assert.deepEqual([line.min, line.max], [0, 2]);
      assert.ok(line.desired <= 2 && line.queued !== null && line.current !== null, JSON.stringify(line));
      const others = (await poolLines()).filter((candidate) => candidate.pool !== POOL);
      assert.ok(others.every((other) => !other.running));
      const human = await rollout('pools');
      assert.match(
        human.stdout,
        /prod\/presubmit\/gpu\s+queue\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+0\s+2\s+set: mode queue, min 0, max 2/,
      );

      // The controller holds its settings: a min above the max set is refused by its validator.
      assertFailure(
        await rollout('pools', 'set', POOL, '--min', '3'),
        5,
        /rejected: min 3 is more than max 2 for pool prod\/presubmit\/gpu/,
      );
      const off = await rollout('pools', 'set', POOL, '--mode', 'off');
      assert.equal(off.code, 0, off.stderr);
      assert.match(off.stdout, /^pool prod\/presubmit\/gpu: mode off \(set at run time: mode off, min 0, max 2\)\n$/);
      const after = (await poolLines()).find((candidate) => candidate.pool === POOL);
      assert.equal(after?.mode, 'off');

      // What was set at run time is cleared: the fleet file's policy (no entry: off) applies again.
      const reset = await rollout('--json', 'pools', 'set', POOL, '--reset');
      assert.equal(reset.code, 0, reset.stderr);
      assert.deepEqual((JSON.parse(reset.stdout) as PoolsSetResult).settings, {});
      const resetAgain = await rollout('pools', 'set', POOL, '--reset');
      assert.match(
        resetAgain.stdout,
        /^pool prod\/presubmit\/gpu: mode off \(nothing set at run time: the fleet file's policy applies\)\n$/,
      );

      // In queue mode the controller turned the pool's autoscalers off to resize them (GCP refuses otherwise); in
      // mode off it gives them back the mode they had.
      const gpuMigs = simulator.control
        .state()
        .migs.filter((mig) => mig.environment === 'prod' && mig.group === 'presubmit' && mig.type === 'gpu');
      assert.ok(gpuMigs.length > 0);
      for (
        let look = 0;
        look < 100 && gpuMigs.some((mig) => simulator.control.mig(mig.name).autoscaler.mode !== 'ONLY_SCALE_OUT');
        look++
      ) {
        await delay(100);
      }
      assert.deepEqual(
        gpuMigs.map((mig) => simulator.control.mig(mig.name).autoscaler.mode),
        gpuMigs.map(() => 'ONLY_SCALE_OUT'),
      );
      const turnedOff = simulator.control
        .mutations({ endpoint: 'compute.regionAutoscalers.patch' })
        .filter((entry) => entry.effective && JSON.stringify(entry.body).includes('"OFF"'));
      assert.equal(turnedOff.length, gpuMigs.length, 'each autoscaler was turned off once');
    } finally {
      await env.client.workflow
        .getHandle(workflowId)
        .terminate('test done')
        .catch(() => undefined);
    }
  });
});
