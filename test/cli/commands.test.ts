/**
 * Every CLI command against a real Temporal dev server, a worker and the simulator: success output (human and
 * --json) and the one-line failures (bad flags, unknown ids, no worker, unreachable server).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ListResult } from '../../cli/commands/list.js';
import { runCli } from '../../cli/run.js';
import { ENGINE_DEFECT_WORKAROUNDS, startSimulator, type SimulatorHandle } from '../../simulator/index.js';
import { loadWorkerConfig } from '../../worker/config.js';
import { runWorker } from '../../worker/main.js';
import {
  ROLLOUT_SEARCH_ATTRIBUTES,
  statusQuery,
  type RolloutPlan,
  type RolloutState,
} from '../../workflows/rollout-contract.js';
import type { FleetInventory } from '../../workflows/operations-contract.js';
import { installQuietRuntime, temporalBinaries, uniqueNames } from '../helpers/temporal.js';
import { runRollout, type CliRun } from './run-cli.js';

let env: TestWorkflowEnvironment;
let simulator: SimulatorHandle;
let cliEnv: Record<string, string>;
const stopWorker = new AbortController();
let worker: Promise<void>;
const { taskQueue } = uniqueNames('cli commands');

before(async () => {
  installQuietRuntime();
  env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalBinaries().cli },
      searchAttributes: [...ROLLOUT_SEARCH_ATTRIBUTES],
    },
  });
  simulator = await startSimulator({ port: 0, speed: 60, behaviours: ENGINE_DEFECT_WORKAROUNDS });
  const address = env.connection.options.address;
  cliEnv = { TEMPORAL_ADDRESS: address, ROLLOUT_TASK_QUEUE: taskQueue, TEMPORAL_UI_URL: 'http://127.0.0.1:1' };
  const config = loadWorkerConfig({
    ...cliEnv,
    COMPUTE_API_ENDPOINT: simulator.url,
    GITHUB_API_URL: simulator.url,
    GITHUB_TOKEN: 'test-token',
    ROLLOUT_LOG_LEVEL: 'ERROR',
  });
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  // Polls every 200 ms, and the runner snapshot it polls ages as fast, so each poll lists the runners again.
  worker = runWorker(config, {
    signal: stopWorker.signal,
    onReady: ready,
    activityTiming: { pollIntervalMs: 200, runnerSnapshotMaxAgeMs: 200, runnerListingsPerHour: 36_000 },
  });
  await Promise.race([isReady, worker]);
});

after(async () => {
  stopWorker.abort();
  await worker;
  await simulator?.close();
  await env?.teardown();
});

// eslint-disable-next-line no-control-regex -- what a terminal receives: cursor up N lines, clear to the end
const REDRAW = /\x1b\[(\d+)F\x1b\[J/;

const rollout = (...argv: string[]): Promise<CliRun> => runRollout(argv, cliEnv);

/** A failure is exactly one line on stderr, nothing on stdout, and the expected exit code. */
function assertFailure(run: CliRun, code: number, pattern: RegExp): void {
  assert.equal(run.code, code, `exit code (stderr: ${run.stderr})`);
  assert.equal(run.stdout, '');
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got: ${run.stderr}`);
  assert.match(lines[0] ?? '', /^rollout: /);
  assert.match(lines[0] ?? '', pattern);
}

async function workflowCount(): Promise<number> {
  let count = 0;
  for await (const _ of env.client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) count++;
  return count;
}

describe('bad input: one line, non-zero exit, nothing started', () => {
  test('flags are validated before anything is started', async () => {
    const before = await workflowCount();
    assertFailure(await rollout('start'), 2, /required option '--version <version>' not specified/);
    assertFailure(await rollout('start', '--version', 'v1'), 2, /version "v1" must look like/);
    assertFailure(
      await rollout('start', '--version', '0123456789-abc', '--soak', 'three days', '--regions', '(?=x)'),
      2,
      /--regions: .*lookahead.*; --soak: "three days" is not a duration/,
    );
    assertFailure(await rollout('start', '--version', '0123456789-abc', '--soak', '3'), 2, /--soak: "3" has no unit/);
    assertFailure(
      await rollout('start', '--version', '0123456789-abc', '--soak', '3ms'),
      2,
      /--soak: "3ms" is shorter than a second: .*; write e\.g\. "3 days"/,
    );
    assertFailure(await rollout('start', '--version', '0123456789-abc', '--soak', '0s'), 2, /--soak: "0s" is shorter/);
    assertFailure(
      await rollout(
        'start',
        '--version',
        '0123456789-abc',
        '--health-check-interval',
        '30',
        '--converge-interval',
        '5ms',
        '--runners-ready-timeout',
        'soon',
      ),
      2,
      /--health-check-interval: "30" has no unit .*; --converge-interval: "5ms" is shorter than a second: .*; --runners-ready-timeout: "soon" is not a duration/,
    );
    assertFailure(
      await rollout('start', '--version', '0123456789-abc', '--unhealthy-checks', '0'),
      2,
      /'--unhealthy-checks <n>' argument '0' is invalid\. must be at least 1/,
    );
    assertFailure(
      await rollout('start', '--version', '0123456789-abc', '--max-concurrency', '101'),
      2,
      /'--max-concurrency <n>' argument '101' is invalid\. must be at most 100/,
    );
    assertFailure(await rollout('schedule', 'install', '--every', '86400000'), 2, /--every: "86400000" has no unit/);
    assertFailure(
      await rollout('start', '--version', '0123456789-abc-testing'),
      2,
      /testing version and would reach prod/,
    );
    assertFailure(
      await rollout('start', '--version', '0123456789-abc', '--env', 'staging'),
      2,
      /--env.*staging.*invalid/i,
    );
    assertFailure(await rollout('autoscaling', '--groups', 'all', '--min', '3', '--max', '1'), 2, /--min 3 is greater/);
    assertFailure(await rollout('autoscaling', '--groups', 'all', '--min', '-1', '--max', '1'), 2, /--min/);
    assertFailure(await rollout('drain-idle'), 2, /choose MIGs with --regions, --groups or --types/);
    assertFailure(await rollout('templates', 'create', '--version', 'x'), 2, /version "x" must look like/);
    assertFailure(await rollout('sim', '--port', '70000'), 2, /port number/);
    assertFailure(await rollout('deploy'), 2, /unknown command 'deploy'/);
    assertFailure(await rollout('list', '--colour'), 2, /unknown option '--colour'/);
    assert.equal(await workflowCount(), before);
  });

  test('--json does not change how failures are reported', async () => {
    assertFailure(await rollout('--json', 'start', '--version', 'nope'), 2, /version "nope"/);
  });

  test('an unreachable server is named with the address', async () => {
    const port = await closedPort();
    const run = await runRollout(['status', 'anything'], { TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
    assertFailure(run, 4, new RegExp(`cannot reach Temporal at 127\\.0\\.0\\.1:${port}`));
  });

  test('bad configuration names the variable', async () => {
    assertFailure(
      await runRollout(['list'], { TEMPORAL_ADDRESS: 'not an address' }),
      2,
      /TEMPORAL_ADDRESS: must be host:port/,
    );
    const secret = 'ghp_supersecretvalue';
    const run = await runRollout(['worker'], { ...cliEnv, GITHUB_TOKEN: secret, GITHUB_APP_ID: 'abc' });
    assertFailure(run, 2, /GITHUB_APP_ID: must be a number/);
    assert.doesNotMatch(run.stderr, /supersecret/);
  });

  test('unknown ids exit 3', async () => {
    assertFailure(await rollout('status', 'rollout-nope'), 3, /no workflow with id "rollout-nope"/);
    assertFailure(await rollout('approve', 'rollout-nope'), 3, /no workflow with id "rollout-nope"/);
    assertFailure(await rollout('--json', 'abort', 'rollout-nope', '--reason', 'x'), 3, /rollout-nope/);
  });

  test('without a worker, operations fail fast instead of hanging', async () => {
    const run = await runRollout(['fleet'], { ...cliEnv, ROLLOUT_TASK_QUEUE: `${taskQueue}-nobody` });
    assertFailure(run, 4, /no worker is polling task queue/);
  });
});

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

describe('local commands', () => {
  test('sim prints where it listens and stops when asked', async () => {
    const stop = new AbortController();
    const running = runRollout(['sim', '--port', '0', '--speed', '0', '--seed', '7'], cliEnv, stop.signal);
    await new Promise((resolve) => setTimeout(resolve, 500));
    stop.abort();
    const run = await running;
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^listening on http:\/\/127\.0\.0\.1:\d+\n$/);
  });

  test('sim --fleet names a missing file', async () => {
    assertFailure(
      await rollout('sim', '--fleet', '/nonexistent/fleet.yaml'),
      2,
      /no such file \/nonexistent\/fleet\.yaml/,
    );
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

async function stageReached(workflowId: string, stage: RolloutState['stage']): Promise<void> {
  const handle = env.client.workflow.getHandle(workflowId);
  while ((await handle.query(statusQuery)).stage !== stage) await new Promise((resolve) => setTimeout(resolve, 200));
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
