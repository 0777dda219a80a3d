/**
 * `rollout start` and `rollout status` against a real dev server, a worker and the simulator, where the rollout's
 * own rules meet the CLI's: a MIG caught mid-change is waited for by both, and the status shows who sent each
 * control as Temporal recorded it beside the identity the sender claimed.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { Client } from '@temporalio/client';
import type { RolloutStatus } from '../../cli/commands/status.js';
import { statusQuery, type RolloutState } from '../../workflows/rollout-contract.js';
import { approveSignal } from '../../workflows/rollout-controls-contract.js';
import { startE2eStack, type E2eStack } from '../helpers/e2e-stack.js';
import { runRollout, type CliRun } from './run-cli.js';

let stack: E2eStack;
let cliEnv: Record<string, string>;
before(async () => {
  stack = await startE2eStack({ worker: 'in-process', simulator: { speed: 60 } });
  cliEnv = { TEMPORAL_ADDRESS: stack.server.address, ROLLOUT_TASK_QUEUE: stack.taskQueue };
});
after(async () => {
  await stack?.close();
});

const rollout = (...argv: string[]): Promise<CliRun> => runRollout(argv, cliEnv);

test('start waits out a MIG caught mid-change as the rollout does: only when it is the only problem', async () => {
  const version = '5555555555-abc';
  const mig = 'gh-runner-testing-presubmit-gpu-us-west1';
  const selection = ['--env', 'testing', '--groups', 'presubmit', '--types', 'gpu'];
  assert.equal((await rollout('templates', 'create', '--version', version)).code, 0);
  // No capacity in one zone: of three VMs spread over three zones, one is never created, so the MIG stays busy.
  stack.simulator.control.setFaults({ stockouts: [{ zone: 'us-west1-a', type: 'gpu' }] });
  const bounds = await rollout('autoscaling', ...selection, '--min', '3', '--max', '3');
  assert.equal(bounds.code, 0, bounds.stderr);
  await until(() => !stack.simulator.control.mig(mig).isStable, `${mig} caught mid-change`);

  // A version without templates: a problem the rollout would stop for, so nothing starts and every problem shows.
  const refused = await rollout('start', '--version', '6666666666-abc', ...selection);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stdout, /^preflight problems \(2\):/m);
  assert.match(refused.stdout, new RegExp(`^ {2}- ${mig}: MIG ${mig} is not stable`, 'm'));
  assert.match(
    refused.stdout,
    new RegExp(`^ {2}- ${mig}: instance template \\S+ \\(for ${mig}\\) does not exist`, 'm'),
  );
  assert.match(refused.stderr, /^rollout: preflight found 2 problems; nothing was started/);

  const plan = await rollout('start', '--version', version, ...selection, '--plan');
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(
    plan.stdout,
    new RegExp(`^the rollout waits up to 15 minutes for a MIG caught mid-change to settle:\\n {2}- ${mig}$`, 'm'),
  );
  assert.doesNotMatch(plan.stdout, /preflight problems/);

  const run = await rollout('start', '--version', version, ...selection);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^started rollout /m);
  assert.match(
    run.stdout,
    new RegExp(`^ {2}the rollout waits up to 15 minutes for a MIG caught mid-change to settle:\\n {4}- ${mig}$`, 'm'),
  );
  const workflowId = /^started rollout (\S+)$/m.exec(run.stdout)?.[1] ?? '';
  try {
    stack.simulator.control.clearFaults();
    const state = await stageReached(workflowId, 'test');
    assert.deepEqual(state.problems, []);
    assert.ok(
      state.timeline.some((event) => event.kind === 'settled'),
      'the rollout waited for the MIG to settle',
    );
  } finally {
    await stack.client.workflow.getHandle(workflowId).terminate('test over');
  }
});

test('status shows each control with the identity claimed and the client identity Temporal recorded', async () => {
  const version = '7777777777-abc';
  const selection = ['--env', 'testing', '--groups', 'presubmit', '--types', 'cpu'];
  assert.equal((await rollout('templates', 'create', '--version', version)).code, 0);
  const run = await rollout('--json', 'start', '--version', version, ...selection, '--identity', 'alice');
  assert.equal(run.code, 0, run.stderr);
  const { workflowId } = JSON.parse(run.stdout) as { workflowId: string };
  try {
    await stageReached(workflowId, 'test');
    assert.equal((await rollout('pause', workflowId, '--identity', 'bob', '--reason', 'lunch')).code, 0);
    // Anyone can type any name: an approval claiming to be alice's, sent from somewhere else entirely.
    const elsewhere = new Client({ connection: stack.client.connection, identity: 'mallory@laptop' });
    await elsewhere.workflow.getHandle(workflowId).signal(approveSignal, { stage: 'test', identity: 'alice' });

    const cliIdentity = `${process.pid}@${hostname()}`;
    const json = await rollout('--json', 'status', workflowId);
    assert.equal(json.code, 0, json.stderr);
    const [status] = JSON.parse(json.stdout) as RolloutStatus[];
    assert.deepEqual(
      status?.controls?.map(({ name, kind, claimedIdentity, temporalIdentity, stage }) => ({
        name,
        kind,
        claimedIdentity,
        temporalIdentity,
        stage,
      })),
      [
        { name: 'pause', kind: 'update', claimedIdentity: 'bob', temporalIdentity: cliIdentity, stage: undefined },
        {
          name: 'approve-signal',
          kind: 'signal',
          claimedIdentity: 'alice',
          temporalIdentity: 'mallory@laptop',
          stage: 'test',
        },
      ],
    );
    assert.ok(status?.controls?.every((control) => !Number.isNaN(Date.parse(control.at))));

    const human = await rollout('status', workflowId);
    assert.equal(human.code, 0, human.stderr);
    assert.match(
      human.stdout,
      /^ {2}controls received \(identity claimed, then the client identity Temporal recorded\):$/m,
    );
    assert.match(human.stdout, new RegExp(`^ {4}\\S+\\s+pause\\s+update\\s+bob\\s+${escape(cliIdentity)}$`, 'm'));
    assert.match(human.stdout, /^ {4}\S+\s+approve-signal test\s+signal\s+alice\s+mallory@laptop$/m);
  } finally {
    await stack.client.workflow.getHandle(workflowId).terminate('test over');
  }
});

async function stageReached(workflowId: string, stage: RolloutState['stage']): Promise<RolloutState> {
  const handle = stack.client.workflow.getHandle(workflowId);
  for (;;) {
    const state = await handle.query(statusQuery);
    if (state.stage === stage) return state;
    assert.notEqual(state.stage, 'failed-preflight', JSON.stringify(state.problems));
    await sleep(200);
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(100);
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
