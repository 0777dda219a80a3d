/**
 * How many lanes an operator can ask for, and how a worker is given the slots to run them: the bound on
 * `start --max-concurrency` and the worker's slot variables, refused with exit 2 before anything connects; then,
 * against a worker with few slots, the plan and the status saying how many lanes it runs at once.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { SIMULATOR_CREDENTIALS } from '../../devstack/simulator.js';
import { statusQuery } from '../../workflows/rollout-contract.js';
import { startE2eStack, type E2eStack } from '../helpers/e2e-stack.js';
import { runRollout, type CliRun } from './run-cli.js';

/** Nothing listens on port 1: a command that gets past its flags fails reaching Temporal instead. */
const UNREACHABLE = { TEMPORAL_ADDRESS: '127.0.0.1:1' };

test('start takes up to 1,000 lanes: a rollout of a large fleet is not capped at one worker of default slots', async () => {
  const run = await runRollout(
    ['start', '--version', '0123456789-abc', '--max-concurrency', '1000', '--plan'],
    UNREACHABLE,
  );
  assert.equal(run.code, 4, run.stderr);
  assert.match(run.stderr, /cannot reach Temporal/);
});

test('start refuses a lane count past 1,000 or below 1 with exit 2', async () => {
  for (const [value, rule] of [
    ['1001', 'must be at most 1000'],
    ['0', 'must be at least 1'],
    ['many', 'must be a whole number'],
  ] as const) {
    const run = await runRollout(['start', '--version', '0123456789-abc', '--max-concurrency', value], UNREACHABLE);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, new RegExp(`'--max-concurrency <n>' argument '${value}' is invalid\\. ${rule}`));
  }
});

test('the worker refuses bad slot counts with exit 2, naming each variable', async () => {
  const run = await runRollout(['worker'], {
    ...UNREACHABLE,
    GITHUB_TOKEN: 'test-token',
    ROLLOUT_ACTIVITY_SLOTS: '0',
    ROLLOUT_WORKFLOW_TASK_SLOTS: 'lots',
  });
  assert.equal(run.code, 2, run.stderr);
  assert.match(
    run.stderr,
    /configuration: ROLLOUT_ACTIVITY_SLOTS: must be at least 1; ROLLOUT_WORKFLOW_TASK_SLOTS: must be a whole number, at least 2/,
  );
  assert.doesNotMatch(run.stderr, /cannot reach Temporal/);
});

test('worker --help names the slot variables and their defaults', async () => {
  const run = await runRollout(['worker', '--help'], {});
  assert.equal(run.code, 0);
  assert.match(run.stdout, /ROLLOUT_ACTIVITY_SLOTS .*\n.*\(default: 100\)/);
  assert.match(run.stdout, /ROLLOUT_WORKFLOW_TASK_SLOTS .*\(default: 40\)/);
});

describe('a worker with 3 activity slots', () => {
  const SLOTS = 3;
  let stack: E2eStack;
  let rollout: (...argv: string[]) => Promise<CliRun>;
  before(async () => {
    stack = await startE2eStack({
      worker: 'in-process',
      simulator: { speed: 60 },
      workerEnv: definedOnly({ ...SIMULATOR_CREDENTIALS, ROLLOUT_ACTIVITY_SLOTS: String(SLOTS) }),
    });
    const cliEnv = { TEMPORAL_ADDRESS: stack.server.address, ROLLOUT_TASK_QUEUE: stack.taskQueue };
    rollout = (...argv) => runRollout(argv, cliEnv);
  });
  after(async () => {
    await stack?.close();
  });

  const note = (lanes: number) =>
    `${lanes} MIGs at a time asked for, but the worker that planned runs ${SLOTS} activities at once (ROLLOUT_ACTIVITY_SLOTS)`;

  test('the plan says how many of the lanes asked for the worker runs at once, and only when it runs fewer', async () => {
    const version = '1212121212-abc';
    assert.equal((await rollout('templates', 'create', '--version', version)).code, 0);
    const migs = await prodMigCount(rollout, version);
    assert.ok(migs > SLOTS, `more prod MIGs (${migs}) than slots`);

    const wide = await rollout('start', '--version', version, '--env', 'prod', '--max-concurrency', '1000', '--plan');
    assert.equal(wide.code, 0, wide.stderr);
    assert.match(wide.stdout, /1000 MIGs at a time$/m);
    assert.ok(wide.stdout.includes(`note: ${note(migs)}`), wide.stdout);

    const fitting = await rollout('start', '--version', version, '--env', 'prod', '--max-concurrency', '3', '--plan');
    assert.equal(fitting.code, 0, fitting.stderr);
    assert.doesNotMatch(fitting.stdout, /ROLLOUT_ACTIVITY_SLOTS/);
  });

  test("a running rollout's status says so too", async () => {
    const version = '3434343434-abc';
    assert.equal((await rollout('templates', 'create', '--version', version)).code, 0);
    const started = await rollout('start', '--version', version, '--env', 'prod', '--max-concurrency', '1000');
    assert.equal(started.code, 0, started.stderr);
    const workflowId = /^started rollout (\S+)$/m.exec(started.stdout)?.[1] ?? '';
    const handle = stack.client.workflow.getHandle(workflowId);
    try {
      let plan;
      while ((plan = (await handle.query(statusQuery)).plan) === undefined) await sleep(200);
      const shown = await rollout('status', workflowId);
      assert.equal(shown.code, 0, shown.stderr);
      assert.ok(shown.stdout.includes(`  note: ${note(plan.migs.length)}`), shown.stdout);
    } finally {
      await handle.terminate('test over');
    }
  });
});

/** The prod MIGs a plan selects, from its JSON. */
async function prodMigCount(rollout: (...argv: string[]) => Promise<CliRun>, version: string): Promise<number> {
  const json = await rollout('--json', 'start', '--version', version, '--env', 'prod', '--plan');
  assert.equal(json.code, 0, json.stderr);
  return (JSON.parse(json.stdout) as { plan: { migs: unknown[] } }).plan.migs.length;
}

function definedOnly(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
