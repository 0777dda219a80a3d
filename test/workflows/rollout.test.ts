import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rollout } from '../../workflows/rollout.js';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { migWorker } from '../../workflows/mig-worker.js';
import { planRollout } from '../../workflows/rollout.js';
import {
  statusQuery,
  migWorkflowId,
  DEFAULT_ROLLOUT_TIMING,
  ROLLOUT_FAILURE_TYPES,
  type PreflightProblem,
} from '../../workflows/rollout-contract.js';
import {
  abortUpdate,
  approveSignal,
  approveUpdate,
  pauseSignal,
  recordEscalationSignal,
  resumeSignal,
} from '../../workflows/rollout-controls-contract.js';
import { NEW_VERSION, OLD_VERSION, testFleet } from '../helpers/fake-fleet.js';
import {
  migWorkerHandles,
  recordHistory,
  rolloutTest,
  perTestServer,
  testInput,
  waitForState,
  withRolloutWorker,
} from '../helpers/rollout-harness.js';
import { timerClearance } from '../helpers/timer-clearance.js';

const server = perTestServer();

test('happy path: test gate, prod canary, 3-day soak, promote gate, a100 first region, converge', async (t) => {
  const { fake, taskQueue, workflowId } = rolloutTest(t.name);
  const clear = timerClearance(server.env, () => migWorkerHandles(server.env, fake));
  await withRolloutWorker(server.env, server.bundle, fake, taskQueue, async () => {
    const handle = await server.env.client.workflow.start(rollout, { taskQueue, workflowId, args: [testInput()] });
    const atTestGate = await waitForState(handle, (s) => s.gate?.kind === 'test-approval', 'test gate');
    assert.equal(atTestGate.stage, 'test');
    const testing = atTestGate.migs.filter((mig) => mig.role === 'testing');
    assert.equal(testing.length, 4);
    for (const mig of testing) {
      assert.equal(mig.phase, 'updated');
      assert.deepEqual(fake.mig(mig.name).autoscaling, { min: 1, max: 10 });
    }
    const ack = await clear.update(handle, approveUpdate, {
      stage: 'test',
      identity: 'bob',
      reason: 'probe jobs green',
    });
    assert.equal(ack.message, 'test approved by bob');
    await waitForState(handle, (s) => s.stage === 'soak', 'soak');
    await server.env.sleep('3 days');
    const atPromoteGate = await waitForState(handle, (s) => s.gate?.kind === 'promote-approval', 'promote gate');
    assert.ok(atPromoteGate.migs.filter((mig) => mig.role === 'canary').every((mig) => mig.phase === 'canary'));
    await clear.update(handle, approveUpdate, { stage: 'promote', identity: 'carol', reason: 'soak clean' });
    const result = await handle.result();
    await recordHistory(server.env.client, 'rollout-happy-path', workflowId);
    const a100Worker = migWorkflowId(
      fake.fleet.project,
      fake.migName({ environment: 'prod', group: 'presubmit', type: 'a100', region: 'us-central1' }),
    );
    await recordHistory(server.env.client, 'mig-worker-direct-first', a100Worker);

    assert.equal(result.outcome, 'completed');
    assert.deepEqual(
      result.approvals.map(({ stage, identity, reason }) => ({ stage, identity, reason })),
      [
        { stage: 'test', identity: 'bob', reason: 'probe jobs green' },
        { stage: 'promote', identity: 'carol', reason: 'soak clean' },
      ],
    );
    assert.ok(result.approvals.every((approval) => approval.updateId !== undefined && approval.at !== ''));
    assert.equal(result.counts.migs, 12);
    assert.equal(result.counts.converged, 8);
    assert.equal(result.counts.canaried, 4);
    assert.equal(result.counts.promoted, 4);
    for (const mig of fake.migs.values()) {
      const target = fake.template(mig.ref, NEW_VERSION);
      assert.deepEqual(mig.versions, [{ name: 'base', instanceTemplate: target }], mig.name);
      assert.ok(
        mig.instances.every((template) => template === target),
        `${mig.name} converged`,
      );
    }
    for (const mig of [...fake.migs.values()].filter((m) => m.ref.environment === 'testing')) {
      assert.deepEqual(mig.autoscaling, { min: 0, max: 0 }, `${mig.name} autoscaling restored`);
    }
    const soak = result.stageTimings.find((timing) => timing.stage === 'soak');
    assert.ok(soak?.finishedAt !== undefined);
    assert.ok(Date.parse(soak.finishedAt) - Date.parse(soak.startedAt) >= 3 * 24 * 3600_000);

    // a100: the first region is updated during canary, before any canary is promoted; the rest at promote.
    const directOrder = fake.calls
      .filter((call) => call.activity === 'directUpdate' || call.activity === 'promoteCanary')
      .filter((call) => call.mig?.includes('-a100-') || call.activity === 'promoteCanary')
      .filter((call) => !call.mig?.includes('-testing-'));
    const firstPromote = directOrder.findIndex((call) => call.activity === 'promoteCanary');
    const a100Updates = directOrder.filter((call) => call.activity === 'directUpdate');
    assert.equal(a100Updates.length, 4);
    assert.ok(
      directOrder.slice(0, firstPromote).every((call) => call.mig?.endsWith('-us-central1')),
      'only us-central1 a100 MIGs before promotion',
    );
    assert.equal(directOrder.slice(0, firstPromote).length, 2);
    assert.ok(
      directOrder
        .slice(firstPromote)
        .filter((c) => c.activity === 'directUpdate')
        .every((c) => c.mig?.endsWith('-us-west1')),
    );
    assert.ok(
      !fake.calls.some((call) => call.detail === fake.template({ group: 'presubmit', type: 'cpu' }, OLD_VERSION)),
    );
  });
});

test('planRollout returns the plan without changing anything', async (t) => {
  const { fake, taskQueue, workflowId } = rolloutTest(t.name);
  const plan = await withRolloutWorker(server.env, server.bundle, fake, taskQueue, async () =>
    server.env.client.workflow.execute(planRollout, {
      taskQueue,
      workflowId,
      args: [testInput({ environments: ['prod'], types: 'a100', soak: '1 day', plannedSoakReason: 'hotfix' })],
    }),
  );
  assert.deepEqual(plan.problems, []);
  assert.deepEqual(plan.stages, ['preflight', 'canary', 'soak', 'promote', 'converge', 'done']);
  assert.deepEqual(
    plan.migs.map((mig) => [mig.name.replace(/^gh-runner-/, ''), mig.role]),
    [
      ['postsubmit-a100-us-central1', 'direct-first'],
      ['presubmit-a100-us-central1', 'direct-first'],
      ['postsubmit-a100-us-west1', 'direct-rest'],
      ['presubmit-a100-us-west1', 'direct-rest'],
    ],
  );
  assert.equal(plan.migs[0]?.toTemplate, fake.template({ group: 'postsubmit', type: 'a100' }, NEW_VERSION));
  assert.match(plan.migs[0]?.patch ?? '', /-> \[base=gh-runner-postsubmit-a100-2222222222-new\] during canary/);
  assert.ok(plan.notes.some((note) => note.includes('soak 1 day instead of the default 3 days: hotfix')));
  assert.deepEqual(fake.mutationCalls(), []);
});

test('preflight reports every problem at once and changes nothing', async (t) => {
  const { fake, taskQueue, workflowId } = rolloutTest(t.name);
  const project = fake.fleet.project;
  const twoVersions = fake.migName({ environment: 'prod', group: 'presubmit', type: 'cpu', region: 'us-west1' });
  fake.mig(twoVersions).versions.push({ name: 'canary', instanceTemplate: 'gh-runner-presubmit-cpu-9999999999-zzz' });
  const unstable = fake.migName({ environment: 'prod', group: 'postsubmit', type: 'cpu', region: 'us-central1' });
  fake.mig(unstable).isStable = false;
  const testingVersion = '2222222222-new-testing';
  for (const group of ['presubmit', 'postsubmit']) {
    fake.templates.add(fake.template({ group, type: 'cpu' }, testingVersion));
  }
  const owned = fake.migName({ environment: 'prod', group: 'presubmit', type: 'cpu', region: 'us-central1' });
  const failure = await withRolloutWorker(server.env, server.bundle, fake, taskQueue, async () => {
    const other = await server.env.client.workflow.start(migWorker, {
      taskQueue,
      workflowId: migWorkflowId(project, owned),
      args: [
        {
          rolloutWorkflowId: 'rollout-of-someone-else',
          migName: owned,
          mig: fake.locator(owned),
          livenessInterval: '1 day',
          maxHistoryEvents: 2000,
        },
      ],
    });
    const error = await server.env.client.workflow
      .execute(rollout, { taskQueue, workflowId, args: [testInput({ version: testingVersion })] })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    await other.terminate('test over');
    return error;
  });
  assert.ok(failure instanceof WorkflowFailedError, String(failure));
  assert.ok(failure.cause instanceof ApplicationFailure);
  assert.equal(failure.cause.type, ROLLOUT_FAILURE_TYPES.preflightFailed);
  assert.equal(failure.cause.nonRetryable, true);
  const problems = failure.cause.details?.[0] as PreflightProblem[];
  const codes = problems.map((problem) => `${problem.code}${problem.mig === undefined ? '' : ` ${problem.mig}`}`);
  assert.ok(codes.includes('testing-version-in-prod'), codes.join());
  assert.ok(codes.includes(`not-single-base-version ${twoVersions}`), codes.join());
  assert.ok(codes.includes(`mig-not-stable ${unstable}`), codes.join());
  assert.ok(codes.includes(`mig-in-another-rollout ${owned}`), codes.join());
  const missingA100 = codes.filter((code) => code.startsWith('missing-template'));
  assert.equal(missingA100.length, 6, 'every a100 MIG (prod and testing) lacks its testing template');
  assert.match(failure.cause.message, /preflight found \d+ problem\(s\); nothing was changed/);
  assert.deepEqual(fake.mutationCalls(), []);
});

test('a failed health gate during the soak rolls every canary back automatically', async (t) => {
  const { fake, taskQueue, workflowId } = rolloutTest(t.name);
  const result = await withRolloutWorker(server.env, server.bundle, fake, taskQueue, async () => {
    const handle = await server.env.client.workflow.start(rollout, {
      taskQueue,
      workflowId,
      args: [testInput({ environments: ['prod'], timing: { unhealthyChecksToRollBack: 2 } })],
    });
    await waitForState(handle, (s) => s.stage === 'soak', 'soak');
    const bootlooping = fake.migName({ environment: 'prod', group: 'postsubmit', type: 'cpu', region: 'us-west1' });
    fake.unhealthy.add(bootlooping);
    const result = await handle.result();
    await recordHistory(server.env.client, 'rollout-health-gate-rollback', workflowId);
    return result;
  });
  assert.equal(result.outcome, 'rolled-back');
  assert.ok(
    result.evidence.some((line) => /postsubmit-cpu-us-west1: canary VM recreated 2 times .*bootloop/.test(line)),
  );
  const canaries = result.migs.filter((mig) => mig.role === 'canary' || mig.role === 'direct-first');
  assert.equal(canaries.length, 6);
  assert.ok(canaries.every((mig) => mig.phase === 'rolled-back'));
  for (const mig of fake.migs.values()) {
    const old = fake.template(mig.ref, OLD_VERSION);
    assert.deepEqual(mig.versions, [{ name: 'base', instanceTemplate: old }], `${mig.name} back on the old template`);
    assert.ok(
      mig.instances.every((template) => template === old),
      mig.name,
    );
  }
  assert.ok(!fake.calls.some((call) => call.activity === 'promoteCanary'));
  const soak = result.stageTimings.find((timing) => timing.stage === 'soak');
  assert.ok(soak?.finishedAt !== undefined && Date.parse(soak.finishedAt) - Date.parse(soak.startedAt) < 24 * 3600_000);
});

test("a rollout that sets no intervals keeps its worker's fleet intervals, not the engine's defaults", async (t) => {
  // A worker's fleet may carry intervals of its own: the dev stack's does, scaled to its simulator's speed.
  const { fake, taskQueue, workflowId } = rolloutTest(t.name, (project) => {
    const fleet = testFleet(project);
    return { ...fleet, rollout: { ...fleet.rollout, timing: { healthCheckInterval: '1 day' } } };
  });
  const result = await withRolloutWorker(server.env, server.bundle, fake, taskQueue, async () => {
    const input = { version: NEW_VERSION, requestedBy: 'alice', soak: '3 days', autoApprove: true };
    const handle = await server.env.client.workflow.start(rollout, { taskQueue, workflowId, args: [input] });
    const soaking = await waitForState(handle, (s) => s.stage === 'soak', 'soak');
    assert.equal(soaking.plan?.timing?.healthCheckInterval, '1 day');
    assert.equal(soaking.plan?.timing?.convergeInterval, DEFAULT_ROLLOUT_TIMING.convergeInterval);
    return handle.result();
  });
  assert.equal(result.outcome, 'completed');
  const canary = result.migs.find((mig) => mig.role === 'canary');
  assert.ok(canary !== undefined);
  // A day apart over a 3-day soak: three rounds, where the engine's 30 minutes would have made 144.
  assert.equal(fake.healthChecks.filter((check) => check.mig === canary.name).length, 3);
});

test('abort during canary rolls back the canaries already placed and finishes aborted', async (t) => {
  const { fake, taskQueue, workflowId } = rolloutTest(t.name);
  const clear = timerClearance(server.env, () => migWorkerHandles(server.env, fake));
  const held = fake.migName({ environment: 'prod', group: 'presubmit', type: 'cpu', region: 'us-west1' });
  const hold = fake.hold('canaryMig', held);
  const result = await withRolloutWorker(server.env, server.bundle, fake, taskQueue, async () => {
    const handle = await server.env.client.workflow.start(rollout, {
      taskQueue,
      workflowId,
      args: [testInput({ environments: ['prod'], timing: { maxConcurrency: 2 } })],
    });
    await hold.reached;
    const state = await waitForState(handle, (s) => s.stage === 'canary', 'canary');
    assert.equal(state.migs.find((mig) => mig.name === held)?.phase, 'planned');
    // One update per test on this server: its second update in a row hangs (sdk-java#1903); the controls test
    // file covers rejections on the dev server.
    const ack = await clear.update(handle, abortUpdate, { identity: 'dave', reason: 'bad image' });
    assert.match(ack.message, /aborting/);
    hold.release();
    return handle.result();
  });
  assert.equal(result.outcome, 'aborted');
  assert.ok(result.evidence.includes('abort requested by dave: bad image'));
  for (const mig of [...fake.migs.values()].filter((m) => m.ref.environment === 'prod')) {
    assert.equal(mig.versions.length, 1, `${mig.name} has no canary left`);
    assert.equal(mig.versions[0]?.instanceTemplate, fake.template(mig.ref, OLD_VERSION), mig.name);
  }
  assert.ok(fake.calls.some((call) => call.activity === 'rollbackCanary' && call.mig === held));
  assert.equal(result.counts.converged, 0);
});

test('preflight waits for MIGs caught mid-change instead of failing on them', async (t) => {
  const { fake, taskQueue, workflowId } = rolloutTest(t.name);
  const churning = fake.migName({ environment: 'prod', group: 'presubmit', type: 'cpu', region: 'us-west1' });
  fake.mig(churning).isStable = false;
  const state = await withRolloutWorker(server.env, server.bundle, fake, taskQueue, async () => {
    const handle = await server.env.client.workflow.start(rollout, {
      taskQueue,
      workflowId,
      args: [testInput({ environments: ['prod'], groups: 'presubmit', types: 'cpu' })],
    });
    const state = await waitForState(handle, (s) => s.stage === 'soak', 'soak');
    await handle.terminate('test over');
    return state;
  });
  assert.deepEqual(state.problems, []);
  assert.deepEqual(state.plan?.problems, []);
  assert.ok(fake.calls.some((call) => call.activity === 'waitForMigStable' && call.mig === churning));
  assert.ok(state.timeline.some((event) => event.kind === 'settled'));
});

test('continue-as-new carries the state, and signals sent around it are neither lost nor doubled', async (t) => {
  const { fake, taskQueue, workflowId } = rolloutTest(t.name);
  const clear = timerClearance(server.env, () => migWorkerHandles(server.env, fake));
  const { result, state } = await withRolloutWorker(server.env, server.bundle, fake, taskQueue, async () => {
    const handle = await server.env.client.workflow.start(rollout, {
      taskQueue,
      workflowId,
      args: [
        testInput({
          environments: ['prod'],
          groups: 'presubmit',
          timing: { healthCheckInterval: '2 hours', maxHistoryEvents: 120 },
        }),
      ],
    });
    await waitForState(handle, (s) => s.stage === 'soak', 'soak');
    for (let index = 0; index < 6; index++) {
      await clear.signal(handle, recordEscalationSignal, {
        source: 'test',
        severity: 'info',
        message: `note ${index}`,
      });
      if (index === 2) await clear.signal(handle, pauseSignal, { identity: 'erin', reason: 'looking at graphs' });
      if (index === 4) await clear.signal(handle, resumeSignal, { identity: 'erin' });
      await server.env.sleep('9 hours');
    }
    await server.env.sleep('1 day');
    await waitForState(handle, (s) => s.gate?.kind === 'promote-approval', 'promote gate');
    await clear.signal(handle, approveSignal, { stage: 'promote', identity: 'frank', reason: 'by signal' });
    const result = await handle.result();
    await recordHistory(
      server.env.client,
      'rollout-continued-as-new-first-run',
      workflowId,
      handle.firstExecutionRunId,
    );
    await recordHistory(server.env.client, 'rollout-continued-as-new-last-run', workflowId);
    return { result, state: await handle.query(statusQuery) };
  });
  assert.equal(result.outcome, 'completed');
  assert.ok(state.continuedAsNew >= 2, `continued as new ${state.continuedAsNew} times`);
  assert.deepEqual(
    result.escalations.map((escalation) => escalation.message),
    ['note 0', 'note 1', 'note 2', 'note 3', 'note 4', 'note 5'],
  );
  assert.deepEqual(
    result.approvals.map(({ stage, identity, reason }) => ({ stage, identity, reason })),
    [{ stage: 'promote', identity: 'frank', reason: 'by signal' }],
  );
  const kinds = state.timeline.map((event) => event.kind);
  assert.ok(kinds.includes('paused') && kinds.includes('resumed') && kinds.includes('continued-as-new'));
  assert.equal(result.counts.converged, 4);
});
