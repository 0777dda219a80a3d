import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import type { MigSnapshot } from '../../activities/contract.js';
import { migNameOf, selectMigRefs, templateNameFor } from '../../runner-config/matrix.js';
import type { Environment, FleetDefinition } from '../../runner-config/types.js';
import { DEFAULT_ROLLOUT_TIMING, type RolloutInput } from '../../workflows/rollout-contract.js';
import {
  adoptCarriedState,
  buildPlan,
  inputProblems,
  neededTemplates,
  plannedStages,
  resolveSelection,
  resolveTiming,
} from '../../workflows/rollout-plan.js';
import { NEW_VERSION, OLD_VERSION, testFleet } from '../helpers/fake-fleet.js';
import { HISTORIES_DIR, historyFromFixture } from '../helpers/rollout-harness.js';

const fleet = testFleet();

function input(overrides: Partial<RolloutInput> = {}): RolloutInput {
  return { version: NEW_VERSION, requestedBy: 'alice', ...overrides };
}

function snapshots(environment: Environment, from = fleet): MigSnapshot[] {
  return selectMigRefs(from, { environment, regions: 'all', groups: 'all', types: 'all' }).map((ref) => ({
    name: migNameOf(from, ref),
    region: ref.region,
    ref,
    versions: [{ name: 'base', instanceTemplate: templateNameFor(from, ref, OLD_VERSION) }],
    targetSize: 2,
    isStable: true,
    versionTargetReached: true,
    fingerprint: 'fp',
    distributionShape: 'EVEN',
    instancesByTemplate: { [templateNameFor(from, ref, OLD_VERSION)]: 2 },
  }));
}

const bothEnvironments = { prod: snapshots('prod'), testing: snapshots('testing') };

test('the selection defaults to both environments and every region, group and type', () => {
  assert.deepEqual(resolveSelection(input()), {
    environments: ['prod', 'testing'],
    regions: 'all',
    groups: 'all',
    types: 'all',
  });
  assert.deepEqual(resolveSelection(input({ environments: [], regions: 'us-.*' })).environments, ['prod', 'testing']);
  assert.equal(resolveTiming(input({ timing: { maxConcurrency: 9 } })).maxConcurrency, 9);
  assert.equal(resolveTiming(input()).healthCheckInterval, '30 minutes');
});

test('input problems are all reported together', () => {
  const problems = inputProblems({
    version: 'not-a-version',
    requestedBy: ' ',
    environments: ['staging' as Environment],
    regions: '(',
    soak: 'forever',
    timing: { maxConcurrency: 0, healthCheckInterval: 'often' },
  });
  const messages = problems.map((problem) => problem.message).join('\n');
  assert.ok(problems.every((problem) => problem.code === 'invalid-input'));
  for (const expected of [
    /version "not-a-version"/,
    /environment "staging"/,
    /^regions: /m,
    /requestedBy/,
    /maxConcurrency must be a positive integer/,
    /forever/,
    /often/,
  ]) {
    assert.match(messages, expected);
  }
  assert.deepEqual(inputProblems(input()), []);
});

test('roles: testing first, then canaries, the first region of direct types, then the rest', () => {
  const plan = buildPlan({
    input: input(),
    fleet,
    selected: bothEnvironments,
    missingTemplates: [],
    earlierProblems: [],
  });
  assert.deepEqual(plan.problems, []);
  assert.deepEqual(plan.stages, ['preflight', 'test', 'canary', 'soak', 'promote', 'converge', 'done']);
  const roles = plan.migs.map((mig) => mig.role);
  assert.deepEqual(
    roles,
    [...roles].sort((a, b) => order(a) - order(b)),
  );
  assert.equal(roles.filter((role) => role === 'testing').length, 4);
  const direct = plan.migs.filter((mig) => mig.policy === 'direct' && mig.role !== 'testing');
  assert.deepEqual(
    direct.map((mig) => [mig.role, mig.region]),
    [
      ['direct-first', 'us-central1'],
      ['direct-first', 'us-central1'],
      ['direct-rest', 'us-west1'],
      ['direct-rest', 'us-west1'],
    ],
  );
  const canary = plan.migs.find((mig) => mig.role === 'canary');
  assert.ok(canary !== undefined);
  assert.equal(canary.fromTemplate, templateNameFor(fleet, canary.ref, OLD_VERSION));
  assert.equal(canary.toTemplate, templateNameFor(fleet, canary.ref, NEW_VERSION));
  assert.equal(
    canary.patch,
    `versions [base=${canary.fromTemplate}] -> [base=${canary.fromTemplate}, canary=${canary.toTemplate} fixed 1]; promote -> [base=${canary.toTemplate}]`,
  );
  assert.deepEqual(plan.autoscalingWhileTesting, { min: 1, max: 10 });
  assert.deepEqual(plan.testingAutoscalingAtRest, { min: 0, max: 0 });
});

function order(role: string): number {
  return ['testing', 'canary', 'direct-first', 'direct-rest'].indexOf(role);
}

test('a direct type whose first region is not selected goes first in the first selected region, noted', () => {
  const westOnly = { prod: snapshots('prod').filter((snapshot) => snapshot.region === 'us-west1') };
  const plan = buildPlan({
    input: input({ environments: ['prod'], regions: 'us-west1' }),
    fleet,
    selected: westOnly,
    missingTemplates: [],
    earlierProblems: [],
  });
  assert.ok(plan.migs.filter((mig) => mig.policy === 'direct').every((mig) => mig.role === 'direct-first'));
  assert.ok(
    plan.notes.some((note) => /type a100: first region us-central1 is not selected; us-west1 goes first/.test(note)),
  );
  assert.deepEqual(plan.stages, ['preflight', 'canary', 'soak', 'promote', 'converge', 'done']);
});

test('MIG and template problems are collected per MIG, after earlier ones', () => {
  const prod = snapshots('prod');
  const [twoVersions, unstable] = prod;
  assert.ok(twoVersions !== undefined && unstable !== undefined);
  prod[0] = { ...twoVersions, versions: [...twoVersions.versions, { name: 'canary', instanceTemplate: 'x' }] };
  prod[1] = { ...unstable, isStable: false };
  const missing = templateNameFor(fleet, { ...twoVersions.ref }, NEW_VERSION);
  const plan = buildPlan({
    input: input({ environments: ['prod'] }),
    fleet,
    selected: { prod },
    missingTemplates: [missing],
    earlierProblems: [{ code: 'read-failed', message: 'listing testing MIGs failed' }],
  });
  const codes = plan.problems.map((problem) => `${problem.code} ${problem.mig ?? ''}`.trim());
  assert.equal(codes[0], 'read-failed');
  assert.ok(codes.includes(`not-single-base-version ${twoVersions.name}`), codes.join());
  assert.ok(codes.includes(`mig-not-stable ${unstable.name}`), codes.join());
  const missingFor = plan.problems.filter((problem) => problem.code === 'missing-template').map((p) => p.mig);
  assert.ok(missingFor.length >= 2, 'every MIG of that group and type in every region');
  assert.ok(missingFor.includes(twoVersions.name));
});

test('a testing version is refused in prod unless allowed, and no MIG selected is a problem', () => {
  const version = '2222222222-new-testing';
  const refused = buildPlan({
    input: input({ version }),
    fleet,
    selected: bothEnvironments,
    missingTemplates: [],
    earlierProblems: [],
  });
  assert.ok(refused.problems.some((problem) => problem.code === 'testing-version-in-prod'));
  const allowed = buildPlan({
    input: input({ version, allowTestingVersion: true }),
    fleet,
    selected: bothEnvironments,
    missingTemplates: [],
    earlierProblems: [],
  });
  assert.deepEqual(allowed.problems, []);
  const testingOnly = buildPlan({
    input: input({ version, environments: ['testing'] }),
    fleet,
    selected: { testing: snapshots('testing') },
    missingTemplates: [],
    earlierProblems: [],
  });
  assert.deepEqual(testingOnly.problems, []);
  const none = buildPlan({
    input: input({ environments: ['prod'], groups: 'nightly' }),
    fleet,
    selected: { prod: [] },
    missingTemplates: [],
    earlierProblems: [],
  });
  assert.deepEqual(
    none.problems.map((problem) => problem.code),
    ['no-migs-selected'],
  );
  assert.match(none.problems[0]?.message ?? '', /groups=nightly/);
});

test('needed templates: one per group and type selected, sorted', () => {
  const needed = neededTemplates(fleet, NEW_VERSION, bothEnvironments);
  assert.deepEqual(needed.problems, []);
  assert.deepEqual(needed.names, [
    'gh-runner-postsubmit-a100-2222222222-new',
    'gh-runner-postsubmit-cpu-2222222222-new',
    'gh-runner-presubmit-a100-2222222222-new',
    'gh-runner-presubmit-cpu-2222222222-new',
  ]);
});

test('soak: the default unless given; a different soak is noted with its reason', () => {
  const plain = buildPlan({
    input: input(),
    fleet,
    selected: bothEnvironments,
    missingTemplates: [],
    earlierProblems: [],
  });
  assert.equal(plain.soak, '3 days');
  assert.deepEqual(plain.notes, []);
  const short = buildPlan({
    input: input({ soak: '1 day', plannedSoakReason: 'security fix' }),
    fleet,
    selected: bothEnvironments,
    missingTemplates: [],
    earlierProblems: [],
  });
  assert.equal(short.soak, '1 day');
  assert.equal(short.plannedSoakReason, 'security fix');
  assert.deepEqual(short.notes, ['soak 1 day instead of the default 3 days: security fix']);
  assert.deepEqual(plannedStages(['testing']), ['preflight', 'test', 'done']);
});

test("timing: the input's intervals, else the fleet's as its worker defines them, else the engine's defaults", () => {
  const plan = (from: FleetDefinition, overrides: Partial<RolloutInput> = {}) =>
    buildPlan({
      input: input(overrides),
      fleet: from,
      selected: bothEnvironments,
      missingTemplates: [],
      earlierProblems: [],
    });
  assert.deepEqual(plan(fleet).timing, DEFAULT_ROLLOUT_TIMING);
  const faster: FleetDefinition = {
    ...fleet,
    rollout: { ...fleet.rollout, timing: { healthCheckInterval: '1m', convergeInterval: '20s' } },
  };
  assert.deepEqual(plan(faster, { timing: { convergeInterval: '5s', unhealthyChecksToRollBack: 1 } }).timing, {
    ...DEFAULT_ROLLOUT_TIMING,
    healthCheckInterval: '1m',
    convergeInterval: '5s',
    unhealthyChecksToRollBack: 1,
  });
});

test('a fleet without the MIG type the cloud reports yields an unknown-type problem', () => {
  const reduced: FleetDefinition = { ...fleet, types: fleet.types.filter((type) => type.name !== 'a100') };
  const plan = buildPlan({
    input: input({ environments: ['prod'] }),
    fleet: reduced,
    selected: { prod: snapshots('prod') },
    missingTemplates: [],
    earlierProblems: [],
  });
  const unknown = plan.problems.filter((problem) => problem.code === 'unknown-type');
  assert.equal(unknown.length, 4);
  assert.ok(plan.migs.every((mig) => mig.ref.type !== 'a100'));
});

test('a run continued from one written before the bounds were renamed reads its plan under the new names', async () => {
  const history = historyFromFixture(await readFile(`${HISTORIES_DIR}rollout-continued-as-new-last-run.json`, 'utf8'));
  const payload = history.events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
  assert.ok(payload, 'the committed continued run has an input');
  const continued = JSON.parse(Buffer.from(payload).toString('utf8')) as RolloutInput;
  const carried = continued.continued?.state;
  assert.ok(carried?.plan && 'testAutoscaling' in carried.plan, 'the history predates the rename');
  const adopted = adoptCarriedState(carried).plan;
  assert.deepEqual(adopted?.autoscalingWhileTesting, { min: 1, max: 10 });
  assert.deepEqual(adopted?.testingAutoscalingAtRest, { min: 0, max: 0 });
  assert.ok(adopted && !('testAutoscaling' in adopted) && !('testingAutoscaling' in adopted));
  const fresh = buildPlan({
    input: input(),
    fleet,
    selected: bothEnvironments,
    missingTemplates: [],
    earlierProblems: [],
  });
  const current = { ...carried, plan: fresh };
  assert.equal(adoptCarriedState(current), current, 'a state whose plan has the new names is kept as it is');
});
