/**
 * CLI commands against a real Temporal dev server, a worker and the simulator: a rollout from start to abort
 * (human and --json output).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ListResult } from '../../cli/commands/list.js';
import { runCli } from '../../cli/run.js';
import type { RolloutPlan, RolloutState } from '../../workflows/rollout-contract.js';
import { env, cliEnv, rollout, assertFailure, stageReached, useCliStack } from './commands-stack.js';

useCliStack();

// eslint-disable-next-line no-control-regex -- what a terminal receives: cursor up N lines, clear to the end
const REDRAW = /\x1b\[(\d+)F\x1b\[J/;

describe('a rollout from start to abort', () => {
  const version = '2222222222-abc';
  const selection = ['--env', 'testing', '--groups', 'presubmit', '--types', 'cpu'];
  let workflowId: string;

  test('start refuses a version whose templates do not exist, starting nothing', async () => {
    const run = await rollout('start', '--version', '3333333333-abc', ...selection);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /preflight problems/);
    assert.match(run.stderr, /^rollout: preflight found \d+ problems?; nothing was started/);
    const list = await rollout('--json', 'list');
    assert.deepEqual(JSON.parse(list.stdout), { rollouts: [], needsAttention: [] });
  });

  test('start --plan prints the plan and starts nothing', async () => {
    assert.equal((await rollout('templates', 'create', '--version', version)).code, 0);
    const run = await rollout('--json', 'start', '--version', version, ...selection, '--plan');
    assert.equal(run.code, 0, run.stderr);
    const { outcome, plan } = JSON.parse(run.stdout) as { outcome: string; plan: { migs: { name: string }[] } };
    assert.equal(outcome, 'planned');
    assert.deepEqual(
      plan.migs.map((mig) => mig.name),
      ['gh-runner-testing-presubmit-cpu-us-west1'],
    );
    const human = await rollout('start', '--version', version, ...selection, '--plan');
    assert.match(human.stdout, /^plan for 2222222222-abc/);
    // The worker's defaults, unless the operator sets an interval.
    assert.match(
      human.stdout,
      /^ {2}health checks every 30 minutes \(2 failed in a row roll back\) {3}convergence every 10 minutes {3}runners ready within 1 hour {3}4 MIGs at a time$/m,
    );
    const timed = await rollout(
      '--json',
      'start',
      '--version',
      version,
      ...selection,
      '--plan',
      '--health-check-interval',
      '5m',
      '--unhealthy-checks',
      '1',
      '--converge-interval',
      '90s',
      '--runners-ready-timeout',
      '2h',
      '--max-concurrency',
      '32',
    );
    assert.equal(timed.code, 0, timed.stderr);
    const { timing } = (JSON.parse(timed.stdout) as { plan: RolloutPlan }).plan;
    assert.deepEqual(
      {
        healthCheckInterval: timing?.healthCheckInterval,
        unhealthyChecksToRollBack: timing?.unhealthyChecksToRollBack,
        convergeInterval: timing?.convergeInterval,
        runnersReadyTimeout: timing?.runnersReadyTimeout,
        maxConcurrency: timing?.maxConcurrency,
      },
      {
        healthCheckInterval: '5m',
        unhealthyChecksToRollBack: 1,
        convergeInterval: '90s',
        runnersReadyTimeout: '2h',
        maxConcurrency: 32,
      },
    );
    assert.match(human.stdout, /gh-runner-testing-presubmit-cpu-us-west1\s+testing/);
    assert.deepEqual((JSON.parse((await rollout('--json', 'list')).stdout) as ListResult).rollouts, []);
  });

  test('start prints the id and UI link; starting again attaches', async () => {
    const run = await rollout('start', '--version', version, ...selection, '--identity', 'alice');
    assert.equal(run.code, 0, run.stderr);
    const match = /^started rollout (\S+)$/m.exec(run.stdout);
    assert.ok(match?.[1], run.stdout);
    workflowId = match[1];
    await stageReached(workflowId, 'test');
    assert.match(run.stdout, new RegExp(`http://127\\.0\\.0\\.1:1/namespaces/default/workflows/${workflowId}`));
    const again = await rollout('--json', 'start', '--version', version, ...selection);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(
      { ...(JSON.parse(again.stdout) as object), url: undefined },
      { workflowId, outcome: 'attached', url: undefined },
    );
  });

  test('status shows the rollout, as text and as JSON', async () => {
    const human = await rollout('status', workflowId);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`^${workflowId}  version ${version}  stage \\S+  \\(by alice\\)`));
    assert.match(human.stdout, /gh-runner-testing-presubmit-cpu-us-west1\s+testing/);
    const json = await rollout('--json', 'status', workflowId);
    const [status] = JSON.parse(json.stdout) as { execution: string; state: RolloutState }[];
    assert.equal(status?.execution, 'RUNNING');
    assert.equal(status?.state.version, version);
    const all = await rollout('--json', 'status');
    assert.deepEqual(
      (JSON.parse(all.stdout) as { workflowId: string }[]).map((one) => one.workflowId),
      [workflowId],
    );
  });

  test('status --watch on a terminal draws progress bars and redraws the block in place', async () => {
    let written = '';
    const stop = new AbortController();
    const terminal = {
      isTTY: true,
      columns: 160,
      write: (text: string) => {
        written += text;
        // Two redraws after the first drawing are enough to see the block replaced in place.
        if (written.split(REDRAW).length >= 5) stop.abort();
      },
    };
    const code = await runCli(['status', workflowId, '--watch'], {
      env: cliEnv,
      stdout: terminal,
      stderr: terminal,
      signal: stop.signal,
    });
    assert.equal(code, 0, written);
    const [first = '', ...redraws] = written.split(REDRAW);
    assert.match(first, new RegExp(`^${workflowId}  version ${version}`));
    assert.match(first, /instances new \[[█░]{20}\]\s+\d+\/\d+/);
    assert.match(first, /gh-runner-testing-presubmit-cpu-us-west1\s+testing\s+\S+\s+\[[█░]{20}\]/);
    // Each redraw moves up exactly over the block drawn before it, then draws the whole block again.
    let previous = first;
    for (let i = 0; i < redraws.length; i += 2) {
      assert.equal(Number(redraws[i]), previous.split('\n').length - 1);
      previous = redraws[i + 1] ?? '';
      assert.match(previous, new RegExp(`^${workflowId}  version ${version}`));
    }
    assert.equal(redraws.length, 4);
  });

  test('list shows it with version and stage', async () => {
    const json = await rollout('--json', 'list', '--running');
    const [entry] = (JSON.parse(json.stdout) as ListResult).rollouts;
    assert.equal(entry?.workflowId, workflowId);
    assert.equal(entry?.version, version);
    const human = await rollout('list');
    assert.match(human.stdout, /^ID\s+VERSION\s+STAGE\s+STATUS\s+STARTED/);
    assert.match(human.stdout, new RegExp(`${workflowId}\\s+${version}\\s+\\S+\\s+running`));
  });

  test('pause and resume are acknowledged; a pause while paused is refused with the reason', async () => {
    const pause = await rollout('--json', 'pause', workflowId, '--reason', 'lunch', '--identity', 'bob');
    assert.equal(pause.code, 0, pause.stderr);
    assert.equal((JSON.parse(pause.stdout) as { paused: boolean }).paused, true);
    assertFailure(await rollout('pause', workflowId), 5, /^rollout: rejected: /);
    const resume = await rollout('resume', workflowId);
    assert.equal(resume.code, 0, resume.stderr);
    assert.match(resume.stdout, /^resume: /);
  });

  test('approving a gate the rollout is not at is refused', async () => {
    assertFailure(await rollout('approve', workflowId, '--stage', 'promote'), 5, /^rollout: rejected: /);
  });

  test('abort is acknowledged', async () => {
    const abort = await rollout('abort', workflowId, '--reason', 'test over');
    assert.equal(abort.code, 0, abort.stderr);
    assert.match(abort.stdout, /^abort: /);
  });

  test('a finished rollout: controls say so, status shows the end, --watch returns', async () => {
    await env.client.workflow.getHandle(workflowId).terminate('test cleanup');
    assertFailure(await rollout('rollback', workflowId), 5, /has already finished \(terminated\)/);
    const watch = await rollout('status', workflowId, '--watch');
    assert.equal(watch.code, 0, watch.stderr);
    assert.match(watch.stdout, new RegExp(`^${workflowId}: terminated: test cleanup`));
  });
});
