/**
 * CLI commands against a real Temporal dev server, a worker and the simulator: the one-line failures (bad
 * flags, unknown ids, no worker, unreachable server) and the commands that run locally.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { cliEnv, taskQueue, rollout, assertFailure, workflowCount, useCliStack } from './commands-stack.js';
import { runRollout, type CliRun } from './run-cli.js';

useCliStack();

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
      await rollout('start', '--version', '0123456789-abc', '--max-concurrency', '1001'),
      2,
      /'--max-concurrency <n>' argument '1001' is invalid\. must be at most 1000/,
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

describe('local commands', () => {
  /** Runs `rollout sim ARGS` for half a second, then asks it to stop. */
  async function simForAWhile(args: readonly string[]): Promise<CliRun> {
    const stop = new AbortController();
    const running = runRollout(['sim', '--port', '0', '--speed', '0', ...args], cliEnv, stop.signal);
    await new Promise((resolve) => setTimeout(resolve, 500));
    stop.abort();
    return running;
  }

  test('sim prints where it listens and stops when asked', async () => {
    const run = await simForAWhile(['--seed', '7']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^listening on http:\/\/127\.0\.0\.1:\d+\n$/);
  });

  test('sim --host listens on the address given', async () => {
    const run = await simForAWhile(['--host', '127.0.0.2']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^listening on http:\/\/127\.0\.0\.2:\d+\n$/);
  });

  test('sim --fleet names a missing file', async () => {
    assertFailure(
      await rollout('sim', '--fleet', '/nonexistent/fleet.yaml'),
      2,
      /no such file \/nonexistent\/fleet\.yaml/,
    );
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
