/**
 * The runner-version schedule on the Temporal dev server (the time-skipping server has no Schedules API), and the
 * whole path end to end: a release published in the simulator becomes, through a schedule-triggered check, a
 * rollout of a new template version, with real activities against the simulator.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { checkRunnerVersion } from '../../cli/commands/check-runner-version.js';
import {
  installSchedule,
  removeSchedule,
  showSchedule,
  validateScheduleOptions,
  type RunnerVersionScheduleInfo,
} from '../../cli/commands/schedule.js';
import type { CommandContext } from '../../cli/context.js';
import { NotFoundError, UsageError } from '../../cli/errors.js';
import { createOutput } from '../../cli/output.js';
import { runCli } from '../../cli/run.js';
import { METADATA_KEYS } from '../../runner-config/metadata.js';
import { VERSION_PATTERN } from '../../runner-config/naming.js';
import { DEFAULT_INITIAL_VERSION } from '../../simulator/index.js';
import { RolloutVersionSearchAttribute, statusQuery } from '../../workflows/rollout-contract.js';
import {
  RUNNER_VERSION_CHECK_SCHEDULE_ID,
  RUNNER_VERSION_CHECK_WORKFLOW_TYPE,
  runnerRolloutWorkflowId,
  type RunnerVersionCheckResult,
} from '../../workflows/runner-version-check-contract.js';
import { startE2eStack, type E2eStack } from '../helpers/e2e-stack.js';

const DAY_MS = 24 * 60 * 60 * 1000;

let stack: E2eStack;
before(async () => {
  stack = await startE2eStack({ worker: 'in-process' });
});
after(async () => {
  await stack?.close();
});

async function runRolloutCli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    env: { TEMPORAL_ADDRESS: stack.server.address, ROLLOUT_TASK_QUEUE: stack.taskQueue },
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    signal: new AbortController().signal,
  });
  return { code, stdout, stderr };
}

function context(): { ctx: CommandContext; printed: () => string } {
  let text = '';
  const sink = { write: (chunk: string) => (text += chunk) };
  return {
    ctx: {
      client: stack.client,
      temporal: {
        address: stack.server.address,
        namespace: 'default',
        taskQueue: stack.taskQueue,
        uiUrl: 'http://127.0.0.1:8233',
      },
      output: createOutput({ json: false, stdout: sink, stderr: sink }),
      signal: new AbortController().signal,
    },
    printed: () => text,
  };
}

async function schedulesNamed(client: Client, scheduleId: string): Promise<number> {
  let count = 0;
  for await (const schedule of client.schedule.list()) if (schedule.scheduleId === scheduleId) count++;
  return count;
}

/** Triggers the schedule and waits for the check it started (schedule runs get server-made workflow ids). */
async function triggerCheck(client: Client): Promise<RunnerVersionCheckResult> {
  const handle = client.schedule.getHandle(RUNNER_VERSION_CHECK_SCHEDULE_ID);
  const before = (await handle.describe()).info.numActionsTaken;
  await handle.trigger();
  for (let attempt = 0; attempt < 100; attempt++) {
    const { info } = await handle.describe();
    const run = info.recentActions.at(-1);
    if (info.numActionsTaken > before && run !== undefined) {
      return client.workflow
        .getHandle<() => Promise<RunnerVersionCheckResult>>(run.action.workflow.workflowId)
        .result();
    }
    await sleep(100);
  }
  throw new Error('the schedule did not start a check after trigger()');
}

describe('rollout schedule install | show | remove', () => {
  test('install is idempotent, show reports it, remove deletes it once', async () => {
    const { ctx, printed } = context();
    const first = await installSchedule(ctx, {});
    assert.equal(first.outcome, 'created');
    assert.equal(first.spec, 'every 1 day');
    assert.equal(first.workflowType, RUNNER_VERSION_CHECK_WORKFLOW_TYPE);
    assert.equal(first.taskQueue, stack.taskQueue);
    assert.equal(first.overlap, 'SKIP');
    assert.equal(first.catchupWindow, '1d');
    assert.equal(first.paused, false);
    assert.ok(first.nextRuns.length > 0);

    const second = await installSchedule(ctx, { cron: '0 6 * * *' });
    assert.equal(second.outcome, 'updated');
    assert.equal(second.spec, 'cron 0 6 * * *');
    assert.ok(
      second.nextRuns.every((run) => run.endsWith('T06:00:00.000Z')),
      second.nextRuns.join(', '),
    );
    assert.equal(await schedulesNamed(stack.client, RUNNER_VERSION_CHECK_SCHEDULE_ID), 1);

    const shown = await showSchedule(ctx);
    assert.equal(shown.spec, 'cron 0 6 * * *');
    assert.match(printed(), /created schedule runner-version-check/);
    assert.match(printed(), /updated schedule runner-version-check/);

    assert.deepEqual(await removeSchedule(ctx), { scheduleId: RUNNER_VERSION_CHECK_SCHEDULE_ID, removed: true });
    assert.deepEqual(await removeSchedule(ctx), { scheduleId: RUNNER_VERSION_CHECK_SCHEDULE_ID, removed: false });
    await assert.rejects(showSchedule(ctx), NotFoundError);
  });

  test('bad schedule options are refused before anything is created', () => {
    assert.throws(() => validateScheduleOptions({ every: '1 day', cron: '0 6 * * *' }), UsageError);
    assert.throws(() => validateScheduleOptions({ every: 'daily' }), /--every/);
    assert.throws(() => validateScheduleOptions({ every: '10s' }), /shorter than a minute/);
    assert.throws(() => validateScheduleOptions({ cron: '0 6 * *' }), /five fields/);
    assert.deepEqual(validateScheduleOptions({ cron: 'CRON_TZ=Europe/Berlin 0 6 * * 1-5' }), {
      cron: 'CRON_TZ=Europe/Berlin 0 6 * * 1-5',
    });
  });
});

describe('runner-version check end to end', () => {
  test('a published release becomes, through the schedule, a rollout of a new template version', async () => {
    const { ctx } = context();
    const { simulator, fleet } = stack;
    const now = Date.now();

    // Releases are newest by publication; this one publishes wrong digests: the check escalates, starts nothing.
    simulator.control.publishRelease({
      version: '2.330.0',
      publishedAt: new Date(now - 19 * DAY_MS).toISOString(),
      digestMismatch: true,
    });
    const unverified = await checkRunnerVersion(ctx);
    assert.equal(unverified.action.kind, 'release-unverified');
    assert.equal(unverified.escalations[0]?.trigger, 'unverified');
    assert.match(unverified.escalations[0]?.message ?? '', /linux-(x64|arm64) archive does not match/);
    await assert.rejects(
      stack.client.workflow.getHandle(runnerRolloutWorkflowId(fleet.project, '2.330.0')).describe(),
      /not found/i,
    );

    // Published after the simulator's initial release (20 days ago), 12 days before the deadline: the default
    // soak still fits, the 14-day escalation threshold is crossed.
    simulator.control.publishRelease({ version: '2.330.1', publishedAt: new Date(now - 18 * DAY_MS).toISOString() });
    await installSchedule(ctx, {});
    try {
      const first = await triggerCheck(stack.client);
      const rolloutId = runnerRolloutWorkflowId(fleet.project, '2.330.1');
      assert.deepEqual(first.action, { kind: 'rollout-started', rolloutId });
      assert.equal(first.newestRelease?.version, '2.330.1');
      assert.equal(first.soakPlan?.kind, 'default');
      assert.equal(first.escalations[0]?.thresholdDays, 14);
      assert.equal(first.escalations[0]?.rolloutId, rolloutId);
      const templateVersion = first.templateVersion ?? '';
      assert.match(templateVersion, VERSION_PATTERN);
      assert.notEqual(templateVersion, DEFAULT_INITIAL_VERSION);

      // The templates carry the new runner, and the rollout runs the new template version.
      const created = simulator.control.state().templates.filter((template) => template.name.endsWith(templateVersion));
      assert.equal(created.length, fleet.groups.length * fleet.types.length);
      assert.ok(created.every((template) => template.metadata[METADATA_KEYS.runnerVersion] === '2.330.1'));
      const rollout = await stack.client.workflow.getHandle(rolloutId).describe();
      const state = await stack.client.workflow.getHandle(rolloutId).query(statusQuery);
      assert.equal(state.version, templateVersion);
      assert.ok(
        state.escalations.some((escalation) => escalation.source === 'runner-version-check'),
        'the escalation is part of the state `rollout status` shows',
      );
      assert.equal(rollout.type, 'rollout');
      // The check runs under the schedule's one-hour timeout; the rollout it launched must not inherit it.
      assert.equal(Number(rollout.raw.executionConfig?.workflowExecutionTimeout?.seconds ?? 0), 0);
      assert.equal(Number(rollout.raw.executionConfig?.workflowRunTimeout?.seconds ?? 0), 0);
      assert.equal(rollout.typedSearchAttributes.get(RolloutVersionSearchAttribute), templateVersion);

      // The next scheduled run finds the rollout and starts no second one.
      const second = await triggerCheck(stack.client);
      assert.deepEqual(second.action, { kind: 'rollout-already-started', rolloutId });
      assert.equal(second.templateVersion, templateVersion);

      // The CLI: one check now, and the schedule, as scripts see them.
      const manual = await runRolloutCli(['check-runner-version', '--json']);
      assert.equal(manual.code, 0, manual.stderr);
      assert.deepEqual((JSON.parse(manual.stdout) as RunnerVersionCheckResult).action, {
        kind: 'rollout-already-started',
        rolloutId,
      });
      const shown = await runRolloutCli(['schedule', 'show', '--json']);
      assert.equal(shown.code, 0, shown.stderr);
      assert.equal((JSON.parse(shown.stdout) as RunnerVersionScheduleInfo).runsTaken, 2);

      await stack.client.workflow.getHandle(rolloutId).terminate('end of test');
    } finally {
      await removeSchedule(ctx);
    }
  });
});
