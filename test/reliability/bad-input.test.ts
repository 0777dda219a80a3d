/**
 * A corpus of bad inputs at every door of the engine: CLI flags and arguments, versions, selectors, durations,
 * fleet files, rollout inputs sent straight to Temporal, and update/signal payloads as the Web UI would send
 * them to a running rollout. Each one gets a clear error naming the problem, and none changes the fleet.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { parse, stringify } from 'yaml';
import { DEFAULT_FLEET_PATH, loadFleetFile } from '../../runner-config/default-fleet.js';
import { ROLLOUT_WORKFLOW_TYPE, type RolloutInput } from '../../workflows/rollout-contract.js';
import {
  abortUpdate,
  approveSignal,
  approveUpdate,
  pauseUpdate,
  recordEscalationUpdate,
  resumeUpdate,
  rollbackUpdate,
  type ApproveRequest,
} from '../../workflows/rollout-controls-contract.js';
import { runRollout } from '../cli/run-cli.js';
import { seedVersionTemplates } from '../../devstack/simulator.js';
import { startRollout } from '../../testbed/rollouts.js';
import { scratchPath } from '../../testbed/workflow-bundle.js';
import { fleetChanges, startE2eStack, type E2eStack } from '../helpers/e2e-stack.js';
import { OPERATOR, SCENARIO_SIMULATOR, rolloutState, scenarioInput } from './scenario.js';

let stack: E2eStack;
let cliEnv: Record<string, string>;
before(async () => {
  stack = await startE2eStack({ simulator: SCENARIO_SIMULATOR, worker: 'in-process' });
  cliEnv = { TEMPORAL_ADDRESS: stack.server.address, ROLLOUT_TASK_QUEUE: stack.taskQueue, USER: OPERATOR };
});
after(async () => {
  await stack?.close();
});

const VERSION = '0123456789-bad';
const UNKNOWN_ID = 'rollout-iree-oss-0000000000-zzz';

/** [argv, exit code, what stderr must say]. */
const CLI_CASES: ReadonlyArray<readonly [readonly string[], number, RegExp]> = [
  [['start'], 2, /required option '--version <version>' not specified/],
  [['start', '--version', 'nothex-abc'], 2, /version "nothex-abc" must look like <10 hex digits>-<3 of \[a-z0-9\]>/],
  [['start', '--version', '0123456789-AB'], 2, /version "0123456789-AB" must look like/],
  [['start', '--version', '0123456789'], 2, /version "0123456789" must look like/],
  [['start', '--version', '0123456789-abcd'], 2, /version "0123456789-abcd" must look like/],
  [['start', '--version', ''], 2, /version "" must look like/],
  [['start', '--version', "0123456789-abc' OR '1'='1"], 2, /version "0123456789-abc' OR '1'='1" must look like/],
  [['start', '--version', '0123456789-abc-testing'], 2, /is a testing version and would reach prod; use --env testing/],
  [
    ['start', '--version', VERSION, '--env', 'staging'],
    2,
    /'--env <env>' argument 'staging' is invalid\. Allowed choices are prod, testing/,
  ],
  [['start', '--version', VERSION, '--regions', '('], 2, /--regions: selector "\(" is not a valid regular expression/],
  [['start', '--version', VERSION, '--groups', '['], 2, /--groups: selector "\[" is not a valid regular expression/],
  [['start', '--version', VERSION, '--types', '*'], 2, /--types: selector "\*" is not a valid regular expression/],
  [['start', '--version', VERSION, '--regions', ''], 2, /--regions: selector is empty; use "all"/],
  [['start', '--version', VERSION, '--regions', 'us-west1|('], 2, /--regions: selector "us-west1\|\(" is not a valid/],
  [
    ['start', '--version', VERSION, '--soak', 'forever'],
    2,
    /--soak: "forever" is not a duration; write e\.g\. "3 days"/,
  ],
  [['start', '--version', VERSION, '--soak', '-1 days'], 2, /--soak: duration "-1 days" is negative/],
  [['start', '--version', VERSION, '--soak', ''], 2, /--soak: "" is not a duration/],
  // A bare number is milliseconds to Temporal's parser: a 3 ms soak is a slip of the unit.
  [['start', '--version', VERSION, '--soak', '3'], 2, /--soak: "3" has no unit/],
  [['start', '--version', VERSION, '--soak', '500ms'], 2, /--soak: "500ms" is shorter than a second/],
  [['start', '--version', VERSION, '--identity', ''], 2, /--identity must not be empty/],
  [['start', '--version', VERSION, '--fast'], 2, /unknown option '--fast'/],
  [
    ['start', '--version', 'bad', '--soak', 'never', '--regions', '('],
    2,
    /version "bad" .*; --regions: .*; --soak: "never"/,
  ],
  [['launch'], 2, /unknown command 'launch'/],
  [['approve'], 2, /missing required argument 'id'/],
  [
    ['approve', UNKNOWN_ID, '--stage', 'deploy'],
    2,
    /'--stage <stage>' argument 'deploy' is invalid\. Allowed choices are test, promote/,
  ],
  [['approve', UNKNOWN_ID, '--stage', 'test'], 3, new RegExp(`no workflow with id "${UNKNOWN_ID}"`)],
  [['abort', UNKNOWN_ID, '--reason', 'stop'], 3, new RegExp(`no workflow with id "${UNKNOWN_ID}"`)],
  [['pause', UNKNOWN_ID], 3, new RegExp(`no workflow with id "${UNKNOWN_ID}"`)],
  [['status', UNKNOWN_ID], 3, new RegExp(`no workflow with id "${UNKNOWN_ID}"`)],
  [['status', '--watch', '--bogus'], 2, /unknown option '--bogus'/],
  [['list', '--limit', '0'], 2, /'--limit <n>' argument '0' is invalid\. must be at least 1/],
  [['list', '--limit', 'abc'], 2, /'--limit <n>' argument 'abc' is invalid\. must be a whole number/],
  [['autoscaling', '--min', '5', '--max', '2', '--regions', 'all'], 2, /--min 5 is greater than --max 2/],
  [['autoscaling', '--min', '-1', '--max', '2', '--regions', 'all'], 2, /'--min <n>' argument '-1' is invalid/],
  [['autoscaling', '--min', '1', '--max', '2'], 2, /choose MIGs with --regions, --groups or --types/],
  [['drain-idle'], 2, /choose MIGs with --regions, --groups or --types/],
  [['drain-idle', '--env', 'qa', '--regions', 'all'], 2, /'--env <env>' argument 'qa' is invalid/],
  [['templates', 'create', '--version', 'bad'], 2, /version "bad" must look like/],
  [
    ['templates', 'create', '--version', VERSION, '--runner-version', 'latest'],
    2,
    /--runner-version "latest" must look like 2\.319\.1/,
  ],
  [['sim', '--port', '70000'], 2, /'--port <n>' argument '70000' is invalid\. must be a port number/],
  [['sim', '--speed', '-1'], 2, /'--speed <x>' argument '-1' is invalid\. must be a number, 0 or more/],
  [['sim', '--fleet', '/nonexistent/fleet.yaml'], 2, /--fleet: no such file \/nonexistent\/fleet\.yaml/],
  [['dev', '--port', 'abc'], 2, /'--port <n>' argument 'abc' is invalid/],
  // Valid flags, but the version's templates do not exist: preflight refuses on the worker, nothing starts.
  [['start', '--version', VERSION], 1, /preflight found \d+ problems?; nothing was started/],
];

test('bad CLI flags and arguments: one clear line on stderr and a usage, not-found or refusal exit code', async (t) => {
  for (const [argv, code, message] of CLI_CASES) {
    await t.test(`rollout ${argv.map((arg) => JSON.stringify(arg)).join(' ')}`, async () => {
      const run = await runRollout(argv, cliEnv);
      assert.equal(run.code, code, run.stderr);
      assert.match(run.stderr, message);
      assert.equal(run.stderr.trimEnd().split('\n').length, 1, `more than one line: ${run.stderr}`);
    });
  }
  await t.test('a malformed TEMPORAL_ADDRESS', async () => {
    const run = await runRollout(['list'], { ...cliEnv, TEMPORAL_ADDRESS: 'not an address' });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /configuration: TEMPORAL_ADDRESS: must be host:port/);
  });
});

/** Edits of the default fleet, each breaking one rule, and what the error must say. */
const FLEET_CASES: ReadonlyArray<readonly [string, (fleet: FleetDocument) => unknown, RegExp]> = [
  ['no project', (f) => delete f['project'], /project: is required/],
  [
    'an unknown rollout policy',
    (f) => (type(f, 0)['rolloutPolicy'] = 'yolo'),
    /types\[0\]\.rolloutPolicy: Invalid option/,
  ],
  ['a canary of zero VMs', (f) => (section(f, 'rollout')['canarySize'] = 0), /rollout\.canarySize: must be at least 1/],
  [
    'a soak that is not a duration',
    (f) => (section(f, 'rollout')['defaultSoak'] = 'forever'),
    /rollout\.defaultSoak: "forever" is not a duration/,
  ],
  [
    'a duplicate region',
    (f) => list(f, 'regions').push(list(f, 'regions')[0]),
    /regions\[4\]\.name: duplicate name "us-central1"/,
  ],
  [
    'a first region outside prod',
    (f) => (type(f, 2)['firstRegion'] = 'mars-north1'),
    /types\[2\]\.firstRegion: "mars-north1" is not a prod region/,
  ],
  [
    'a group name with a dash',
    (f) => ((list(f, 'groups')[0] as FleetDocument)['name'] = 'pre-submit'),
    /groups\[0\]\.name: must be lowercase letters and digits/,
  ],
  [
    'autoscaling min above max',
    (f) => (environment(f, 'prod')['autoscaling'] = { min: 5, max: 1 }),
    /environments\.prod\.autoscaling: min \(5\) is greater than max \(1\)/,
  ],
  [
    'an undeclared region',
    (f) => (environment(f, 'prod')['regions'] as unknown[]).push('europe-west9'),
    /unknown region "europe-west9"; declare it under regions/,
  ],
  ['an unknown section', (f) => (f['surprise'] = true), /surprise: unknown section/],
  [
    'a runner version with a v',
    (f) => (section(f, 'runner')['version'] = 'v2.319'),
    /runner\.version: must be a runner release such as 2\.319\.1/,
  ],
  [
    'a short archive digest',
    (f) => ((section(f, 'runner')['archiveDigests'] as FleetDocument)['x64'] = 'abc'),
    /runner\.archiveDigests\.x64: must be a SHA-256 digest/,
  ],
];

type FleetDocument = Record<string, unknown>;
const section = (fleet: FleetDocument, name: string): FleetDocument => fleet[name] as FleetDocument;
const list = (fleet: FleetDocument, name: string): unknown[] => fleet[name] as unknown[];
const type = (fleet: FleetDocument, index: number): FleetDocument => list(fleet, 'types')[index] as FleetDocument;
const environment = (fleet: FleetDocument, name: string): FleetDocument =>
  section(section(fleet, 'environments'), name);

test('bad fleet files: every problem named with its path in the file', async (t) => {
  const original = parse(readFileSync(DEFAULT_FLEET_PATH, 'utf8')) as FleetDocument;
  const files: Array<readonly [string, string, RegExp]> = FLEET_CASES.map(([name, edit, message]) => {
    const fleet = structuredClone(original);
    edit(fleet);
    return [name, stringify(fleet), message] as const;
  });
  files.push(['not YAML', ': : :\n  - [', /has \d+ problems?:\n {2}\(file\): Nested mappings are not allowed/]);
  files.push(['an empty file', '', /\(file\): .* must be a mapping of sections/]);
  files.push(['a list instead of a mapping', '- a\n- b\n', /\(file\): .* must be a mapping of sections/]);
  for (const [index, [name, text, message]] of files.entries()) {
    await t.test(name, async () => {
      const path = scratchPath(`bad-fleet-${index}.yaml`);
      writeFileSync(path, text);
      await assert.rejects(loadFleetFile(path), (error: Error) => {
        assert.match(error.message, new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} has \\d+ problems?:`));
        assert.match(error.message, message);
        return true;
      });
    });
  }
  await t.test('`rollout sim --fleet` with a bad file', async () => {
    const path = scratchPath('bad-fleet-sim.yaml');
    writeFileSync(path, 'project: 42\n');
    const run = await runRollout(['sim', '--fleet', path], cliEnv);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /problem/);
  });
});

/** Rollout inputs sent straight to Temporal (a script or the UI's "Start workflow"), bypassing the CLI. */
const INPUT_CASES: ReadonlyArray<readonly [string, Partial<RolloutInput>, RegExp]> = [
  ['a malformed version', { version: 'latest' }, /version "latest" must look like/],
  [
    'an unknown environment',
    { environments: ['staging' as 'prod'] },
    /environment "staging" is not one of prod, testing/,
  ],
  ['a broken selector', { groups: '(' }, /groups: selector "\(" is not a valid regular expression/],
  ['a soak that is not a duration', { soak: 'a week or so' }, /"a week or so" is not a duration|a week or so/],
  ['no requester', { requestedBy: ' ' }, /requestedBy must name who starts the rollout/],
  ['zero concurrency', { timing: { maxConcurrency: 0 } }, /maxConcurrency must be a positive integer, got 0/],
  ['missing templates', {}, /instance template|template/],
];

test('bad rollout inputs started directly: the rollout fails preflight naming every problem', async (t) => {
  for (const [index, [name, overrides, message]] of INPUT_CASES.entries()) {
    await t.test(name, async () => {
      const input = { ...scenarioInput(`01234567${String(index).padStart(2, '0')}-inp`), ...overrides };
      const handle = await stack.client.workflow.start(ROLLOUT_WORKFLOW_TYPE, {
        taskQueue: stack.taskQueue,
        workflowId: `bad-input-${index}`,
        args: [input],
      });
      await assert.rejects(handle.result(), (error: unknown) => {
        assert.ok(error instanceof WorkflowFailedError);
        assert.match(String(error.cause?.message), /^preflight found \d+ problem\(s\); nothing was changed:/);
        assert.match(String(error.cause?.message), message);
        return true;
      });
    });
  }
});

test('so far nothing reached the fleet: the simulator logged no change', () => {
  assert.deepEqual(fleetChanges(stack.simulator), []);
});

test('bad update and signal payloads to a running rollout are rejected with the reason and change nothing', async (t) => {
  const version = '0123456789-upd';
  seedVersionTemplates(stack.simulator, version);
  const handle = await startRollout(
    stack,
    scenarioInput(version, { environments: ['testing'], groups: 'presubmit', types: 'cpu' }),
  );
  let state = await rolloutState(handle);
  while (state.gate?.kind !== 'test-approval') {
    assert.equal(state.stage === 'test' || state.stage === 'preflight', true, `stage ${state.stage}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
    state = await rolloutState(handle);
  }
  const since = stack.simulator.control.mutations().at(-1)?.seq ?? 0;
  const updates: ReadonlyArray<readonly [string, () => Promise<unknown>, RegExp]> = [
    [
      'approve without a payload',
      () => handle.executeUpdate(approveUpdate, { args: [{} as never] }),
      /approve needs an identity/,
    ],
    [
      'approve with a null payload',
      () => handle.executeUpdate(approveUpdate, { args: [null as never] }),
      /approve needs an identity/,
    ],
    [
      'approve with an empty identity',
      () => handle.executeUpdate(approveUpdate, { args: [{ stage: 'test', identity: '  ' }] }),
      /approve needs an identity/,
    ],
    [
      'approve an unknown stage',
      () => handle.executeUpdate(approveUpdate, { args: [{ stage: 'deploy' as 'test', identity: OPERATOR }] }),
      /approval stage must be "test" or "promote", got "deploy"/,
    ],
    [
      'approve the promote gate early',
      () => handle.executeUpdate(approveUpdate, { args: [{ stage: 'promote', identity: OPERATOR }] }),
      /no promote approval is pending: stage is test, waiting for test approval/,
    ],
    [
      'pause with a number as identity',
      () => handle.executeUpdate(pauseUpdate, { args: [{ identity: 42 as unknown as string }] }),
      /pause needs an identity/,
    ],
    [
      'resume when not paused',
      () => handle.executeUpdate(resumeUpdate, { args: [{ identity: OPERATOR }] }),
      /rollout is not paused: stage is test/,
    ],
    [
      'abort without a reason',
      () => handle.executeUpdate(abortUpdate, { args: [{ identity: OPERATOR } as never] }),
      /abort needs a reason/,
    ],
    [
      'abort with a blank reason',
      () => handle.executeUpdate(abortUpdate, { args: [{ identity: OPERATOR, reason: ' ' }] }),
      /abort needs a reason/,
    ],
    [
      'rollback without identity',
      () => handle.executeUpdate(rollbackUpdate, { args: [{} as never] }),
      /rollback needs an identity/,
    ],
    [
      'an escalation without source',
      () => handle.executeUpdate(recordEscalationUpdate, { args: [{ source: '', severity: 'info', message: 'x' }] }),
      /escalation needs a source/,
    ],
    [
      'an escalation of unknown severity',
      () =>
        handle.executeUpdate(recordEscalationUpdate, {
          args: [{ source: 'ops', severity: 'urgent' as 'info', message: 'x' }],
        }),
      /escalation severity must be info, warning or critical, got "urgent"/,
    ],
    [
      'an escalation without message',
      () => handle.executeUpdate(recordEscalationUpdate, { args: [{ source: 'ops', severity: 'info', message: '' }] }),
      /escalation needs a message/,
    ],
    ['an update nobody defined', () => handle.executeUpdate('promote', { args: [{ identity: OPERATOR }] }), /promote/],
  ];
  for (const [name, send, message] of updates) {
    await t.test(name, async () => {
      await assert.rejects(send(), (error: unknown) => {
        assert.ok(error instanceof WorkflowUpdateFailedError, String(error));
        assert.match(String(error.cause?.message), message);
        return true;
      });
    });
  }
  const signals: ReadonlyArray<readonly [string, unknown, RegExp]> = [
    [
      'approve-signal for an unknown stage',
      { stage: 'deploy', identity: OPERATOR },
      /approve-signal ignored: approval stage must be "test" or "promote"/,
    ],
    ['approve-signal without identity', { stage: 'test' }, /approve-signal ignored: approve needs an identity/],
    [
      'approve-signal for the promote gate',
      { stage: 'promote', identity: OPERATOR },
      /approve-signal ignored: no promote approval is pending/,
    ],
  ];
  for (const [name, payload, message] of signals) {
    await t.test(name, async () => {
      await handle.signal(approveSignal, payload as ApproveRequest);
      let ignored: string | undefined;
      for (let attempt = 0; attempt < 40 && ignored === undefined; attempt++) {
        const current = await rolloutState(handle);
        ignored = current.timeline.find(
          (event) => event.kind === 'ignored-signal' && message.test(event.message),
        )?.message;
        if (ignored === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.match(ignored ?? '(no ignored-signal event in the timeline)', message);
    });
  }
  const after = await rolloutState(handle);
  assert.equal(after.gate?.kind, 'test-approval');
  assert.deepEqual(after.approvals, []);
  assert.equal(after.pause, undefined);
  assert.equal(after.stop, undefined);
  assert.deepEqual(after.escalations, []);
  assert.deepEqual(fleetChanges(stack.simulator, since), []);
  await handle.terminate('bad-input test done');
});
