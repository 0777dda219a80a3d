/**
 * CLI commands against a real Temporal dev server, a worker and the simulator: the fleet operations (human and
 * --json output), the worker's polling and the escalations `list` shows.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ListResult } from '../../cli/commands/list.js';
import type { FleetInventory } from '../../workflows/operations-contract.js';
import { env, simulator, rollout, assertFailure, stageReached, useCliStack } from './commands-stack.js';

useCliStack();

describe('operations', () => {
  test('fleet prints the inventory, and the same data as JSON', async () => {
    const human = await rollout('fleet');
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /project \S+: \d+ MIGs/);
    assert.match(human.stdout, /gh-runner-presubmit-cpu-us-west1\s+base=0000000000-aaa/);
    const json = await rollout('--json', 'fleet', '--env', 'testing');
    assert.equal(json.code, 0, json.stderr);
    const inventory = JSON.parse(json.stdout) as FleetInventory;
    assert.ok(inventory.migs.length > 0);
    assert.ok(inventory.migs.every((mig) => mig.ref.environment === 'testing'));
    assert.deepEqual(inventory.migs[0]?.autoscaling, { min: 0, max: 0 });
  });

  test('templates create is idempotent', async () => {
    const first = await rollout('--json', 'templates', 'create', '--version', '1111111111-abc');
    assert.equal(first.code, 0, first.stderr);
    const created = JSON.parse(first.stdout) as { created: string[]; existing: string[] };
    assert.ok(created.created.length > 0);
    const second = await rollout('templates', 'create', '--version', '1111111111-abc');
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, new RegExp(`0 created, ${created.created.length} already existed`));
  });

  test('autoscaling reports the bounds before and after', async () => {
    const run = await rollout(
      '--json',
      'autoscaling',
      '--env',
      'testing',
      '--groups',
      'presubmit',
      '--types',
      'cpu',
      '--min',
      '0',
      '--max',
      '2',
    );
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { migs: { mig: { name: string }; before: object; after: object }[] };
    assert.equal(result.migs.length, 1);
    assert.deepEqual(result.migs[0]?.before, { min: 0, max: 0 });
    assert.deepEqual(result.migs[0]?.after, { min: 0, max: 2 });
    const human = await rollout(
      'autoscaling',
      '--env',
      'testing',
      '--groups',
      'presubmit',
      '--types',
      'cpu',
      '--min',
      '0',
      '--max',
      '0',
    );
    assert.match(human.stdout, /gh-runner-testing-presubmit-cpu-us-west1\s+0\.\.2\s+0\.\.0/);
  });

  test('a selector that matches nothing fails with the selection', async () => {
    assertFailure(
      await rollout('autoscaling', '--groups', 'nosuchgroup', '--min', '0', '--max', '1'),
      1,
      /no prod MIG matches/,
    );
  });

  test('drain-idle --dry-run reports without removing', async () => {
    const run = await rollout('--json', 'drain-idle', '--regions', 'us-west1', '--types', 'cpu', '--dry-run');
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { dryRun: boolean; migs: unknown[] };
    assert.equal(result.dryRun, true);
    assert.equal(result.migs.length, 2);
    const human = await rollout('drain-idle', '--regions', 'us-west1', '--types', 'cpu', '--dry-run');
    assert.match(human.stdout, /^dry run: nothing was removed/);
  });
});

describe('the worker', () => {
  test('polls at the activity timing it was started with', async () => {
    // VMs of this version never register a runner, so the rollout's test stage keeps polling for runners.
    const version = '4444444444-abc';
    assert.equal((await rollout('templates', 'create', '--version', version)).code, 0);
    const templates = simulator.control
      .state()
      .templates.map((template) => template.name)
      .filter((name) => name.endsWith(version));
    simulator.control.patchFaults({ neverRegisterTemplates: templates });
    const selection = ['--env', 'testing', '--regions', 'us-west1', '--groups', 'postsubmit', '--types', 'cpu'];
    const run = await rollout('--json', 'start', '--version', version, ...selection);
    assert.equal(run.code, 0, run.stderr);
    const { workflowId } = JSON.parse(run.stdout) as { workflowId: string };
    try {
      await stageReached(workflowId, 'test');
      const runnerLists = (): number => simulator.control.counters()['github.runners.list']?.requests ?? 0;
      const before = runnerLists();
      // One MIG waits for its runners. The worker polls every 200 ms; at the production default (30 s) it would
      // list them once or twice in this time.
      const deadline = Date.now() + 20_000;
      while (runnerLists() - before < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.ok(runnerLists() - before >= 10, `${runnerLists() - before} runner lists in 20 s`);
    } finally {
      await env.client.workflow.getHandle(workflowId).terminate('test over');
      simulator.control.patchFaults({ neverRegisterTemplates: [] });
    }
  });
});

describe('escalations', () => {
  test('list shows the escalation of the latest runner-version check, with or without a rollout', async () => {
    // Published 18 days ago: 12 days before GitHub's deadline, below the 14-day threshold, fleet not converged.
    simulator.control.publishRelease({
      version: '2.330.1',
      publishedAt: new Date(Date.now() - 18 * 24 * 60 * 60 * 1000).toISOString(),
    });
    const check = await rollout('--json', 'check-runner-version');
    assert.equal(check.code, 0, check.stderr);
    const { action } = JSON.parse(check.stdout) as { action: { kind: string; rolloutId: string } };
    assert.equal(action.kind, 'rollout-started');
    await env.client.workflow.getHandle(action.rolloutId).terminate('test over');

    const human = await rollout('list', '--running');
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^no rollouts\n\nneeds attention:\n/);
    assert.match(human.stdout, /^ {2}warning: fleet not converged on runner 2\.330\.1: .*14-day threshold$/m);
    assert.match(
      human.stdout,
      new RegExp(`raised by runner-version-check-\\S+ at \\S+; rollout ${action.rolloutId}$`, 'm'),
    );

    const json = JSON.parse((await rollout('--json', 'list')).stdout) as ListResult;
    assert.ok(json.rollouts.some((entry) => entry.workflowId === action.rolloutId));
    assert.deepEqual(
      json.needsAttention.map(({ source, newestRelease, rolloutId }) => ({ source, newestRelease, rolloutId })),
      [{ source: 'runnerVersionCheck', newestRelease: '2.330.1', rolloutId: action.rolloutId }],
    );
  });
});
