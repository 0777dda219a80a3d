/** The rollout's query, its operator controls as updates and signals, and the MIG workers' reports. */
import { ApplicationFailure, currentUpdateInfo, log, setHandler } from '@temporalio/workflow';
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import { migReportSignal } from './mig-worker-contract.js';
import {
  type ControlAck,
  abortSignal,
  abortUpdate,
  approveSignal,
  approveUpdate,
  pauseSignal,
  pauseUpdate,
  recordEscalationSignal,
  recordEscalationUpdate,
  resumeSignal,
  resumeUpdate,
  rollbackSignal,
  rollbackUpdate,
  statusQuery,
} from './rollout-contract.js';
import { type Control, addTimeline, applyControl, controlProblem } from './rollout-controls.js';
import { type RolloutRun, now } from './rollout-run.js';

const PROCESSED_UPDATE_IDS_LIMIT = 500;

export function installHandlers(run: RolloutRun): void {
  setHandler(statusQuery, () => run.state, {
    description: 'Full rollout state: stage, per-MIG progress, pending gate, approvals, timeline.',
  });
  registerControl(
    run,
    approveUpdate,
    approveSignal,
    (request) => ({ kind: 'approve', request }),
    'Approve the pending gate: {"stage":"test"|"promote","identity":"you","reason":"why"}.',
  );
  registerControl(
    run,
    pauseUpdate,
    pauseSignal,
    (request) => ({ kind: 'pause', request }),
    'Pause: no new change starts until resumed; health checks continue. {"identity","reason"}.',
  );
  registerControl(
    run,
    resumeUpdate,
    resumeSignal,
    (request) => ({ kind: 'resume', request }),
    'Resume a paused rollout (also retries a failed step). {"identity","reason"}.',
  );
  registerControl(
    run,
    abortUpdate,
    abortSignal,
    (request) => ({ kind: 'abort', request }),
    'Abort: roll back whatever is in canary and stop. {"identity","reason"} (reason required).',
  );
  registerControl(
    run,
    rollbackUpdate,
    rollbackSignal,
    (request) => ({ kind: 'rollback', request }),
    'Roll back every canary (before promotion) and end as rolled-back. {"identity","reason"}.',
  );
  registerControl(
    run,
    recordEscalationUpdate,
    recordEscalationSignal,
    (request) => ({ kind: 'escalation', request }),
    'Record an escalation: {"source","severity":"info"|"warning"|"critical","message"}.',
  );
  setHandler(
    migReportSignal,
    (report) => {
      if (report.kind === 'result') run.reports.set(report.commandId, report);
    },
    { description: 'Internal: outcome of a command sent to a per-MIG worker.' },
  );
}

/** The update validates and answers; the signal of the same control applies it or logs why it was ignored. */
function registerControl<Request>(
  run: RolloutRun,
  update: UpdateDefinition<ControlAck, [Request]>,
  signal: SignalDefinition<[Request]>,
  toControl: (request: Request) => Control,
  description: string,
): void {
  const alreadyApplied = (): boolean => {
    const updateId = currentUpdateInfo()?.id;
    return updateId !== undefined && run.processedUpdateIds.includes(updateId);
  };
  setHandler(
    update,
    (request) => {
      if (alreadyApplied()) return ack(run, 'already applied');
      const updateId = currentUpdateInfo()?.id;
      if (updateId !== undefined) rememberUpdate(run, updateId);
      return ack(run, apply(run, toControl(request), updateId));
    },
    {
      description,
      validator: (request: Request) => {
        if (alreadyApplied()) return;
        const problem = controlProblem(run.state, toControl(request));
        // A plain Error would fail the workflow task instead of rejecting the update.
        if (problem !== undefined) throw ApplicationFailure.nonRetryable(problem, 'InvalidControl');
      },
    },
  );
  setHandler(
    signal,
    (request) => {
      const control = toControl(request);
      const problem = controlProblem(run.state, control);
      if (problem === undefined) {
        apply(run, control);
        return;
      }
      log.warn('ignored invalid signal', { signal: signal.name, problem });
      addTimeline(run.state, { at: now(), kind: 'ignored-signal', message: `${signal.name} ignored: ${problem}` });
      run.refreshDetails();
    },
    { description: `Signal form of the "${update.name}" update. ${description}` },
  );
}

function apply(run: RolloutRun, control: Control, updateId?: string): string {
  const message = applyControl(run.state, control, now(), updateId);
  log.info('control applied', { kind: control.kind, message });
  run.refreshDetails();
  return message;
}

function ack(run: RolloutRun, message: string): ControlAck {
  return { stage: run.state.stage, paused: run.state.pause !== undefined, message };
}

function rememberUpdate(run: RolloutRun, updateId: string): void {
  run.processedUpdateIds.push(updateId);
  if (run.processedUpdateIds.length > PROCESSED_UPDATE_IDS_LIMIT) run.processedUpdateIds.shift();
}
