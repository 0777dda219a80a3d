/**
 * The soak's rounds of health checks: one every health-check interval from the soak's start, the last at the
 * soak's end, wherever a continue-as-new lands. A run that continued as new just as the last wait ended once
 * promoted without that last round, so the canaries went unchecked for the soak's final interval. And the rounds
 * never depend on when a workflow task ran: the SDK can run a task's code with an earlier clock than the one its
 * history records (a result applied ahead of a query), and a choice made from it would not replay.
 */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import type proto from '@temporalio/proto';
import { rollout } from '../../workflows/rollout.js';
import { recordEscalationSignal } from '../../workflows/rollout-controls-contract.js';
import {
  recordHistory,
  rolloutTest,
  perTestServer,
  testInput,
  waitForState,
  withRolloutWorker,
} from '../helpers/rollout-harness.js';

type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

/** Well above what the run holds when the soak's last wait begins, so signals can close the gap. */
const MAX_HISTORY_EVENTS = 400;
/** The events a workflow task woken by a timer or a signal counts: the wake-up, the task scheduled and started. */
const EVENTS_BEFORE_A_TASK_SEES_THE_HISTORY = 3;

const server = perTestServer();

/** The current run's history once its latest workflow task is done and the run waits (queries add no event). */
async function settledHistory(client: Client, workflowId: string): Promise<HistoryEvent[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const last = events.at(-1);
    if (last?.workflowTaskCompletedEventAttributes || last?.timerStartedEventAttributes) return events;
    if (Date.now() > deadline) throw new Error(`${workflowId} did not settle: last event ${JSON.stringify(last)}`);
    await delay(20);
  }
}

function eventTime(event: HistoryEvent): number {
  return Number(event.eventTime?.seconds ?? 0) * 1000 + Math.floor((event.eventTime?.nanos ?? 0) / 1e6);
}

test('a continue-as-new as the soak ends, before its last round, still runs that round', async (t) => {
  const { fake, taskQueue, workflowId } = rolloutTest(t.name);
  const { soakEndsAt, lastWaitRun, checks } = await withRolloutWorker(
    server.env,
    server.bundle,
    fake,
    taskQueue,
    async () => {
      const handle = await server.env.client.workflow.start(rollout, {
        taskQueue,
        workflowId,
        args: [
          testInput({
            environments: ['prod'],
            groups: 'presubmit',
            types: 'cpu',
            autoApprove: true,
            soak: '2 hours',
            timing: { healthCheckInterval: '1 hour', maxHistoryEvents: MAX_HISTORY_EVENTS },
          }),
        ],
      });
      await waitForState(handle, (s) => s.stage === 'soak', 'soak');
      // Time moves on only by server.env.sleep until the result is awaited: past the first round, into the last wait.
      await server.env.sleep('1 hour');
      const soaking = await waitForState(
        handle,
        (s) => {
          const roundAt = s.soak?.lastCheckAt;
          const canaries = s.migs.filter((mig) => mig.role === 'canary');
          return roundAt !== undefined && canaries.every((mig) => (mig.health?.checkedAt ?? '') >= roundAt);
        },
        'the first round done',
      );
      // Escalation notes during the wait bring the history to where the wake-up at the soak's end, and no earlier
      // wake-up, passes the budget: the run continues as new when the last wait ends, before the last round.
      let history = await settledHistory(server.env.client, workflowId);
      const { runId } = await handle.describe();
      for (let note = 0; history.length + EVENTS_BEFORE_A_TASK_SEES_THE_HISTORY <= MAX_HISTORY_EVENTS; note++) {
        const length = history.length;
        await handle.signal(recordEscalationSignal, { source: 'test', severity: 'info', message: `note ${note}` });
        do history = await settledHistory(server.env.client, workflowId);
        while (history.length === length);
      }
      assert.equal((await handle.describe()).runId, runId, 'still the run that waits for the soak to end');
      await handle.result();
      const lastWaitRun = (await server.env.client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
      const nextRunId = lastWaitRun.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
      if (nextRunId)
        await recordHistory(server.env.client, 'rollout-continued-at-soak-end-next-run', workflowId, nextRunId);
      return { soakEndsAt: Date.parse(soaking.soak!.endsAt), lastWaitRun, checks: fake.calls };
    },
  );

  const fired = lastWaitRun.filter((event) => event.timerFiredEventAttributes).at(-1);
  assert.ok(fired !== undefined && eventTime(fired) >= soakEndsAt, 'the last wait ran to the soak end');
  assert.ok(lastWaitRun.at(-1)?.workflowExecutionContinuedAsNewEventAttributes, 'then the run continued as new');
  assert.ok(
    lastWaitRun
      .slice(lastWaitRun.indexOf(fired))
      .every(
        (event) =>
          !['canaryHealth', 'canaryHealthRound'].includes(
            event.activityTaskScheduledEventAttributes?.activityType?.name ?? '',
          ),
      ),
    'before the last round began',
  );

  const rounds = new Map<string, number>();
  for (const call of checks.filter((candidate) => candidate.activity === 'canaryHealth')) {
    rounds.set(call.mig ?? '', (rounds.get(call.mig ?? '') ?? 0) + 1);
  }
  assert.equal(rounds.size, 2, 'both canaries checked');
  assert.deepEqual(
    [...rounds.values()],
    [2, 2],
    `a 2-hour soak at 1-hour intervals checks each canary at 1 hour and at the end: ${JSON.stringify([...rounds])}`,
  );
});

test('the soak replays with task times other than those its code saw: a timer before every round, the same rounds', async (t) => {
  const { fake, taskQueue, workflowId } = rolloutTest(t.name);
  const history = await withRolloutWorker(server.env, server.bundle, fake, taskQueue, async () => {
    const handle = await server.env.client.workflow.start(rollout, {
      taskQueue,
      workflowId,
      args: [
        testInput({
          environments: ['prod'],
          groups: 'presubmit',
          types: 'cpu',
          autoApprove: true,
          soak: '3 hours',
          timing: { healthCheckInterval: '1 hour' },
        }),
      ],
    });
    await handle.result();
    return handle.fetchHistory();
  });
  const events = history.events ?? [];
  const roundScheduled = (event: HistoryEvent): boolean =>
    event.activityTaskScheduledEventAttributes?.activityType?.name === 'canaryHealthRound';
  const rounds = events.filter(roundScheduled);
  assert.equal(rounds.length, 3, 'a 3-hour soak at 1-hour intervals has a round at 1, 2 and 3 hours');
  for (const round of rounds) {
    const before = events.slice(0, events.indexOf(round)).reverse();
    const timerFired = before.findIndex((event) => event.timerFiredEventAttributes);
    const roundBefore = before.findIndex(roundScheduled);
    assert.ok(
      timerFired >= 0 && (roundBefore < 0 || timerFired < roundBefore),
      `a timer before round ${String(round.eventId)}`,
    );
  }

  // The task that waits for the second round ran, as its history says, after that round was already due: its code
  // must still have waited (a timer) and kept the soak's schedule, or the history it made does not replay.
  const firstRoundDone = events.findIndex(
    (event, index) => index > events.indexOf(rounds[0]!) && event.activityTaskCompletedEventAttributes,
  );
  const taskStarted = events.slice(firstRoundDone).find((event) => event.workflowTaskStartedEventAttributes);
  const timer = events.slice(firstRoundDone).find((event) => event.timerStartedEventAttributes);
  assert.ok(taskStarted?.eventTime && timer?.timerStartedEventAttributes?.startToFireTimeout);
  const waitedMs =
    Number(timer.timerStartedEventAttributes.startToFireTimeout.seconds ?? 0) * 1000 +
    Math.floor((timer.timerStartedEventAttributes.startToFireTimeout.nanos ?? 0) / 1e6);
  const { seconds, nanos } = taskStarted.eventTime;
  assert.ok(seconds != null && typeof seconds !== 'number', 'event times are 64-bit seconds');
  taskStarted.eventTime = { seconds: seconds.add(Math.ceil((waitedMs + 60_000) / 1000)), nanos: nanos ?? 0 };
  await Worker.runReplayHistory({ workflowBundle: server.bundle }, history, workflowId);
});
