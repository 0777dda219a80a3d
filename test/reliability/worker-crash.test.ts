/**
 * A rollout survives its worker being SIGKILLed at seeded random moments (in the middle of activities, of
 * workflow tasks running update handlers, of timers) and restarted each time: it completes, the fleet ends
 * exactly as after a rollout without crashes, no MIG was patched more often than in that rollout, no busy runner
 * was killed, and every approval and escalation sent is recorded once.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApprovalStage, RolloutResult } from '../../workflows/rollout-contract.js';
import { recordEscalationUpdate } from '../../workflows/rollout-controls-contract.js';
import { seedVersionTemplates } from '../../devstack/simulator.js';
import { type RolloutHandle, startRollout } from '../../testbed/rollouts.js';
import {
  effectivePatchesByMig,
  jobsKilledByTheEngine,
  lastMutationSeq,
  startE2eStack,
  type E2eStack,
} from '../helpers/e2e-stack.js';
import {
  FULL,
  OPERATOR,
  SCENARIO_SIMULATOR,
  approvePendingGate,
  sendUpdate,
  approveGatesUntilDone,
  gateStage,
  isRunning,
  rolloutOutcome,
  rolloutState,
  rolloutWorkflowIds,
  scenarioInput,
  type RolloutOutcome,
} from './scenario.js';
import {
  WorkerRotation,
  awaitRunningActivity,
  describeKill,
  killAndRestart,
  killDuringUpdate,
  pendingActivities,
  type Kill,
} from './worker-kills.js';

const KILLS = FULL ? 60 : 20;
/**
 * Kills per stage (updates aside), so they spread over the whole rollout, converge included: every kill that
 * interrupts an activity costs it an attempt, and the retry backoff doubles with each one.
 */
const KILLS_PER_STAGE = FULL ? 12 : 6;
const SEED = Number(process.env['ROLLOUT_RELIABILITY_SEED'] ?? 20_24);
/** Worker processes taking turns: a fresh one needs seconds to load its modules on a busy machine. */
const ROTATION = 3;
// A workflow task held by a killed worker moves on after 3 s (10 s by default); sticky ones: worker-kills.ts.
const WORKFLOW_TASK_TIMEOUT = '3s';
/** A clean rollout ends well within this after the last kill; one that does not is reported with what it awaits. */
const FINISH_AFTER_KILLS_MS = 5 * 60_000;

interface Reference {
  readonly outcome: RolloutOutcome;
  readonly patches: Record<string, number>;
}

/**
 * The reference rollout runs on its own stack (server, simulator, worker) at the same time as the crashing one:
 * it must not see the kills, and only its outcome is compared, never its timing.
 */
let reference: Promise<Reference>;
let stack: E2eStack;
let workers: WorkerRotation;
before(async () => {
  reference = referenceRollout();
  // An unobserved rejection would end the process before the test reports it.
  reference.catch(() => undefined);
  stack = await startE2eStack({
    simulator: SCENARIO_SIMULATOR,
    worker: 'none',
    workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT,
  });
  workers = await WorkerRotation.start(stack, ROTATION);
});
after(async () => {
  await workers?.stop();
  await stack?.close();
  await reference?.catch(() => undefined);
});

async function referenceRollout(): Promise<Reference> {
  const referenceStack = await startE2eStack({ simulator: SCENARIO_SIMULATOR });
  try {
    const version = '1111111111-ref';
    seedVersionTemplates(referenceStack.simulator, version);
    const since = lastMutationSeq(referenceStack.simulator);
    const handle = await startRollout(referenceStack, scenarioInput(version));
    const sent = await approveGatesUntilDone(handle, 'reference');
    const result = await handle.result();
    assert.equal(result.outcome, 'completed', result.evidence.join('\n'));
    assert.deepEqual([...sent.keys()].sort(), ['promote', 'test']);
    return {
      outcome: rolloutOutcome(referenceStack, await rolloutState(handle), version),
      patches: effectivePatchesByMig(referenceStack.simulator, since),
    };
  } finally {
    await referenceStack.close();
  }
}

test(`the rollout completes through ${KILLS} worker SIGKILLs with the fleet, effects and approvals of a clean run`, async (t) => {
  const version = '2222222222-crs';
  seedVersionTemplates(stack.simulator, version);
  const since = lastMutationSeq(stack.simulator);
  // A longer soak than the reference, so that kills land in its timers and health checks too.
  const handle = await startRollout(stack, scenarioInput(version, { soak: FULL ? '3 minutes' : '30 seconds' }));
  const random = seededRandom(SEED);
  const kills: Kill[] = [];
  const killsInStage = new Map<string, number>();
  const approved = new Set<ApprovalStage>();
  const escalations: string[] = [];

  while (kills.length < KILLS && (await isRunning(handle))) {
    await sleep(200 + random() * 1000);
    const state = await rolloutState(handle);
    const stage = gateStage(state);
    if (stage !== undefined && !approved.has(stage)) {
      approved.add(stage);
      const send = (): Promise<unknown> => approvePendingGate(handle, stage, `crash-${stage}`);
      kills.push(...(await killDuringUpdate(stack, workers, handle, state, `${stage} approval`, send)));
      continue;
    }
    if ((killsInStage.get(state.stage) ?? 0) >= KILLS_PER_STAGE) continue;
    killsInStage.set(state.stage, (killsInStage.get(state.stage) ?? 0) + 1);
    const draw = random();
    if (draw < 0.15) {
      const message = `crash test escalation ${escalations.length + 1}`;
      escalations.push(message);
      const request = { source: OPERATOR, severity: 'info', message } as const;
      const updateId = `escalation-${escalations.length}`;
      const send = (): Promise<unknown> => sendUpdate(handle, recordEscalationUpdate, request, updateId);
      kills.push(...(await killDuringUpdate(stack, workers, handle, state, message, send)));
    } else if (draw < 0.6) {
      const activity = await awaitRunningActivity(stack, rolloutWorkflowIds(stack, state), 3000);
      kills.push(await killAndRestart(stack, workers, state, activity === undefined ? 'stage' : 'activity'));
    } else {
      kills.push(await killAndRestart(stack, workers, state, 'stage'));
    }
  }
  t.diagnostic(`kills: ${kills.map(describeKill).join('; ')}`);
  const killsEnded = Date.now();
  // Gates the kill loop did not get to (it stops after KILLS kills) are approved without kills.
  const rest = approveGatesUntilDone(handle, 'crash');
  const result: RolloutResult = await resultWithin(stack, handle, FINISH_AFTER_KILLS_MS);
  await rest;
  t.diagnostic(`the rollout ended ${((Date.now() - killsEnded) / 1000).toFixed(1)} s after the last kill`);
  const expected = await reference;

  assert.equal(result.outcome, 'completed', result.evidence.join('\n'));
  assert.ok(kills.length >= KILLS, `only ${kills.length} kills before the rollout ended`);
  // The kill log proves the moments: an activity attempt the killed worker had started, and a workflow task
  // (carrying an update, so running its handler) the killed worker had started but not completed.
  assert.ok(
    kills.some((kill) => kill.interruptedActivities.length > 0),
    `no kill interrupted a running activity: ${kills.map(describeKill).join('; ')}`,
  );
  assert.ok(
    kills.some((kill) => kill.moment === 'update handler'),
    `no kill landed while an update's workflow task ran: ${kills.map(describeKill).join('; ')}`,
  );
  assert.deepEqual(rolloutOutcome(stack, await rolloutState(handle), version), expected.outcome);
  assert.deepEqual(effectivePatchesByMig(stack.simulator, since), expected.patches);
  assert.deepEqual(jobsKilledByTheEngine(stack.simulator), []);
  const deletedRunners = stack.simulator.control
    .mutations({ since, endpoint: 'github.runners.delete' })
    .filter((entry) => entry.effective)
    .map((entry) => entry.path);
  assert.equal(new Set(deletedRunners).size, deletedRunners.length, 'a runner was deregistered twice');

  for (const stage of ['test', 'promote'] as const) {
    const recorded = result.approvals.filter((approval) => approval.identity === OPERATOR && approval.stage === stage);
    assert.equal(recorded.length, 1, `${stage} approvals recorded: ${JSON.stringify(recorded)}`);
    assert.equal(recorded[0]?.updateId, `crash-${stage}`);
  }
  assert.deepEqual(
    result.escalations.map((escalation) => escalation.message),
    escalations,
    'escalations recorded (each once, in order)',
  );
});

async function resultWithin(stack: E2eStack, handle: RolloutHandle, timeoutMs: number): Promise<RolloutResult> {
  const ended = await Promise.race([handle.result(), sleep(timeoutMs, 'timed out' as const, { ref: false })]);
  if (ended !== 'timed out') return ended;
  const state = await rolloutState(handle);
  const workflowIds = rolloutWorkflowIds(stack, state);
  const pending = (await Promise.all(workflowIds.map((workflowId) => pendingActivities(stack, workflowId)))).flat();
  const awaited = pending.map(
    (activity) => `${activity.activityType?.name ?? 'unknown'} attempt ${activity.attempt ?? 0}`,
  );
  throw new Error(
    `the rollout did not end within ${timeoutMs / 1000} s of the last kill: stage ${state.stage}, ` +
      `pending activities: ${awaited.join(', ') || 'none'}, pending workflow task: ` +
      `${(await handle.describe()).raw.pendingWorkflowTask?.state ?? 'none'}`,
  );
}

/** mulberry32: a small seeded generator, so a failing kill schedule can be replayed with its seed. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
